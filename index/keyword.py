"""Keyword (sparse) search behind a small interface.

Locally it is BM25 (``bm25s``) over jieba tokens stored in the catalog.  A
distributed Chroma with sparse-vector indexes (its Search API: sparse ``Knn``
+ ``Rrf``) could implement the same ``KeywordIndex`` interface.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from index.catalog import Catalog


class KeywordIndex(ABC):
    @abstractmethod
    def search(self, tokens: list[str], k: int, allow: Callable[[str], bool] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, score) for query tokens, best first, ties broken by id."""


class BM25Index(KeywordIndex):
    """BM25 over the catalog's tokens, refitted when the catalog's generation changes."""

    def __init__(self, catalog: Catalog, k1: float = 1.2, b: float = 0.75) -> None:
        self.catalog = catalog
        self.k1, self.b = k1, b
        self._generation = -1
        self._ids: list[str] = []
        self._model = None
        self._lock = threading.Lock()

    def _fresh(self):  # noqa: ANN202
        generation = self.catalog.generation
        with self._lock:
            if generation != self._generation:
                import bm25s

                logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every fit at DEBUG
                ids, corpus = [], []
                for chunk, tokens in self.catalog.iter_chunks():
                    ids.append(chunk.id)
                    corpus.append(tokens or [""])
                model = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
                if corpus:
                    model.index(corpus, show_progress=False)
                self._ids, self._model, self._generation = ids, (model if corpus else None), generation
            return self._ids, self._model

    def search(self, tokens: list[str], k: int, allow: Callable[[str], bool] | None = None) -> list[tuple[str, float]]:
        ids, model = self._fresh()
        if model is None or not tokens:
            return []
        scores = np.asarray(model.get_scores(tokens), dtype=np.float64)
        # Deterministic: score descending, then id ascending.
        order = sorted((i for i in np.flatnonzero(scores > 0)), key=lambda i: (-scores[i], ids[i]))
        out: list[tuple[str, float]] = []
        for i in order:
            if allow is None or allow(ids[i]):
                out.append((ids[i], float(scores[i])))
                if len(out) >= k:
                    break
        return out
