"""End-to-end cost of the product: build, model load, per-question latency, memory.

    python benchmarks/latency.py [--questions evals/datasets/bulletins_qa.jsonl] [--repeat 2]
    python benchmarks/latency.py --news 10000 [--data-dir DIR]     # the seed plus 10k CRUD-RAG news articles

Builds the seed corpus (and, with ``--news N``, the first N articles of
../shared/eval-data/crud-news that are not reserved, as passages of their own) into a temp data
dir (or ``--data-dir``, reused across runs) with the default model (materialised into
BULLETIN_MODEL_DIR or the default model dir), then answers every question of the file
``--repeat`` times and prints p50/p95 per stage and the peak RSS.  Results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def news_corpus(folder: Path, n: int) -> Path:
    """The seed bulletin plus one text file per news article (so they are chunked like bulletins)."""
    import gzip
    import shutil

    news = ROOT.parent / "shared" / "eval-data" / "crud-news"
    if not (news / "corpus_68k.jsonl.gz").exists():
        raise SystemExit(f"--news needs {news}/corpus_68k.jsonl.gz beside the repository")
    reserved = set((news / "reserved.txt").read_text(encoding="utf-8").split())
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "corpus" / "000_539e1ef272cb00ed.txt", folder / "000_539e1ef272cb00ed.txt")
    written = 0
    with gzip.open(news / "corpus_68k.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            if written >= n:
                break
            record = json.loads(line)
            if record["id"] in reserved:
                continue
            path = folder / f"news-{written:06d}.txt"
            if not path.exists():
                path.write_text(record["text"], encoding="utf-8")
            written += 1
    return folder


def main() -> None:
    from settings import Settings

    p = argparse.ArgumentParser()
    p.add_argument("--questions", type=Path, default=ROOT / "evals/datasets/bulletins_qa.jsonl")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--news", type=int, default=0, help="add the first N unreserved CRUD-RAG news articles")
    p.add_argument("--data-dir", type=Path, help="build here and keep it (default: a temp dir)")
    args = p.parse_args()
    model_dir = os.environ.get("BULLETIN_MODEL_DIR") or str(Settings().model_cache_dir)
    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        corpus = ROOT / "corpus"
        if args.news:
            corpus = news_corpus(data_dir / f"latency-corpus-{args.news}", args.news)
        settings = Settings(data_dir=data_dir, model_dir=model_dir, corpus_dir=corpus)
        t0 = time.perf_counter()
        from assistant.chain import BulletinAssistant
        from index.builder import Builder
        from index.store import BulletinIndex

        t_import = time.perf_counter() - t0
        index = BulletinIndex(settings)
        t1 = time.perf_counter()
        _ = index.embedder  # model load (materialised already)
        t_model = time.perf_counter() - t1
        t2 = time.perf_counter()
        report = Builder(index, show_progress=bool(args.news)).build(settings.corpus_dir)
        t_build = time.perf_counter() - t2
        assistant = BulletinAssistant(settings, index=index)
        assistant.ask("吕梁市“三个一批”活动签约投资额是多少？")  # warm-up (jieba dictionaries, caches)
        stages: dict[str, list[float]] = {}
        walls: list[float] = []
        for _ in range(args.repeat):
            for q in questions:
                t = time.perf_counter()
                answer = assistant.ask(q["question"], q.get("history") or [])
                walls.append((time.perf_counter() - t) * 1000)
                for k, v in answer.timings_ms.items():
                    stages.setdefault(k, []).append(v)
        print(f"imports {t_import:.1f} s, model load {t_model:.1f} s, build {t_build:.1f} s "
              f"({report.chunks_total} chunks, {report.embedded} embedded)")
        print(f"{len(walls)} answers; wall p50 {pct(walls, 50):.1f} ms, p95 {pct(walls, 95):.1f} ms")
        for k in sorted(stages):
            print(f"  {k:<14} p50 {pct(stages[k], 50):8.2f} ms   p95 {pct(stages[k], 95):8.2f} ms")
        print(f"peak RSS {rss_mb():.0f} MB; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
