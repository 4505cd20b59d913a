"""``python -m index`` with pause points, for kill points that no progress bar announces (used by test_crash).

    BULLETIN_TEST_PAUSE_AT=committed python -m tests.index._pausing_build build CORPUS

runs the real CLI; at the chosen point it prints ``paused at <point>`` on stderr and
sleeps until the test kills it (after two minutes it exits with status 3, so a test
that forgets to kill it cannot hang).  The points wrap the real methods, they change
nothing else:

* ``committed``    right after the catalog committed the new chunk set, before the
                   vectors it no longer lists are deleted from Chroma;
* ``bm25-saving``  in the middle of saving the BM25 index: the matrix files are written
                   into the temporary folder, ``ids.json``/``bm25.json`` not yet, nothing
                   renamed into place.

Without ``BULLETIN_TEST_PAUSE_AT`` it is the plain CLI.
"""

from __future__ import annotations

import os
import sys
import time
from functools import wraps

POINTS = ("committed", "bm25-saving")


def _pause(point: str) -> None:
    print(f"paused at {point}", file=sys.stderr, flush=True)
    time.sleep(120)
    os._exit(3)


def _after(cls: type, method: str, point: str) -> None:
    original = getattr(cls, method)

    @wraps(original)
    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        _pause(point)
        return result

    setattr(cls, method, wrapper)


def main() -> int:
    point = os.environ.get("BULLETIN_TEST_PAUSE_AT", "")
    if point and point not in POINTS:
        raise SystemExit(f"unknown pause point {point!r} (known: {', '.join(POINTS)})")
    if point == "committed":
        from index.catalog import Catalog

        _after(Catalog, "commit", point)
    elif point == "bm25-saving":
        from index.keyword import BM25Index

        _after(BM25Index, "_write_arrays", point)
    from index.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
