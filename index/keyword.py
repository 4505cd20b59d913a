"""Keyword (sparse) search behind a small interface.

Locally it is BM25 (``bm25s``) over jieba tokens stored in the catalog.  A
distributed Chroma with sparse-vector indexes (its Search API: sparse ``Knn``
+ ``Rrf``) could implement the same ``KeywordIndex`` interface.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.catalog import Catalog


class KeywordIndex(ABC):
    @abstractmethod
    def search(self, tokens: list[str], k: int, allow: Callable[[str], bool] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, score) for query tokens, best first, ties broken by id."""


class BM25Index(KeywordIndex):
    """BM25 over the catalog's tokens.

    A build fits it once and saves it (``save``) beside the catalog, tagged with the
    catalog generation it was fitted on; readers memory-map that file and only refit
    in memory when it is missing or stale (e.g. a build killed before saving).
    """

    def __init__(self, catalog: Catalog, directory: Path | None = None, k1: float = 1.2, b: float = 0.75) -> None:
        self.catalog = catalog
        self.directory = directory
        self.k1, self.b = k1, b
        self._generation = -1
        self._ids: list[str] = []
        self._model = None
        self._df: dict[str, int] = {}
        self._lock = threading.Lock()

    def _fit(self) -> tuple[list[str], object | None, dict[str, int]]:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every fit at DEBUG
        ids, corpus, df = [], [], {}
        for cid, tokens in self.catalog.iter_tokens():
            ids.append(cid)
            corpus.append(tokens or [""])
            for token in set(tokens):
                df[token] = df.get(token, 0) + 1
        model = None
        if corpus:
            model = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
            model.index(corpus, show_progress=False)
        return ids, model, df

    def _saved_dir(self, generation: int) -> Path | None:
        return self.directory / f"gen-{generation}" if self.directory else None

    def save(self) -> None:
        """Fit on the committed catalog and save atomically; older saves are removed."""
        if self.directory is None:
            return
        generation = self.catalog.generation
        ids, model, df = self._fit()
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.directory))
        try:
            if model is not None:
                model.save(str(tmp), show_progress=False)
            (tmp / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
            (tmp / "df.json").write_text(json.dumps(df, ensure_ascii=False), encoding="utf-8")
            final = self._saved_dir(generation)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in self.directory.glob("gen-*"):
            if old.name != f"gen-{generation}":
                shutil.rmtree(old, ignore_errors=True)
        with self._lock:
            self._ids, self._model, self._df, self._generation = ids, model, df, generation

    def _load(self, generation: int) -> tuple[list[str], object | None, dict[str, int]] | None:
        path = self._saved_dir(generation)
        if path is None or not (path / "df.json").exists():
            return None
        import bm25s

        try:
            ids = json.loads((path / "ids.json").read_text(encoding="utf-8"))
            df = json.loads((path / "df.json").read_text(encoding="utf-8"))
            model = bm25s.BM25.load(str(path), mmap=True, show_progress=False) if ids else None
        except (OSError, ValueError):
            return None  # half-removed by a concurrent build: refit instead
        return ids, model, df

    def _fresh(self) -> tuple[list[str], object | None, dict[str, int]]:
        generation = self.catalog.generation
        with self._lock:
            if generation != self._generation:
                loaded = self._load(generation) or self._fit()
                self._ids, self._model, self._df = loaded
                self._generation = generation
            return self._ids, self._model, self._df

    def doc_freq(self) -> dict[str, int]:
        return self._fresh()[2]

    def search(self, tokens: list[str], k: int, allow: Callable[[str], bool] | None = None) -> list[tuple[str, float]]:
        ids, model, _ = self._fresh()
        if model is None or not tokens:
            return []
        scores = np.asarray(model.get_scores(tokens), dtype=np.float64)
        candidates = np.flatnonzero(scores > 0)
        want = k
        while True:
            # Top ``want`` by partition, plus everything tied with the last one, then a
            # deterministic sort (score descending, id ascending) of that small set only.
            if len(candidates) > want:
                part = candidates[np.argpartition(-scores[candidates], want - 1)[:want]]
                cutoff = scores[part].min()
                top = candidates[scores[candidates] >= cutoff]
            else:
                top = candidates
            order = sorted(top.tolist(), key=lambda i: (-scores[i], ids[i]))
            out = [(ids[i], float(scores[i])) for i in order if allow is None or allow(ids[i])][:k]
            if len(out) >= k or len(top) == len(candidates):
                return out
            want *= 4  # a filter rejected many: look deeper
