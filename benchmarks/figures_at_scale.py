"""GET /api/figures at the scale of the whole CRUD-RAG news corpus (68k documents; issue 11's target:
p95 ≤ 50 ms).

    python benchmarks/figures_at_scale.py [--n 68221] [--queries 400] [--data-dir DIR]

1. reads up to N articles of ``../shared/eval-data/crud-news/corpus_68k.jsonl.gz`` not listed in its
   ``reserved.txt`` (evaluation data: read in place, never copied into the repository);
2. parses and chunks each like a dropped-in report file (``parse_bulletin``, ``chunk_bulletin``: its
   date, city and title come from the text) and commits them through the product's catalog in
   batches, which writes the figure table in the same transaction as the chunks.  Nothing is
   embedded: the figure table and its API need no vectors, and embedding 68k articles takes hours
   on this CPU (``benchmarks/scale.py`` measures that);
3. serves the real app in process (FastAPI TestClient, no network) over that index and times
   ``--queries`` figure queries, a quarter each unfiltered, by place, by metric and by both, drawn
   from the table itself like ``benchmarks/lookups.py``.

Prints the extraction time, the row count and p50/p95/max per kind of query.  Results:
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NEWS = ROOT.parent / "shared" / "eval-data" / "crud-news"
BATCH = 500  # sources per catalog commit


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))] if values else float("nan")


def articles(n: int):
    reserved = set((NEWS / "reserved.txt").read_text(encoding="utf-8").split()) if (NEWS / "reserved.txt").exists() else set()
    with gzip.open(NEWS / "corpus_68k.jsonl.gz", "rt", encoding="utf-8") as src:
        taken = 0
        for line in src:
            record = json.loads(line)
            if str(record["id"]) in reserved or not str(record.get("text", "")).strip():
                continue
            yield str(record["id"]), record["text"]
            taken += 1
            if taken >= n:
                return


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=68_221)
    p.add_argument("--queries", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, help="where the catalog goes (default: a temporary directory, removed); "
                   "one an earlier run built is reused, and only the queries are timed")
    args = p.parse_args(argv)
    if not (NEWS / "corpus_68k.jsonl.gz").exists():
        print(f"skipped: {NEWS} is not beside the repository (evaluation data, never copied into it)")
        return 0

    from fastapi.testclient import TestClient

    from app import create_app
    from assistant.chain import BulletinAssistant
    from index.annotate import ANNOTATOR
    from index.articles import parse_bulletin
    from index.catalog import SourceRecord
    from index.chunking import chunk_bulletin
    from index.store import BulletinIndex
    from settings import Settings

    tmp = None if args.data_dir else Path(tempfile.mkdtemp(prefix="figures-at-scale-"))
    data_dir = args.data_dir or tmp
    try:
        settings = Settings(_env_file=None, data_dir=data_dir, collection="figures-at-scale", embed_model="hashing",
                            rate_limit_per_minute=0)
        index = BulletinIndex(settings)
        # What a build records, so that the app opens the index (no vectors: the fake embedder's name).
        versions = {"embed_model": index.embedder.name, "embed_dim": str(index.embedder.dim),
                    "chunker": index.expected_chunker(), "annotator": ANNOTATOR}
        started = time.perf_counter()
        parse_s = commit_s = 0.0
        batch: dict = {}
        n_docs = n_chunks = 0

        def flush() -> None:
            nonlocal commit_s
            t0 = time.perf_counter()
            index.catalog.commit(batch, (), versions)
            commit_s += time.perf_counter() - t0
            batch.clear()

        built = index.catalog.count() > 0  # a --data-dir built by an earlier run: time the queries only
        for aid, text in tqdm(() if built else articles(args.n), total=args.n, desc="parse, chunk, commit", unit="doc",
                              file=sys.stderr, disable=built):
            t0 = time.perf_counter()
            source = f"news-{aid}.txt"
            chunks = chunk_bulletin(parse_bulletin(text, source), settings.chunk_chars)
            parse_s += time.perf_counter() - t0
            batch[source] = (SourceRecord(source, aid, tuple(c.id for c in chunks), 1), [(c, "[]") for c in chunks])
            n_docs += 1
            n_chunks += len(chunks)
            if len(batch) >= BATCH:
                flush()
        if batch:
            flush()
        rows = index.catalog._db.execute("SELECT COUNT(*) FROM figures").fetchone()[0]
        n_docs, n_chunks = (len(index.catalog.sources()), index.catalog.count()) if built else (n_docs, n_chunks)
        built_how = ("built by an earlier run" if built else
                     f"parse+chunk {parse_s:.0f} s, commit with figure extraction {commit_s:.0f} s "
                     f"(wall {time.perf_counter() - started:.0f} s)")
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}: {n_docs} documents, {n_chunks} chunks, "
              f"{rows} figure rows; {built_how}", flush=True)

        rng = random.Random(args.seed)
        sample = [r[0:2] for r in index.catalog._db.execute(
            "SELECT entity, metric FROM figures WHERE rowid % 97 = 0").fetchall()]
        places = sorted({e for e, _ in sample if e}) or [""]
        metrics = sorted({m[:4] for _, m in sample if m}) or [""]
        kinds = ("unfiltered", "place", "metric", "place+metric")
        times: dict[str, list[float]] = {k: [] for k in kinds}
        with TestClient(create_app(settings, BulletinAssistant(settings, index=index))) as client:
            # The first calls load what later ones reuse (the catalog's chunks, the gazetteer for a
            # place, the table's distinct names): timed apart.
            t0 = time.perf_counter()
            assert client.get("/api/figures", params={"limit": 200}).status_code == 200
            assert client.get("/api/figures", params={"place": places[0], "metric": metrics[0], "limit": 200}).status_code == 200
            first = (time.perf_counter() - t0) * 1000
            for i in range(args.queries):
                kind = kinds[i % 4]
                params = [{}, {"place": rng.choice(places)}, {"metric": rng.choice(metrics)},
                          {"place": rng.choice(places), "metric": rng.choice(metrics)}][i % 4]
                t0 = time.perf_counter()
                r = client.get("/api/figures", params={**params, "limit": 200})
                times[kind].append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
        every = [t for ts in times.values() for t in ts]
        print(f"/api/figures first two calls (load the catalog's {n_chunks} chunks, the gazetteer, the names) {first:.0f} ms; then "
              f"n={len(every)} p50 {pct(every, 50):.1f} ms, p95 {pct(every, 95):.1f} ms, max {max(every):.1f} ms")
        for kind in kinds:
            print(f"  {kind:<13} n={len(times[kind])} p50 {pct(times[kind], 50):.1f} ms, p95 {pct(times[kind], 95):.1f} ms, "
                  f"max {max(times[kind]):.1f} ms")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
