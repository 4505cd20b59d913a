"""Faults around a real `python app.py`: the LLM endpoint hangs or fails, the Chroma server goes away
and comes back.  The module starts its own processes on 127.0.0.1 (never the CI's shared Chroma server):
one Chroma server, one fake OpenAI-compatible server, one app using both."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.assistant.fake_openai import FakeOpenAI, cite_passage_with
from tests.conftest import free_port, stop_process, wait_http
from tests.web._support import ADMIN_TOKEN, SEED_FIGURE, SEED_QUESTION, AppServer, sse_events, start_app, stop_app

pytestmark = pytest.mark.server  # starts a Chroma server of its own

# --- a Chroma server of our own -------------------------------------------------------------------
class ChromaServer:
    """``chroma run`` on a fixed port and path, so it can be stopped and started again at the same place."""

    def __init__(self, exe: str, port: int, path: Path, log_path: Path) -> None:
        self.exe, self.port, self.path, self.log_path = exe, port, path, log_path
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("a") as log:
            self.proc = subprocess.Popen(
                [self.exe, "run", "--host", "127.0.0.1", "--port", str(self.port), "--path", str(self.path)],
                stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            wait_http(f"{self.url}/api/v2/heartbeat", timeout=60)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"`chroma run` did not start:\n{self.log_path.read_text(errors='replace')[-3000:]}") from None

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc, grace=20)
        self.proc = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the port is really closed
            try:
                httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1)
            except httpx.TransportError:
                return
            time.sleep(0.2)
        raise AssertionError(f"the Chroma server on port {self.port} still answers after being stopped")


@dataclass
class FaultApp:
    app: AppServer
    chroma: ChromaServer
    llm: FakeOpenAI

    @property
    def url(self) -> str:
        return self.app.url


def _chroma_exe() -> str:
    exe = Path(sys.executable).parent / "chroma"
    return str(exe) if exe.exists() else shutil.which("chroma") or ""


GOOD_REPLY = cite_passage_with(SEED_FIGURE, f"签约投资额{SEED_FIGURE}[{{n}}]。")
LLM_TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def fault_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultApp]:
    """One app for the module: vectors in a Chroma server of its own, the LLM at a fake OpenAI-compatible
    server (timeout LLM_TIMEOUT_S, the default one retry)."""
    exe = _chroma_exe()
    if not exe:
        pytest.skip("the `chroma` CLI (from the chromadb package) is not installed: run `make setup`")
    tmp = tmp_path_factory.mktemp("fault-app")
    chroma = ChromaServer(exe, free_port(), tmp / "chroma-data", tmp / "chroma.log")
    chroma.start()
    try:
        with FakeOpenAI() as llm:
            llm.reply(GOOD_REPLY)
            app = start_app(tmp, BULLETIN_CHROMA_URL=chroma.url, BULLETIN_LLM_BASE_URL=llm.base_url,
                            BULLETIN_LLM_MODEL="fake", BULLETIN_LLM_TIMEOUT_S=str(LLM_TIMEOUT_S),
                            BULLETIN_RATE_LIMIT_PER_MINUTE="1000", BULLETIN_ADMIN_TOKEN=ADMIN_TOKEN)
            try:
                yield FaultApp(app, chroma, llm)
            finally:
                stop_app(app)
    finally:
        chroma.stop()


def _ask(url: str, timeout: float = 60) -> httpx.Response:
    return httpx.post(f"{url}/api/ask", json={"question": SEED_QUESTION}, timeout=timeout)


def _assert_clear_503(r: httpx.Response, code: str | None = None) -> dict:
    assert r.status_code == 503, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    body = r.json()
    if code:
        assert body["error"] == code, body
    return body


# --- LLM endpoint hangs or errors -----------------------------------------------------------------
def _assert_extractive_fallback(data: dict, *reason_words: str) -> None:
    assert data["backend"] == "extractive", data["backend"]
    assert data["fallback_reason"], "a fallback must be marked as one"
    assert any(w in data["fallback_reason"] for w in reason_words), data["fallback_reason"]
    assert not data["refused"] and SEED_FIGURE in data["answer"], data["answer"]
    assert any(SEED_FIGURE in c["text"] for c in data["citations"])


def test_llm_answers_when_it_works(fault_app: FaultApp) -> None:
    fault_app.llm.reply(GOOD_REPLY)
    r = _ask(fault_app.url)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["backend"] == "llm:fake" and data["fallback_reason"] is None, data
    assert SEED_FIGURE in data["answer"] and fault_app.llm.chat_requests


@pytest.mark.parametrize("fault", ["hang", "http_500"])
def test_llm_fault_gives_the_extractive_answer_within_the_timeout(fault_app: FaultApp, fault: str) -> None:
    fake, url = fault_app.llm, fault_app.url
    if fault == "hang":  # accepts the request, never answers (well past every timeout)
        fake.reply(delay_before=120.0)
        words: tuple[str, ...] = ("timed out", "Timeout", "within")
    else:
        fake.reply(status=500)
        words = ("500",)
    # The LLM part waits the timeout once at most (the retry of the default BULLETIN_LLM_MAX_RETRIES=1
    # must not wait it again); the whole request adds retrieval, slower on a busy machine.
    llm_bound_ms, bound = LLM_TIMEOUT_S * 1000 + 600, LLM_TIMEOUT_S + 5.0
    try:
        before = len(fake.chat_requests)
        t0 = time.monotonic()
        r = _ask(url)
        elapsed = time.monotonic() - t0
        assert r.status_code == 200, r.text
        data = r.json()
        _assert_extractive_fallback(data, *words)
        assert data["timings_ms"]["llm_ms"] < llm_bound_ms, f"{fault}: the LLM took {data['timings_ms']['llm_ms']} ms"
        assert elapsed < bound, f"{fault}: the fallback took {elapsed:.1f} s (LLM timeout {LLM_TIMEOUT_S:g} s)"
        assert len(fake.chat_requests) > before  # the LLM was really asked

        t0 = time.monotonic()
        r = httpx.post(f"{url}/api/ask/stream", json={"question": SEED_QUESTION}, timeout=60)
        elapsed = time.monotonic() - t0
        assert r.status_code == 200, r.text
        events = sse_events(r)
        names = [e for e, _ in events]
        assert names[-1] == "answer" and "reset" in names, names
        answer = events[-1][1]
        _assert_extractive_fallback(answer, *words)
        assert answer["timings_ms"]["llm_ms"] < llm_bound_ms, f"{fault} (stream): LLM {answer['timings_ms']['llm_ms']} ms"
        assert events[names.index("reset")][1]["reason"] == answer["fallback_reason"]
        after_reset = "".join(d["text"] for e, d in events[names.index("reset") + 1:] if e == "segment")
        assert after_reset == answer["answer"]
        assert elapsed < bound, f"{fault} (stream): the fallback took {elapsed:.1f} s"
    finally:
        fake.reply(GOOD_REPLY)


# --- Chroma server stopped while the app runs -----------------------------------------------------
def test_chroma_server_down_gives_503_and_the_app_recovers_when_it_is_back(fault_app: FaultApp) -> None:
    url, chroma = fault_app.url, fault_app.chroma
    r = _ask(url)
    assert r.status_code == 200 and SEED_FIGURE in r.json()["answer"], r.text[:500]
    assert httpx.get(f"{url}/api/health").json()["store_reachable"] is True

    chroma.stop()
    try:
        public = httpx.get(f"{url}/api/health", timeout=30)
        body = _assert_clear_503(public)
        assert body["ok"] is False and body["store_reachable"] is False and body["problems"] >= 1
        assert chroma.url not in public.text and "details" not in body  # the backend is the operator's business
        admin = {"X-Admin-Token": ADMIN_TOKEN}
        body = _assert_clear_503(httpx.get(f"{url}/api/health", headers=admin, timeout=30))
        assert any("heartbeat" in p for p in body["details"]["problems"]), body["details"]
        for path in ("/api/ask", "/api/ask/stream"):
            r = httpx.post(f"{url}{path}", json={"question": SEED_QUESTION}, timeout=60)
            body = _assert_clear_503(r, "store_unavailable")
            assert "向量库暂时不可用" in body["message"] and chroma.url not in body["message"], body["message"]
            r = httpx.post(f"{url}{path}", json={"question": SEED_QUESTION}, headers=admin, timeout=60)
            body = _assert_clear_503(r, "store_unavailable")
            assert chroma.url in body["message"] and "Is the server running?" in body["message"], body["message"]
    finally:
        chroma.start()  # same port, same data path; the app is not restarted

    assert fault_app.app.proc.poll() is None
    assert httpx.get(f"{url}/api/health", timeout=30).status_code == 200
    r = _ask(url)
    assert r.status_code == 200 and SEED_FIGURE in r.json()["answer"], r.text[:500]
    r = httpx.post(f"{url}/api/ask/stream", json={"question": SEED_QUESTION}, timeout=60)
    assert r.status_code == 200 and sse_events(r)[-1][0] == "answer"
    assert "Traceback" not in fault_app.app.log()
