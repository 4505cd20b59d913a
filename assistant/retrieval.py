"""Hybrid retrieval: dense (Chroma) + BM25 (jieba) fused by RRF, then reranked.

The default rerank is cheap and deterministic: it adds evidence the fused
rank cannot see — does the passage name the asked place, the asked period
(2021年 vs 2020年, 一季度 vs 全年), the question's corpus terms, a figure of the
asked unit?  A sentence-transformers ``CrossEncoder`` can replace it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from assistant.query import AskedPlace, QueryAnalysis
from index.figures import find_figures
from index.fusion import fuse
from index.gazetteer import gazetteer
from index.periods import find_periods
from index.store import BulletinIndex, Filter
from index.types import Chunk, Hit


@dataclass(frozen=True)
class RetrievalConfig:
    mode: str = "hybrid"  # dense | bm25 | hybrid
    rerank: str = "heuristic"  # none | heuristic | CrossEncoder name or path
    fusion: str = "score"  # score | rrf
    dense_k: int = 30
    bm25_k: int = 30
    rrf_k: int = 60
    dense_weight: float = 0.5
    bm25_weight: float = 0.5
    rerank_top_n: int = 30

    @classmethod
    def from_settings(cls, settings) -> RetrievalConfig:
        return cls(
            rerank=settings.rerank,
            fusion=settings.fusion,
            dense_k=settings.dense_k,
            bm25_k=settings.bm25_k,
            rrf_k=settings.rrf_k,
            dense_weight=settings.dense_weight,
            bm25_weight=settings.bm25_weight,
            rerank_top_n=settings.rerank_top_n,
        )


def place_names(place: AskedPlace) -> tuple[str, ...]:
    """Every way the asked place may be written: its surface, and the full and short names of each
    place it may mean."""
    g = gazetteer()
    names = {place.name}
    for code in place.codes:
        p = g.place(code)
        names |= {p.name} | ({p.short} if p.match == "short" else set())
    return tuple(sorted(names, key=len, reverse=True))


def mentions(chunk: Chunk, place: AskedPlace) -> bool:
    """Does a passage name ``place`` (its article's city, or in its text/context)?"""
    text = f"{chunk.city}\n{chunk.context}\n{chunk.text}"
    return any(name in text for name in place_names(place))


def period_match(analysis: QueryAnalysis, text: str) -> float:
    """+1 per asked period the text states, -1 per asked one it contradicts (it states another
    period of the same granularity, or another year).

    >>> from assistant.query import analyse
    >>> period_match(analyse("2021年销量"), "2021年，宝马销量"), period_match(analyse("2021年销量"), "2020年，宝马销量")
    (1.0, -1.0)
    >>> period_match(analyse("一季度增加值"), "上半年，增加值"), period_match(analyse("一季度增加值"), "增加值")
    (-1.0, 0.0)
    """
    if not analysis.periods:
        return 0.0
    stated = find_periods(text)
    score = 0.0
    for asked in analysis.periods:
        if any(asked.same_as(p) for p in stated):
            score += 1.0
        elif any(asked.conflicts(p) for p in stated):
            score -= 1.0
    return score


class Reranker(ABC):
    name: str

    @abstractmethod
    def rerank(self, analysis: QueryAnalysis, hits: list[Hit]) -> list[Hit]:
        """Return the hits reordered (ranks renumbered from 1)."""


def _renumber(scored: list[tuple[Hit, float]], stage: str) -> list[Hit]:
    scored.sort(key=lambda hs: (-hs[1], hs[0].rank, hs[0].chunk.id))
    return [
        Hit(chunk=h.chunk, score=s, rank=i, scores={**h.scores, stage: round(s, 6)})
        for i, (h, s) in enumerate(scored, 1)
    ]


def cjk_share(text: str) -> float:
    """Share of Chinese characters among the non-space characters of ``text``.

    >>> cjk_share("吕梁签约2407亿元"), cjk_share("CVPR2022 Workshop")
    (0.6, 0.0)
    """
    chars = [c for c in text if not c.isspace()]
    return sum("\u4e00" <= c <= "\u9fff" for c in chars) / len(chars) if chars else 0.0


class HeuristicReranker(Reranker):
    """Fused score plus bonuses for place, period, corpus terms and figure units."""

    name = "heuristic"

    # Weights measured on the bulletins and RGB-zh dev sets (benchmarks/fusion_sweep.py).
    def __init__(self, w_place: float = 0.2, w_period: float = 0.4, w_terms: float = 0.2, w_unit: float = 0.1,
                 w_language: float = 0.5) -> None:
        self.w_place, self.w_period, self.w_terms, self.w_unit = w_place, w_period, w_terms, w_unit
        self.w_language = w_language

    def score(self, analysis: QueryAnalysis, hit: Hit, top: float) -> float:
        chunk = hit.chunk
        text = f"{chunk.context}\n{chunk.text}"
        s = hit.score / top if top > 0 else 0.0
        if analysis.places:
            s += self.w_place * (sum(mentions(chunk, p) for p in analysis.places) / len(analysis.places) - 0.5)
        s += self.w_period * period_match(analysis, text)
        if analysis.terms:
            s += self.w_terms * sum(t in text for t in analysis.terms) / len(analysis.terms)
        if analysis.figure_intent and (analysis.units or analysis.unit_kinds):
            if any(f.unit in analysis.units or f.kind in analysis.unit_kinds for f in find_figures(chunk.text)):
                s += self.w_unit
        if not analysis.english and cjk_share(chunk.text) < 0.2:
            s -= self.w_language  # a Chinese question is not answered by an English/French page fragment
        return s

    def rerank(self, analysis: QueryAnalysis, hits: list[Hit]) -> list[Hit]:
        top = max((h.score for h in hits), default=0.0)
        return _renumber([(h, self.score(analysis, h, top)) for h in hits], "rerank")


class CrossEncoderReranker(Reranker):
    """A sentence-transformers CrossEncoder (e.g. BAAI/bge-reranker-base) over (question, passage)."""

    def __init__(self, model_name: str) -> None:
        from sentence_transformers import CrossEncoder

        self.name = model_name
        self._model = CrossEncoder(model_name, device="cpu")

    def rerank(self, analysis: QueryAnalysis, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return []
        pairs = [(analysis.search_text, h.chunk.indexed_text) for h in hits]
        scores = self._model.predict(pairs, show_progress_bar=False)
        return _renumber([(h, float(s)) for h, s in zip(hits, scores)], "rerank")


def make_reranker(name: str) -> Reranker | None:
    if name in ("", "none"):
        return None
    if name == "heuristic":
        return HeuristicReranker()
    return CrossEncoderReranker(name)


@dataclass
class Retrieved:
    hits: list[Hit]
    query_vector: np.ndarray | None = None  # the question's embedding (None in BM25-only mode)
    timings: dict[str, float] = field(default_factory=dict)


class Retriever:
    def __init__(self, index: BulletinIndex, config: RetrievalConfig, reranker: Reranker | None = None) -> None:
        self.index = index
        self.config = config
        self.reranker = reranker if reranker is not None else make_reranker(config.rerank)

    def search(
        self, analysis: QueryAnalysis, k: int, flt: Filter | None = None, timings: dict[str, float] | None = None
    ) -> list[Hit]:
        return self.retrieve(analysis, k, flt, timings).hits

    def retrieve(
        self, analysis: QueryAnalysis, k: int, flt: Filter | None = None, timings: dict[str, float] | None = None
    ) -> Retrieved:
        cfg = self.config
        timings = {} if timings is None else timings
        chunks = self.index.chunks
        t0 = time.perf_counter()
        vector = self.index.embedder.embed_query(analysis.search_text) if cfg.mode in ("dense", "hybrid") else None
        dense = self.index.dense(analysis.search_text, cfg.dense_k, flt, vector=vector) if vector is not None else []
        t1 = time.perf_counter()
        bm25 = self.index.keyword(analysis.search_text, cfg.bm25_k, flt) if cfg.mode in ("bm25", "hybrid") else []
        t2 = time.perf_counter()
        timings["dense_ms"] = (t1 - t0) * 1000
        timings["bm25_ms"] = (t2 - t1) * 1000
        dense_scores, bm25_scores = dict(dense), dict(bm25)
        fused = fuse(dense, bm25, cfg.mode, cfg.fusion, (cfg.dense_weight, cfg.bm25_weight), cfg.rrf_k)
        hits = [
            Hit(
                chunk=chunks[cid],
                score=score,
                rank=rank,
                scores={
                    k: v
                    for k, v in (("dense", dense_scores.get(cid)), ("bm25", bm25_scores.get(cid)), ("fused", score))
                    if v is not None
                },
            )
            for rank, (cid, score) in enumerate(fused, 1)
            if cid in chunks
        ]
        if self.reranker is not None and hits:
            head, tail = hits[: cfg.rerank_top_n], hits[cfg.rerank_top_n :]
            head = self.reranker.rerank(analysis, head)
            hits = head + [Hit(h.chunk, h.score, len(head) + i, h.scores) for i, h in enumerate(tail, 1)]
        timings["rerank_ms"] = (time.perf_counter() - t2) * 1000
        return Retrieved(hits[:k], vector, timings)

