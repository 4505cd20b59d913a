"""Load test of the JSON API on 127.0.0.1: throughput, latency, errors, server memory; then the rate limiter.

    python benchmarks/load.py [--clients 32] [--duration 60] [--quota 30]
    python benchmarks/load.py --workers 2 [--redis-url redis://127.0.0.1:6379]   # python app.py --workers 2
    python benchmarks/load.py --url http://127.0.0.1:7860 [--pid PID]     # an app that is already running

By default it starts the app itself, twice, on a free loopback port with a throwaway
BULLETIN_DATA_DIR (the index is built at the first start, exactly as a first deployment
does) and the default embedding model from BULLETIN_MODEL_DIR (default: where `make model`
put it; the app materialises it there if it is missing).  Other BULLETIN_* variables of
the caller (an LLM, BULLETIN_EMBED_MODEL=hashing for a quick run…) are passed through.

Phase 1 (throughput): the rate limit is lifted (BULLETIN_RATE_LIMIT_PER_MINUTE=1000000, so
every client, all on 127.0.0.1, is served) and ``--clients`` concurrent clients send
questions from evals/datasets/bulletins_qa.jsonl for ``--duration`` seconds, half to
/api/ask, half to /api/ask/stream.  It prints requests/s, p50/p95/p99 per endpoint (for
the stream: time to the first event and to the final ``answer`` event), errors by kind,
and the server's RSS (VmRSS of /proc/PID/status, sampled every second): start, max, end
and the slope in MB per minute.

Phase 2 (quota): the app restarts with its real quota (``--quota``, default 30 per minute,
the default of BULLETIN_RATE_LIMIT_PER_MINUTE).  The limiter keys on the client address,
and uvicorn takes it from X-Forwarded-For when the connection comes from 127.0.0.1 (its
default trusted proxy), so one client (X-Forwarded-For 10.0.0.1) sends requests until it
is refused: it must get 429 with a Retry-After header on both endpoints, while another
client (10.0.0.2) is still served; after waiting Retry-After seconds it is served again.
With ``--url`` the quota is whatever that app has (at most ``--max-probe`` requests are sent).

With ``--workers N`` (N > 1) the app runs ``python app.py --workers N`` with its quota in
Redis (``--redis-url``, else a throwaway ``redis-server`` of Debian's on a free loopback
port).  Phase 2 then opens a new connection for every request, so the kernel spreads them
over the workers, and it reports which worker processes answered (the admin health's
``worker``): the quota must hold whichever of them answers.  RSS is the sum over the
master and its workers.

Every loop is bounded (by the duration, the request timeout or a count); only 127.0.0.1 is
contacted.  Exit status 1 if any error other than the deliberate 429s of phase 2 occurred
or a phase-2 check failed.  Results: benchmarks/RESULTS.md ("Load: 32 clients × 60 s").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LIFTED = "1000000"
QUESTIONS = ROOT / "evals" / "datasets" / "bulletins_qa.jsonl"


# --- the app under test ---------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class App:
    url: str
    pid: int | None
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


ADMIN_TOKEN = "load-benchmark-admin"


def start_app(data_dir: Path, rate_limit: str, model_dir: str, timeout_s: float = 600, workers: int = 1,
              storage: str = "") -> App:
    """``python app.py`` on a free loopback port; waits (bounded) until /api/health answers 200."""
    port = free_port()
    env = dict(os.environ)
    env.update(BULLETIN_DATA_DIR=str(data_dir), BULLETIN_MODEL_DIR=model_dir, BULLETIN_RATE_LIMIT_PER_MINUTE=rate_limit,
               BULLETIN_WORKERS=str(workers), BULLETIN_ADMIN_TOKEN=ADMIN_TOKEN,
               GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    if storage:
        env["BULLETIN_RATE_LIMIT_STORAGE"] = storage
    log_path = data_dir.parent / f"app-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port)],
                                cwd=data_dir.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
    app = App(f"http://127.0.0.1:{port}", proc.pid, proc, log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{app.url}/api/health", timeout=5).status_code == 200:
                return app
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    app.stop()
    raise RuntimeError(f"app.py did not become healthy within {timeout_s:.0f} s:\n"
                       f"{log_path.read_text(errors='replace')[-3000:]}")


def _own_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def rss_mb(pid: int) -> float | None:
    """RSS of the process and its descendants (the workers of ``--workers N``)."""
    own = _own_rss_mb(pid)
    if own is None:
        return None
    return own + sum(rss_mb(c) or 0.0 for c in _children(pid))


def start_redis() -> tuple[str, subprocess.Popen]:
    """A throwaway redis-server on a free loopback port (no persistence)."""
    exe = shutil.which("redis-server")
    if not exe:
        raise SystemExit("--workers N needs a shared rate-limit store: apt-get install -y redis-server, "
                         "or pass --redis-url redis://127.0.0.1:6379")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", tempfile.gettempdir()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return f"redis://127.0.0.1:{port}", proc
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("redis-server did not start within 20 s")


def workers_seen(url: str, probes: int = 30) -> set[int]:
    """Worker pids that answered ``probes`` admin health requests, each on a new connection."""
    seen = set()
    for _ in range(probes):
        with httpx.Client(timeout=30) as fresh:
            r = fresh.get(f"{url}/api/health", headers={"X-Admin-Token": ADMIN_TOKEN})
        details = r.json().get("details") or {} if r.status_code == 200 else {}
        if details.get("worker"):
            seen.add(int(details["worker"]))
    return seen


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# --- statistics --------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (values in any order)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def slope_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mv = sum(v for _, v in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    return 60 * sum((t - mt) * (v - mv) for t, v in samples) / var if var else 0.0


@dataclass
class Stats:
    ask_ms: list[float] = field(default_factory=list)
    stream_first_ms: list[float] = field(default_factory=list)
    stream_final_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    done_at: list[float] = field(default_factory=list)
    refused: int = 0
    rss: list[tuple[float, float]] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.ask_ms) + len(self.stream_final_ms)


# --- phase 1: throughput ---------------------------------------------------------------------------
async def _ask(client: httpx.AsyncClient, url: str, question: str, stats: Stats) -> None:
    t0 = time.perf_counter()
    r = await client.post(f"{url}/api/ask", json={"question": question})
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        stats.errors[f"/api/ask HTTP {r.status_code} {_code(r)}"] += 1
        return
    data = r.json()
    if not isinstance(data.get("answer"), str) or not data["answer"]:
        stats.errors["/api/ask 200 without an answer"] += 1
        return
    stats.refused += bool(data.get("refused"))
    stats.ask_ms.append(ms)


async def _stream(client: httpx.AsyncClient, url: str, question: str, stats: Stats) -> None:
    t0 = time.perf_counter()
    first = None
    async with client.stream("POST", f"{url}/api/ask/stream", json={"question": question}) as r:
        if r.status_code != 200:
            await r.aread()
            stats.errors[f"/api/ask/stream HTTP {r.status_code} {_code(r)}"] += 1
            return
        event = None
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
                if first is None:
                    first = (time.perf_counter() - t0) * 1000
            elif line.startswith("data:") and event == "answer":
                data = json.loads(line[5:])
                stats.refused += bool(data.get("refused"))
                stats.stream_first_ms.append(first or 0.0)
                stats.stream_final_ms.append((time.perf_counter() - t0) * 1000)
                return
            elif line.startswith("data:") and event == "error":
                stats.errors[f"/api/ask/stream error event {json.loads(line[5:]).get('error')}"] += 1
                return
    stats.errors["/api/ask/stream ended without an answer event"] += 1


def _code(r: httpx.Response) -> str:
    try:
        return str(r.json().get("error", ""))
    except ValueError:
        return ""


async def _client(n: int, url: str, questions: list[str], deadline: float, stream_share: float,
                  client: httpx.AsyncClient, stats: Stats, seed: int) -> None:
    rng = random.Random(seed * 1000 + n)
    for _ in range(1_000_000):  # bounded; the deadline ends it long before
        if time.monotonic() >= deadline:
            return
        question = rng.choice(questions)
        stream = rng.random() < stream_share
        try:
            await (_stream if stream else _ask)(client, url, question, stats)
        except httpx.TimeoutException:
            stats.errors[f"{'/api/ask/stream' if stream else '/api/ask'} client timeout"] += 1
        except (httpx.HTTPError, ValueError) as exc:
            stats.errors[f"{'/api/ask/stream' if stream else '/api/ask'} {exc.__class__.__name__}"] += 1
        stats.done_at.append(time.monotonic())


async def _sample_rss(pid: int | None, stats: Stats, t0: float, stop: asyncio.Event) -> None:
    while pid is not None and not stop.is_set():
        value = rss_mb(pid)
        if value is not None:
            stats.rss.append((time.monotonic() - t0, value))
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            pass


async def phase1(url: str, pid: int | None, clients: int, duration: float, stream_share: float,
                 questions: list[str], timeout: float, seed: int) -> tuple[Stats, float, list[str]]:
    stats = Stats()
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    loads: list[str] = [loadavg()]
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        stop = asyncio.Event()
        t0 = time.monotonic()
        sampler = asyncio.create_task(_sample_rss(pid, stats, t0, stop))
        deadline = t0 + duration
        tasks = [asyncio.create_task(_client(n, url, questions, deadline, stream_share, client, stats, seed))
                 for n in range(clients)]
        await asyncio.sleep(duration / 2)
        loads.append(loadavg())
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - t0
        loads.append(loadavg())
        stop.set()
        await sampler
    return stats, elapsed, loads


def report_phase1(stats: Stats, elapsed: float, clients: int, duration: float, loads: list[str]) -> list[str]:
    n = stats.ok + sum(stats.errors.values())
    lines = [
        f"phase 1: {clients} clients × {duration:g} s (rate limit lifted), {elapsed:.1f} s until the last answer",
        f"  requests: {n} completed, {stats.ok} answered ({stats.refused} of them refusals), "
        f"{sum(stats.errors.values())} errors  →  {n / elapsed:.1f} requests/s",
        f"  /api/ask         n={len(stats.ask_ms):5d}  p50 {pct(stats.ask_ms, 50):7.0f} ms  "
        f"p95 {pct(stats.ask_ms, 95):7.0f} ms  p99 {pct(stats.ask_ms, 99):7.0f} ms",
        f"  /api/ask/stream  n={len(stats.stream_final_ms):5d}  first event p50 {pct(stats.stream_first_ms, 50):7.0f} ms  "
        f"p95 {pct(stats.stream_first_ms, 95):7.0f} ms  p99 {pct(stats.stream_first_ms, 99):7.0f} ms",
        f"  {'':16s}{'':7s}  final answer p50 {pct(stats.stream_final_ms, 50):7.0f} ms  "
        f"p95 {pct(stats.stream_final_ms, 95):7.0f} ms  p99 {pct(stats.stream_final_ms, 99):7.0f} ms",
        "  errors by kind: " + (", ".join(f"{k}: {v}" for k, v in stats.errors.most_common()) or "none"),
    ]
    if stats.rss:
        values = [v for _, v in stats.rss]
        half = [s for s in stats.rss if s[0] >= stats.rss[-1][0] / 2]
        lines.append(
            f"  server RSS (VmRSS, {len(values)} samples, 1/s): start {values[0]:.0f} MB, max {max(values):.0f} MB, "
            f"end {values[-1]:.0f} MB; slope {slope_per_min(stats.rss):+.1f} MB/min over the run, "
            f"{slope_per_min(half):+.1f} MB/min over its second half"
        )
    else:
        lines.append("  server RSS: not sampled (no --pid for an app started elsewhere)")
    lines.append(f"  load average (1/5/15 min) at start / middle / end: {' | '.join(loads)}")
    return lines


# --- phase 2: the quota ------------------------------------------------------------------------------
async def phase2(url: str, question: str, max_probe: int, timeout: float,
                 fresh_connections: bool = False) -> tuple[list[str], list[str]]:
    """One client over its quota: 429 + Retry-After on both endpoints, another client unaffected, served again later.
    With ``fresh_connections`` every request opens its own connection (so several workers take turns)."""
    lines: list[str] = []
    problems: list[str] = []
    close = {"Connection": "close"} if fresh_connections else {}
    heavy = {"X-Forwarded-For": "10.0.0.1", **close}
    other = {"X-Forwarded-For": "10.0.0.2", **close}
    body = {"question": question}
    async with httpx.AsyncClient(timeout=timeout) as client:
        accepted, first_429 = 0, None
        for _ in range(max_probe):
            r = await client.post(f"{url}/api/ask", json=body, headers=heavy)
            if r.status_code == 429:
                first_429 = r
                break
            if r.status_code != 200:
                problems.append(f"unexpected HTTP {r.status_code} {_code(r)} before the quota was reached")
                break
            accepted += 1
        if first_429 is None:
            problems.append(f"no 429 after {accepted} requests of one client (quota above --max-probe {max_probe}?)")
            return lines, problems
        rejected = [first_429]
        for i in range(9):  # more over-quota requests, both endpoints
            path = "/api/ask/stream" if i % 2 == 0 else "/api/ask"
            rejected.append(await client.post(f"{url}{path}", json=body, headers=heavy))
        statuses = Counter(r.status_code for r in rejected)
        retry = [r.headers.get("retry-after") for r in rejected]
        stream_retry = [r.headers.get("retry-after") for r in rejected[1::2]]
        lines.append(f"phase 2: one client (X-Forwarded-For 10.0.0.1) was served {accepted} times, then refused")
        lines.append(f"  over-quota requests: {len(rejected)} → {dict(statuses)} "
                     f"({sum(1 for r in rejected[1::2] if r.status_code == 429)} of them on /api/ask/stream)")
        lines.append(f"  Retry-After present on {sum(v is not None for v in retry)}/{len(retry)} "
                     f"(stream {sum(v is not None for v in stream_retry)}/{len(stream_retry)}), "
                     f"values {sorted({int(v) for v in retry if v and v.isdigit()})} s; "
                     f"body: {first_429.json().get('message', '')[:60]}…")
        if statuses.get(429, 0) != len(rejected):
            problems.append(f"over-quota requests not all refused: {dict(statuses)}")
        if any(v is None or not v.isdigit() or not 1 <= int(v) <= 60 for v in retry):
            problems.append(f"a 429 without a valid Retry-After (1–60 s): {retry}")
        elif any(r.json().get("retry_after") != int(r.headers["retry-after"]) for r in rejected):
            problems.append("JSON retry_after differs from the Retry-After header")
        r = await client.post(f"{url}/api/ask", json=body, headers=other)
        lines.append(f"  another client (X-Forwarded-For 10.0.0.2) meanwhile: HTTP {r.status_code}")
        if r.status_code != 200:
            problems.append(f"another client was refused too (HTTP {r.status_code}): the quota is not per client")
        h = await client.get(f"{url}/api/health", headers=heavy)
        lines.append(f"  /api/health for the refused client: HTTP {h.status_code} (not rate limited)")
        if h.status_code != 200:
            problems.append(f"/api/health answered {h.status_code} to the refused client")
        wait = max(int(v) for v in retry if v and v.isdigit()) if any(v and v.isdigit() for v in retry) else 60
        await asyncio.sleep(min(wait, 61) + 0.5)
        r = await client.post(f"{url}/api/ask", json=body, headers=heavy)
        lines.append(f"  after waiting {wait} s (its Retry-After): HTTP {r.status_code}")
        if r.status_code != 200:
            problems.append(f"not served again after waiting Retry-After ({r.status_code})")
    return lines, problems


# --- main -----------------------------------------------------------------------------------------
def _check_loopback(url: str) -> None:
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"--url must be a loopback address (got {host!r}): this script only loads 127.0.0.1")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="an app already running on 127.0.0.1 (default: start one, twice)")
    p.add_argument("--pid", type=int, help="with --url: the app's process id, to sample its RSS")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of phase 1")
    p.add_argument("--stream-share", type=float, default=0.5, help="share of requests sent to /api/ask/stream")
    p.add_argument("--quota", type=int, default=30, help="phase 2: BULLETIN_RATE_LIMIT_PER_MINUTE of the restarted app")
    p.add_argument("--max-probe", type=int, default=1000, help="phase 2: at most this many requests to reach the quota")
    p.add_argument("--skip-quota", action="store_true", help="phase 1 only")
    p.add_argument("--timeout", type=float, default=120.0, help="client timeout per request (s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="python app.py --workers N (N > 1: the quota lives in Redis)")
    p.add_argument("--redis-url", default="", help="with --workers N: the shared rate-limit store "
                   "(default: start a throwaway redis-server)")
    p.add_argument("--questions", type=Path, default=QUESTIONS)
    p.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = p.parse_args(argv)
    if args.url:
        _check_loopback(args.url)

    questions = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {os.cpu_count()} CPUs, load {loadavg()}; "
          f"{len(questions)} questions from {args.questions.name}", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="bulletin-load-"))
    apps: list[App] = []
    failed = False
    results: dict = {"workers": args.workers}
    redis_proc = None
    storage = ""
    if args.workers > 1 and not args.url:
        storage = args.redis_url
        if not storage:
            storage, redis_proc = start_redis()
        print(f"{args.workers} workers, rate limit shared in {storage}", flush=True)
    try:
        if args.url:
            app = App(args.url.rstrip("/"), args.pid)
            print(f"app: {app.url} (started elsewhere; pid {args.pid or 'unknown'})", flush=True)
        else:
            from settings import Settings

            model_dir = os.environ.get("BULLETIN_MODEL_DIR") or str(Settings().model_cache_dir)
            model = os.environ.get("BULLETIN_EMBED_MODEL") or Settings().embed_model
            note = "" if Path(model_dir).is_dir() else " (missing: the app materialises it there first, ~15 s)"
            print(f"starting python app.py: data dir {tmp / 'data'}, embedding model {model}, "
                  f"BULLETIN_MODEL_DIR={model_dir}{note}", flush=True)
            t0 = time.monotonic()
            app = start_app(tmp / "data", LIFTED, model_dir, workers=args.workers, storage=storage)
            apps.append(app)
            print(f"app: {app.url}, pid {app.pid}, healthy after {time.monotonic() - t0:.1f} s "
                  f"(index built, first answer given)", flush=True)

        try:
            health = httpx.get(f"{app.url}/api/health", timeout=30).json()
            print(f"index: {health.get('chunks')} chunks, embedding model {health.get('embed_model')}, "
                  f"LLM {health.get('llm_model') or 'none (extractive answers)'}", flush=True)
        except (httpx.HTTPError, ValueError) as exc:
            print(f"index: /api/health unreadable ({exc})", flush=True)
        stats, elapsed, loads = asyncio.run(
            phase1(app.url, app.pid, args.clients, args.duration, args.stream_share, questions, args.timeout, args.seed))
        lines = report_phase1(stats, elapsed, args.clients, args.duration, loads)
        print("\n".join(lines), flush=True)
        failed |= bool(stats.errors) or stats.ok == 0
        results["phase1"] = {
            "clients": args.clients, "duration_s": args.duration, "elapsed_s": elapsed, "answered": stats.ok,
            "requests_per_s": (stats.ok + sum(stats.errors.values())) / elapsed, "errors": dict(stats.errors),
            "ask_ms": {p: pct(stats.ask_ms, p) for p in (50, 95, 99)},
            "stream_first_event_ms": {p: pct(stats.stream_first_ms, p) for p in (50, 95, 99)},
            "stream_answer_ms": {p: pct(stats.stream_final_ms, p) for p in (50, 95, 99)},
            "rss_mb": stats.rss, "rss_slope_mb_per_min": slope_per_min(stats.rss), "loadavg": loads,
        }

        if not args.skip_quota:
            if not args.url:
                app.stop()
                if redis_proc is not None:  # a clean quota for the restarted app
                    redis_proc.terminate()
                    redis_proc.wait(timeout=20)
                    storage, redis_proc = start_redis()
                app = start_app(tmp / "data", str(args.quota), model_dir, workers=args.workers, storage=storage)
                apps.append(app)
                print(f"restarted the app with BULLETIN_RATE_LIMIT_PER_MINUTE={args.quota}: {app.url}", flush=True)
            multi = args.workers > 1
            lines, problems = asyncio.run(phase2(app.url, questions[0], args.max_probe, args.timeout,
                                                 fresh_connections=multi))
            if multi and not args.url:
                seen = workers_seen(app.url)
                lines.append(f"  worker processes answering new connections: {len(seen)} ({sorted(seen)})")
                if len(seen) < 2:
                    problems.append(f"only {len(seen)} worker answered: the quota was not tested across workers")
            checks = [f"  PROBLEM: {x}" for x in problems] or ["  checks: all passed"]
            print("\n".join(lines + checks), flush=True)
            failed |= bool(problems)
            results["phase2"] = {"lines": lines, "problems": problems}
    finally:
        for a in apps:
            a.stop()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print("RESULT: " + ("FAILED (errors other than the deliberate 429s, or a failed check)" if failed else
                        "OK (no errors other than the deliberate 429s)"), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
