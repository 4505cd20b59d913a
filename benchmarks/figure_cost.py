"""What the figure table costs at build time, on real news: the first N unreserved CRUD-RAG articles.

    python benchmarks/figure_cost.py [--n 10000] [--data-dir DIR] [--keep]

1. writes the first N articles of ``../shared/eval-data/crud-news/corpus_68k.jsonl.gz`` that are not
   in its ``reserved.txt`` to a jsonl in a temporary directory (never into the repository);
2. builds them with the product's builder and the default (real) encoder, timing the whole build;
3. re-extracts every passage's figures (``Catalog.refresh_figures``, the same code the build runs in
   its commit transaction) and times that alone.

Prints the build time, the extraction time and its share of the build (issue 11's target: ≤ 10 %).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NEWS = ROOT.parent / "shared" / "eval-data" / "crud-news"


def write_articles(n: int, out: Path) -> int:
    reserved = set((NEWS / "reserved.txt").read_text(encoding="utf-8").split()) if (NEWS / "reserved.txt").exists() else set()
    written = 0
    with gzip.open(NEWS / "corpus_68k.jsonl.gz", "rt", encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for line in src:
            record = json.loads(line)
            if str(record["id"]) in reserved:
                continue
            dst.write(json.dumps({"id": str(record["id"]), "text": record["text"]}, ensure_ascii=False) + "\n")
            written += 1
            if written >= n:
                break
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--data-dir", type=Path, help="where the index goes (default: a temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = p.parse_args(argv)
    if not (NEWS / "corpus_68k.jsonl.gz").exists():
        print(f"skipped: {NEWS} is not beside the repository (evaluation data, never copied into it)")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="figure-cost-"))
    data_dir = args.data_dir or tmp / "data"
    os.environ["BULLETIN_DATA_DIR"] = str(data_dir)
    from index.builder import Builder
    from index.store import BulletinIndex
    from settings import load_settings

    try:
        corpus = tmp / "news.jsonl"
        n = write_articles(args.n, corpus)
        chars = sum(len(json.loads(line)["text"]) for line in corpus.open(encoding="utf-8"))
        settings = load_settings()
        index = BulletinIndex(settings, collection="figure-cost")
        t0 = time.perf_counter()
        Builder(index, show_progress=True).build(corpus)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = index.catalog.refresh_figures()
        extract_s = time.perf_counter() - t0
        print(f"articles: {n} ({chars:,} characters), passages: {len(index.chunks)}, encoder {settings.embed_model} "
              f"({settings.embed_backend})")
        print(f"build: {build_s:.1f} s; figure extraction alone: {extract_s:.1f} s for {rows} rows "
              f"({1000 * extract_s / max(n, 1):.2f} ms per article); share of the build: {100 * extract_s / build_s:.1f} %")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
