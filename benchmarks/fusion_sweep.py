"""Sweep fusion and rerank settings on cached rankings (retrieval metrics only).

    python benchmarks/fusion_sweep.py --dataset bulletins --dataset holdout [--dataset rgb-zh]

Dense and BM25 rankings are computed once per question (top 50), then every
variant is scored from them: RRF with several k and weights, RRF + the heuristic
rerank with several weight sets.  Prints R@1 / R@5 / MRR@10 per variant and dataset.
Used to choose the defaults in settings.py; results in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.chain import BulletinAssistant
from assistant.query import QueryAnalysis
from assistant.retrieval import HeuristicReranker
from evals import metrics
from evals.datasets import load_questions, resolve
from evals.runner import open_index
from index.fusion import rrf
from index.types import Hit
from settings import Settings


def cache_rankings(settings: Settings, name: str) -> tuple[list[dict], dict, dict, list[QueryAnalysis], object]:
    dataset = resolve(name)
    questions = load_questions(dataset.questions)
    index = open_index(settings, dataset, show_progress=False)
    assistant = BulletinAssistant(settings, index=index)
    dense, bm25, analyses = {}, {}, []
    for q in questions:
        state = assistant._prepare({"question": q["question"], "history": q.get("history") or []})
        a = state["analysis"]
        analyses.append(a)
        dense[q["id"]] = index.dense(a.search_text, 50)
        bm25[q["id"]] = index.keyword(a.search_text, 50)
    return questions, dense, bm25, analyses, index


def score(questions, ranked: dict[str, list[str]], chunk_texts) -> dict[str, float]:
    run = {qid: {"retrieved": ids[:10]} for qid, ids in ranked.items()}
    out = {}
    for key, fn in (("R@1", lambda r, q: metrics.recall_at_k(r, q, 1, chunk_texts)),
                    ("R@5", lambda r, q: metrics.recall_at_k(r, q, 5, chunk_texts)),
                    ("MRR@10", lambda r, q: metrics.mrr_at_k(r, q, 10, chunk_texts))):
        vals = [fn(run[q["id"]], q) for q in questions]
        vals = [v for v in vals if v is not None]
        out[key] = sum(vals) / len(vals) if vals else float("nan")
    return out


def combine(dense: list[tuple[str, float]], bm25: list[tuple[str, float]], alpha: float) -> list[tuple[str, float]]:
    """Score fusion: alpha * min-max(dense cosine) + (1 - alpha) * bm25 / max(bm25)."""
    out: dict[str, float] = {}
    if dense:
        hi, lo = dense[0][1], dense[-1][1]
        for cid, s in dense:
            out[cid] = alpha * ((s - lo) / (hi - lo) if hi > lo else 1.0)
    if bm25:
        top = bm25[0][1] or 1.0
        for cid, s in bm25:
            out[cid] = out.get(cid, 0.0) + (1 - alpha) * s / top
    return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", action="append", required=True)
    args = p.parse_args()
    settings = Settings()
    for name in args.dataset:
        questions, dense, bm25, analyses, index = cache_rankings(settings, name)
        chunk_texts = {cid: c.text for cid, c in index.chunks.items()}
        rows = []
        rows.append(("dense", score(questions, {k: [i for i, _ in v] for k, v in dense.items()}, chunk_texts)))
        rows.append(("bm25", score(questions, {k: [i for i, _ in v] for k, v in bm25.items()}, chunk_texts)))
        for k, wd in itertools.product((10, 30, 60), (0.5, 1.0, 1.5, 2.0)):
            fused = {q["id"]: [i for i, _ in rrf([[i for i, _ in dense[q["id"]]], [i for i, _ in bm25[q["id"]]]], k=k,
                                                  weights=[wd, 1.0])] for q in questions}
            rows.append((f"rrf k={k} wd={wd}", score(questions, fused, chunk_texts)))
        for k, wd, (wp, wper, wt, wu) in itertools.product(
            (10, 60), (0.5, 1.0, 1.5), ((0.5, 0.6, 0.5, 0.3), (0.3, 0.6, 0.3, 0.2), (0.5, 1.0, 0.5, 0.3), (0, 0.6, 0, 0), (0, 0, 0, 0))
        ):
            rr = HeuristicReranker(wp, wper, wt, wu)
            ranked = {}
            for q, a in zip(questions, analyses):
                fused = rrf([[i for i, _ in dense[q["id"]]], [i for i, _ in bm25[q["id"]]]], k=k, weights=[wd, 1.0])[:30]
                hits = [Hit(index.chunks[cid], s, r) for r, (cid, s) in enumerate(fused, 1)]
                ranked[q["id"]] = [h.chunk.id for h in rr.rerank(a, hits)]
            rows.append((f"rrf k={k} wd={wd} +rerank(place={wp},period={wper},terms={wt},unit={wu})",
                         score(questions, ranked, chunk_texts)))
        for alpha, weights in itertools.product((0.3, 0.5, 0.6, 0.7, 0.8), ((0, 0, 0, 0), (0.3, 0.6, 0.3, 0.2), (0.2, 0.4, 0.2, 0.1), (0.1, 0.3, 0.1, 0.1))):
            rr = HeuristicReranker(*weights)
            ranked = {}
            for q, a in zip(questions, analyses):
                fused = combine(dense[q["id"]], bm25[q["id"]], alpha)[:30]
                hits = [Hit(index.chunks[cid], s, r) for r, (cid, s) in enumerate(fused, 1)]
                ranked[q["id"]] = [h.chunk.id for h in rr.rerank(a, hits)] if any(weights) else [c for c, _ in fused]
            rows.append((f"comb alpha={alpha} +rerank{weights}", score(questions, ranked, chunk_texts)))
        print(f"\n== {name}: {len(questions)} questions")
        for label, m in sorted(rows, key=lambda r: (-r[1]["MRR@10"], r[0])):
            print(f"{m['R@1']:.3f} {m['R@5']:.3f} {m['MRR@10']:.3f}  {label}")


if __name__ == "__main__":
    main()
