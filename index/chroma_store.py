"""Dense vectors in Chroma: embedded ``PersistentClient`` by default, ``HttpClient``
when a server URL is configured.  Chroma objects never leave this module.

Chroma never embeds anything itself: the collection has no embedding
function (Chroma's default one would try to download a model) and every call
passes vectors computed by our ``Embedder``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from index.errors import IndexMismatchError, StoreUnavailableError

log = logging.getLogger(__name__)

BATCH = 1000


def _client(path: Path | None, url: str | None):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        try:
            return chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises bare Exception/ValueError when unreachable
            raise StoreUnavailableError(
                f"cannot reach the Chroma server at {url} ({exc.__class__.__name__}: {exc}). "
                "Start it (e.g. `chroma run --host 127.0.0.1 --port 8000 --path DIR`) or unset BULLETIN_CHROMA_URL "
                "to use the embedded store."
            ) from exc
    assert path is not None
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class ChromaStore:
    """One collection of chunk vectors; metadata records the embedding model and chunker."""

    def __init__(self, collection: str, path: Path | None = None, url: str | None = None) -> None:
        self.name = collection
        self.where = url or str(path)
        self._client = _client(path, url)
        self._collection = None

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (IndexMismatchError, StoreUnavailableError):
            raise
        except Exception as exc:
            text = str(exc)
            if any(s in text.lower() for s in ("connect", "refused", "timed out", "unreachable", "name resolution")):
                raise StoreUnavailableError(
                    f"Chroma at {self.where} is unreachable while trying to {what}: {text}. Is the server running?"
                ) from exc
            raise

    def exists(self) -> bool:
        names = self._call("list collections", self._client.list_collections)
        return self.name in [getattr(c, "name", c) for c in names]

    def metadata(self) -> dict:
        return dict(self._open().metadata or {})

    def _open(self, create_with: dict | None = None):
        if self._collection is None:
            if create_with is not None:
                self._collection = self._call(
                    "create the collection",
                    self._client.get_or_create_collection,
                    self.name,
                    embedding_function=None,
                    metadata=create_with,
                    configuration={"hnsw": {"space": "cosine"}},
                )
            else:
                self._collection = self._call("open the collection", self._client.get_collection, self.name, embedding_function=None)
        return self._collection

    def ensure(self, versions: dict[str, str | int], strict: tuple[str, ...] = ("embed_model", "embed_dim")) -> None:
        """Open or create the collection, refusing one built with another model; other versions are updated."""
        col = self._open(create_with=dict(versions))
        stored = col.metadata or {}
        for key, want in versions.items():
            if key in strict and key in stored and str(stored[key]) != str(want):
                raise IndexMismatchError(
                    f"the Chroma collection '{self.name}' at {self.where} was built with {key}={stored[key]!r}, "
                    f"but the current settings use {want!r}. Rebuild it: python -m index build --rebuild"
                )
        if any(str(stored.get(key)) != str(want) for key, want in versions.items()):
            self._call("record versions", col.modify, metadata={**stored, **versions})

    def drop(self) -> None:
        if self.exists():
            self._call("delete the collection", self._client.delete_collection, self.name)
        self._collection = None

    def ids(self) -> set[str]:
        col = self._open()
        found: set[str] = set()
        offset = 0
        while True:
            page = self._call("list ids", col.get, include=[], limit=10_000, offset=offset)["ids"]
            found.update(page)
            if len(page) < 10_000:
                return found
            offset += len(page)

    def has(self, ids: Sequence[str]) -> set[str]:
        col = self._open()
        found: set[str] = set()
        for i in range(0, len(ids), BATCH):
            found.update(self._call("look up ids", col.get, ids=list(ids[i : i + BATCH]), include=[])["ids"])
        return found

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]) -> None:
        """Vectors with small filter metadata; texts live in the catalog (Chroma would index them again)."""
        col = self._open()
        for i in range(0, len(ids), BATCH):
            self._call(
                "write vectors",
                col.upsert,
                ids=list(ids[i : i + BATCH]),
                embeddings=vectors[i : i + BATCH],
                metadatas=list(metadatas[i : i + BATCH]),
            )

    def delete(self, ids: Sequence[str]) -> None:
        col = self._open()
        for i in range(0, len(ids), BATCH):
            self._call("delete vectors", col.delete, ids=list(ids[i : i + BATCH]))

    def count(self) -> int:
        return self._call("count", self._open().count)

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """(id, cosine similarity) best first."""
        col = self._open()
        # Chroma caps n_results at the collection size itself (0 for an empty one).
        res = self._call(
            "search", col.query, query_embeddings=[vector], n_results=k, where=where or None, include=["distances"]
        )
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]

    def heartbeat(self) -> bool:
        try:
            self._client.heartbeat()
            return True
        except Exception:
            return False
