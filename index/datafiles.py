"""Reading the language-knowledge data files (units, periods, places, question words, aliases).

Every file is UTF-8 TSV: ``#`` lines are comments (each file says where its entries come from),
``[section]`` lines start a section, every other line is one row of tab-separated columns.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


class DataFileError(ValueError):
    """A data file row is malformed; the message names the file and line."""


@lru_cache(maxsize=32)
def read_tsv(package: str, name: str, columns: int) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(section, columns) rows of ``package``'s data file ``name``; each row must have ``columns`` fields.

    >>> rows = read_tsv("index", "data/units.tsv", 5)
    >>> rows[0]
    ('multiplier', ('万亿', 'multiplier', '-', '1e12', 'general'))
    """
    out = []
    section = ""
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("[") and line.rstrip().endswith("]"):
            section = line.strip()[1:-1]
            continue
        cols = tuple(c.strip() for c in line.split("\t"))
        if len(cols) != columns:
            raise DataFileError(f"{package}/{name}:{n}: expected {columns} tab-separated columns, got {len(cols)}: {line!r}")
        out.append((section, cols))
    return tuple(out)
