"""Fusion of ranked lists as pure functions (deterministic ties): reciprocal-rank fusion and
normalised score fusion."""

from __future__ import annotations

from collections.abc import Sequence


def rrf(rankings: Sequence[Sequence[str]], k: int = 60, weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = Σ w / (k + rank).  Ties go to the smaller id.

    >>> rrf([["a", "b", "c"], ["b", "c", "a"]], k=1)
    [('b', 0.8333333333333333), ('a', 0.75), ('c', 0.5833333333333333)]
    """
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def score_fusion(
    rankings: Sequence[Sequence[tuple[str, float]]],
    weights: Sequence[float] | None = None,
    scaling: Sequence[str] | None = None,
) -> list[tuple[str, float]]:
    """Fuse (id, score) lists by normalised scores, weighted and summed; an id missing from a
    list gets 0 there.  Per list, ``scaling`` is ``"minmax"`` (to [0, 1]; cosine scores, whose
    floor is far from 0) or ``"max"`` (divide by the best; BM25, whose floor is 0).  Unlike RRF
    it keeps how far apart the scores are, which measured better on our eval data
    (benchmarks/RESULTS.md).  Ties go to the smaller id.

    >>> dense = [("a", 0.9), ("b", 0.8), ("c", 0.7)]
    >>> bm25 = [("c", 4.0), ("b", 2.0)]
    >>> [(i, round(s, 3)) for i, s in score_fusion([dense, bm25], [0.5, 0.5], ["minmax", "max"])]
    [('b', 0.5), ('a', 0.5), ('c', 0.5)]
    >>> score_fusion([dense, bm25], [0.8, 0.2], ["minmax", "max"])[0]
    ('a', 0.8)
    """
    weights = weights or [1.0] * len(rankings)
    scaling = scaling or ["minmax"] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight, mode in zip(rankings, weights, scaling):
        if not ranking:
            continue
        values = [s for _, s in ranking]
        hi, lo = max(values), min(values)
        for item, s in ranking:
            if mode == "max":
                scaled = s / hi if hi > 0 else 0.0
            else:
                scaled = (s - lo) / (hi - lo) if hi > lo else 1.0
            scores[item] = scores.get(item, 0.0) + weight * scaled
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def fuse(
    dense: Sequence[tuple[str, float]],
    bm25: Sequence[tuple[str, float]],
    mode: str = "hybrid",
    fusion: str = "score",
    weights: Sequence[float] = (0.5, 0.5),
    rrf_k: int = 60,
) -> list[tuple[str, float]]:
    """The one way dense and BM25 results become one ranking (the assistant's retriever and
    ``python -m index search`` both call it): one list alone for ``mode`` dense/bm25, else RRF or
    normalised score fusion.

    >>> fuse([("a", 0.9), ("b", 0.7)], [("b", 3.0)], mode="bm25")
    [('b', 3.0)]
    >>> fuse([("a", 0.9), ("b", 0.7)], [("b", 3.0)])
    [('a', 0.5), ('b', 0.5)]
    """
    if mode == "dense":
        return list(dense)
    if mode == "bm25":
        return list(bm25)
    if fusion == "rrf":
        return rrf([[i for i, _ in dense], [i for i, _ in bm25]], k=rrf_k, weights=list(weights))
    return score_fusion([dense, bm25], list(weights), ["minmax", "max"])
