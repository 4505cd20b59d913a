"""Typed errors of the index layer; turned into messages only at the CLI/UI edge."""


class BulletinIndexError(Exception):
    """Base class of index errors; the message says what went wrong and what to do."""


class IndexNotBuiltError(BulletinIndexError):
    """No index exists yet for the configured collection."""


class IndexMismatchError(BulletinIndexError):
    """The index was built with another embedding model or chunker."""


class StoreUnavailableError(BulletinIndexError):
    """The Chroma server (or store) cannot be reached."""
