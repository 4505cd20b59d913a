"""The catalog: the committed state of an index, in one SQLite file.

It records which source files are indexed (with their content hash), every
committed chunk (text, metadata, keyword tokens), the chunks' build-time
annotations (clause vectors, entities, places: ``index.annotate``) and the
index's versions (embedding model, dimension, chunker, annotator).  A build commits in one transaction, so
a build killed at any point leaves the previous committed state intact; the
dense store is reconciled against it (see ``index.builder``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from index.figure_table import FIGURE_EXTRACTOR, FigureRow, figure_rows, named_places, title_place
from index.sqlite_open import connect_wal
from index.types import Chunk

SCHEMA_VERSION = "1"


def tokens_json(tokens: list[str] | str) -> str:
    """A chunk's keyword tokens as the catalog stores them (a JSON list); a string is taken as already serialised."""
    return tokens if isinstance(tokens, str) else json.dumps(tokens, ensure_ascii=False)


@dataclass(frozen=True)
class SourceRecord:
    path: str
    sha256: str
    chunk_ids: tuple[str, ...]
    articles: int
    issue_title: str = ""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, chunk_ids TEXT NOT NULL,
    articles INTEGER NOT NULL, issue_title TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, ord INTEGER NOT NULL,
    data TEXT NOT NULL, tokens TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE TABLE IF NOT EXISTS annotations (
    id TEXT PRIMARY KEY, annotator TEXT NOT NULL, data TEXT NOT NULL, vecs BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS figures (
    chunk_id TEXT NOT NULL, source TEXT NOT NULL, entity TEXT NOT NULL, metric TEXT NOT NULL,
    value TEXT NOT NULL, unit TEXT NOT NULL, normalised REAL NOT NULL, base TEXT NOT NULL, kind TEXT NOT NULL,
    period TEXT NOT NULL, date TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS figures_source ON figures(source);
CREATE INDEX IF NOT EXISTS figures_chunk ON figures(chunk_id);
CREATE INDEX IF NOT EXISTS figures_entity ON figures(entity);
CREATE INDEX IF NOT EXISTS figures_metric ON figures(metric);
CREATE INDEX IF NOT EXISTS figures_order ON figures(date, source, chunk_id, start);
"""

COUNT_BOUND = 100_000  # figures(): totals above this are reported as this
MAX_IN_NAMES = 5_000  # figures(): more matching names than this are filtered by a scan instead
_FIGURE_COLUMNS = ("chunk_id", "source", "entity", "metric", "value", "unit", "normalised", "base", "kind", "period",
                   "date", "start", "end", "text")


class Catalog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = connect_wal(path, timeout=60, schema=_SCHEMA)
        self._db.execute("PRAGMA synchronous=FULL")
        self._names_key: tuple = ()
        self._names: dict[str, tuple[tuple[str, str], ...]] = {}

    def close(self) -> None:
        self._db.close()

    # --- meta --------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    @property
    def generation(self) -> int:
        """Bumped on every commit; readers use it to know their caches are stale."""
        return int(self.meta().get("generation", "0"))

    # --- reads -------------------------------------------------------------
    def sources(self) -> dict[str, SourceRecord]:
        rows = self._db.execute("SELECT path, sha256, chunk_ids, articles, issue_title FROM sources").fetchall()
        return {r[0]: SourceRecord(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4]) for r in rows}

    def chunk_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM chunks")}

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def get(self, ids: Iterable[str]) -> dict[str, Chunk]:
        ids = list(ids)
        found: dict[str, Chunk] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self._db.execute(
                f"SELECT id, data FROM chunks WHERE id IN ({','.join('?' * len(part))})", part
            ).fetchall()
            found.update({cid: Chunk.from_metadata(cid, json.loads(data)) for cid, data in rows})
        return found

    def chunk_sources(self) -> dict[str, str]:
        """Chunk id → its source, for all committed chunks."""
        return dict(self._db.execute("SELECT id, source FROM chunks").fetchall())

    def iter_tokens(self, sources: Iterable[str] | None = None) -> Iterator[tuple[str, list[str]]]:
        """(chunk id, keyword tokens) of all committed chunks (or those of ``sources``), in the same stable order."""
        if sources is None:
            for cid, tokens in self._db.execute("SELECT id, tokens FROM chunks ORDER BY source, ord, id"):
                yield cid, json.loads(tokens)
            return
        sources = sorted(set(sources))
        for i in range(0, len(sources), 500):
            part = sources[i : i + 500]
            query = f"SELECT id, tokens FROM chunks WHERE source IN ({','.join('?' * len(part))}) ORDER BY source, ord, id"
            for cid, tokens in self._db.execute(query, part).fetchall():
                yield cid, json.loads(tokens)

    # --- annotations (written before the commit, like the dense vectors; keyed by chunk id) ----------
    def put_annotations(self, annotator: str, rows: Iterable[tuple[str, str, bytes]]) -> None:
        """Store (chunk id, data, vectors) rows made by ``annotator``; readers see only committed ids."""
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO annotations VALUES (?, ?, ?, ?)",
                           ((cid, annotator, data, vecs) for cid, data, vecs in rows))

    def annotation_rows(self, ids: Iterable[str], annotator: str) -> dict[str, tuple[str, bytes]]:
        """(data, vectors) of ``ids`` made by ``annotator`` (others are absent)."""
        ids = list(ids)
        found: dict[str, tuple[str, bytes]] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self._db.execute(
                f"SELECT id, data, vecs FROM annotations WHERE annotator = ? AND id IN ({','.join('?' * len(part))})",
                [annotator, *part],
            ).fetchall()
            found.update({cid: (data, bytes(vecs)) for cid, data, vecs in rows})
        return found

    def drop_stale_annotations(self) -> int:
        """Delete annotations of chunks the catalog no longer lists (replaced, or left by a killed build)."""
        with self._transaction() as db:
            return db.execute("DELETE FROM annotations WHERE id NOT IN (SELECT id FROM chunks)").rowcount

    def iter_chunk_data(self) -> Iterator[Chunk]:
        """All committed chunks without their tokens (what readers need)."""
        for cid, data in self._db.execute("SELECT id, data FROM chunks ORDER BY source, ord, id"):
            yield Chunk.from_metadata(cid, json.loads(data))

    # --- the one write -----------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db
        self._names_key = ()  # this connection's writes: the distinct names are read again

    def commit(
        self,
        replaced: dict[str, tuple[SourceRecord, list[tuple[Chunk, list[str] | str]]]],
        removed: Iterable[str],
        meta: dict[str, str],
    ) -> None:
        """Atomically replace the chunks of changed sources, drop removed ones, update meta.

        A chunk's keyword tokens come as a list or already serialised (``tokens_json``): a
        big build keeps one string per chunk until here, not one object per token.
        """
        with self._transaction() as db:
            for path in list(removed) + list(replaced):
                db.execute("DELETE FROM chunks WHERE source = ?", (path,))
                db.execute("DELETE FROM sources WHERE path = ?", (path,))
                db.execute("DELETE FROM figures WHERE source = ?", (path,))
            for path, (record, chunks) in replaced.items():
                db.execute(
                    "INSERT INTO sources VALUES (?, ?, ?, ?, ?)",
                    (path, record.sha256, json.dumps(list(record.chunk_ids)), record.articles, record.issue_title),
                )
                db.executemany(
                    "INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?)",
                    (
                        (c.id, path, n, json.dumps(c.to_metadata(), ensure_ascii=False), tokens_json(tokens))
                        for n, (c, tokens) in enumerate(chunks)
                    ),
                )
                # The figure table is written in the same transaction as the chunks it comes from:
                # a killed build leaves both as they were, a finished one both new.
                db.executemany(_INSERT_FIGURE, (_figure_values(r) for r in source_figures([c for c, _ in chunks])))
            if self.meta().get("figures") != FIGURE_EXTRACTOR:
                _refill_figures(db)
            meta = {**meta, "generation": str(self.generation + 1), "schema": SCHEMA_VERSION, "figures": FIGURE_EXTRACTOR}
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))

    # --- the figure table ----------------------------------------------------------------------
    def figures_current(self) -> bool:
        """Were the figure rows extracted by this code's extractor (``FIGURE_EXTRACTOR``)?"""
        return self.meta().get("figures") == FIGURE_EXTRACTOR

    def refresh_figures(self) -> int:
        """Re-extract every committed chunk's figures (another extractor version); one transaction."""
        with self._transaction() as db:
            n = _refill_figures(db)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('figures', ?)", (FIGURE_EXTRACTOR,))
        return n

    def figures(self, entity: str = "", metric: str = "", date_from: str = "", date_to: str = "",
                source: str = "", limit: int = 500, offset: int = 0, chunk_id: str = "",
                metric_exact: str = "") -> tuple[list[FigureRow], int]:
        """Rows matching the filters (entity and metric: substrings; dates: ISO, inclusive), in date
        order, and how many match in all."""
        where, args = [], []
        for column, value in (("entity", entity), ("metric", metric)):
            if not value:
                continue
            # A substring filter is resolved against the table's distinct names first, so the rows
            # are then found through the column's index: a LIKE '%…%' would read every row (at 68k
            # documents, 300k rows, a query took 100–250 ms; benchmarks/figures_at_scale.py).
            needle = _fold_ascii(value)
            matched = [name for folded, name in self._distinct(column) if needle in folded]
            if not matched:
                return [], 0
            if len(matched) > MAX_IN_NAMES:  # a word most names hold: its rows are dense, scan them in order
                where.append(f"{column} LIKE ? ESCAPE '\\'")
                args.append("%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
            else:
                where.append(f"{column} IN ({','.join('?' * len(matched))})")
                args.extend(matched)
        if date_from:
            where.append("date >= ?")
            args.append(date_from)
        if date_to:
            where.append("date != '' AND date <= ?")
            args.append(date_to + "\uffff")  # a whole day (or month) given as a prefix counts
        if source:
            where.append("source = ?")
            args.append(source)
        if chunk_id:
            where.append("chunk_id = ?")
            args.append(chunk_id)
        if metric_exact:
            where.append("metric = ?")
            args.append(metric_exact)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        # The total is counted up to a bound: a page of a huge table must not pay for counting it all.
        total = self._db.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM figures{clause} LIMIT {COUNT_BOUND})",
                                 args).fetchone()[0]
        rows = self._db.execute(
            f"SELECT {_SELECT_FIGURE} FROM figures{clause} "
            "ORDER BY date, source, chunk_id, start LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
        return [FigureRow(*r) for r in rows], total

    def _distinct(self, column: str) -> tuple[tuple[str, str], ...]:
        """(ASCII-folded, as stored) of the figure table's distinct entities or metrics, read once per
        catalog generation (another extractor's rows or a build bump it)."""
        meta = self.meta()
        key = (meta.get("generation", "0"), meta.get("figures", ""))
        if key != self._names_key:
            self._names = {c: tuple((_fold_ascii(r[0]), r[0]) for r in self._db.execute(f"SELECT DISTINCT {c} FROM figures"))
                           for c in ("entity", "metric")}
            self._names_key = key
        return self._names[column]

    def figure_chunk_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT DISTINCT chunk_id FROM figures")}

    def clear(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM figures")
            db.execute("DELETE FROM chunks")
            db.execute("DELETE FROM sources")
            db.execute("DELETE FROM annotations")
            db.execute("DELETE FROM meta WHERE key != 'generation'")


def _fold_ascii(text: str) -> str:
    """Lower-case ASCII letters only, as SQLite's LIKE compares (GDP finds gdp; 中文 unchanged).

    >>> _fold_ascii("GDP增速Ａ")
    'gdp增速Ａ'
    """
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SELECT_FIGURE = ", ".join(f'"{c}"' for c in _FIGURE_COLUMNS)
_INSERT_FIGURE = f"INSERT INTO figures VALUES ({', '.join('?' * len(_FIGURE_COLUMNS))})"


def chunk_figures(chunk: Chunk, lead: str = "", earlier: Sequence[tuple[str, frozenset[str]]] = ()) -> list[FigureRow]:
    """A chunk's rows of the figure table (the zone its article's title names, else its city, else
    the first place its article's or its issue's title names, else ``lead``, the first place its
    article's lead passage names, stands in where the passage names no place)."""
    from index.lexicon import zone_names

    zones = zone_names(chunk.article_title)
    subject = zones[0] if zones else "" if chunk.city else (title_place(chunk.article_title)
                                                             or title_place(chunk.issue_title)
                                                             or lead)
    return figure_rows(chunk.text, chunk.id, chunk.source, chunk.city, chunk.date, subject=subject, earlier=earlier)


# A news report names what it is about in its lead: where neither the passage nor the titles name
# a place, the first place (or the country, 「我国」) of the article's first passage stands in
# (measured with ``python -m evals figures``: 128 → 136 of 202 labelled figures right; no QA answer
# changed on nine sets).
LEAD_SUBJECT = True


def source_figures(chunks: Sequence[Chunk]) -> list[FigureRow]:
    """The rows of one source's chunks, given in reading order (an article's first chunk is its lead;
    a stand-alone passage of a passages jsonl is an article of its own and has none)."""
    leads: dict[str, str] = {}
    named: dict[str, list[tuple[str, frozenset[str]]]] = {}  # document → places its chunks so far name
    rows: list[FigureRow] = []
    for c in chunks:
        article = c.document != c.id
        if c.document not in leads:
            leads[c.document] = title_place(c.text, nation=True) if LEAD_SUBJECT and article and not c.city else ""
        earlier = named.setdefault(c.document, [])
        rows += chunk_figures(c, leads[c.document], tuple(earlier))
        if article:
            earlier += named_places(c.text)
    return rows


def _figure_values(row: FigureRow) -> tuple:
    return tuple(getattr(row, c) for c in _FIGURE_COLUMNS)


def _refill_figures(db: sqlite3.Connection) -> int:
    db.execute("DELETE FROM figures")
    n = 0
    # One source at a time (an article's lead comes first), not the whole catalog in memory.
    listed = db.execute("SELECT id, source, data FROM chunks ORDER BY source, ord, id")
    for _source, group in groupby(listed, key=lambda row: row[1]):
        rows = source_figures([Chunk.from_metadata(cid, json.loads(data)) for cid, _, data in group])
        db.executemany(_INSERT_FIGURE, (_figure_values(r) for r in rows))
        n += len(rows)
    return n
