"""Choose the chunk size by measurement: run the product configuration at several sizes.

    python benchmarks/chunk_sweep.py --sizes 80 120 200 300 500 --dataset bulletins --dataset holdout

Prints retrieval and answer metrics per size and dataset (results in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.datasets import resolve
from evals.runner import PRIMARY, evaluate
from settings import Settings

KEYS = ("R@1", "R@5", "MRR@10", "answer_hit@5", "fact_accuracy", "citation_support", "refusal_f1")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[80, 120, 200, 300, 500])
    p.add_argument("--dataset", action="append", required=True)
    args = p.parse_args()
    print("| dataset | chunk_chars | chunks | " + " | ".join(KEYS) + " |")
    print("|---|---|---|" + "---|" * len(KEYS))
    for size in args.sizes:
        settings = Settings(chunk_chars=size)
        for name in args.dataset:
            data = evaluate(settings, resolve(name), [PRIMARY], show_progress=False)
            m = data["results"][PRIMARY]["metrics"]
            from evals.runner import open_index

            n_chunks = len(open_index(settings, resolve(name), show_progress=False).chunks)
            print(f"| {name} | {size} | {n_chunks} | " + " | ".join(f"{m[k]:.3f}" for k in KEYS) + " |", flush=True)


if __name__ == "__main__":
    main()
