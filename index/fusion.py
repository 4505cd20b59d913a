"""Reciprocal-rank fusion as a pure function (deterministic ties)."""

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
