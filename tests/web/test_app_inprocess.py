"""In-process tests (TestClient and direct handler calls): timeouts, stream resets and errors, the chat
handlers, 「答案有误」 feedback, the admin upload.  The API itself is tested against a real server in
test_api_server.py; these cover paths a real index cannot trigger on demand."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.chain import AnswerChunk, BulletinAssistant
from assistant.turn import Reset
from assistant.types import Answer, Citation
from tests.conftest import make_settings
from tests.web._support import SEED_FIGURE, SEED_QUESTION, sse_events

pytestmark = pytest.mark.integration  # starts processes or servers: `make test`, not plain `pytest`


class FakeAssistant:
    """Scripted stand-in with the BulletinAssistant surface the web layer uses."""

    ready = True

    def __init__(self, index, chunks: list[AnswerChunk] | None = None, delay: float = 0.0,
                 fail: Exception | None = None) -> None:
        self.index = index
        self.chunks = chunks or []
        self.delay = delay
        self.fail = fail

    def stream(self, question: str, history: list | None = None, city: str = "", k: int | None = None) -> Iterator[AnswerChunk]:
        for chunk in self.chunks:
            time.sleep(self.delay)
            yield chunk
        if self.fail:
            raise self.fail

    def ask(self, question: str, history: list | None = None, city: str = "", k: int | None = None) -> Answer:
        final = None
        for chunk in self.stream(question, history, city, k):
            final = chunk if final is None else final + chunk
        assert final is not None and final.answer is not None
        return final.answer

    def known_cities(self) -> list[str]:
        return ["吕梁市", "太原市"]


def _answer(question: str = SEED_QUESTION) -> Answer:
    cite = Citation(1, "c-x", "签约投资额24.07亿元。", "a.txt", "吕梁市：标题", "吕梁市", "工作成绩")
    return Answer(question=question, text="签约投资额24.07亿元[1]。", refused=False, citations=[cite])


@pytest.fixture(scope="module")
def real_assistant_hashing(seed_index):
    s, index = seed_index
    return BulletinAssistant(s, index=index)


def _client(tmp_path: Path, assistant, **overrides) -> TestClient:
    from app import create_app

    settings = make_settings(tmp_path / "data", **overrides)
    return TestClient(create_app(settings, assistant))


def test_inprocess_ask_and_stream(tmp_path, real_assistant_hashing):
    with _client(tmp_path, real_assistant_hashing) as client:
        r = client.post("/api/ask", json={"question": SEED_QUESTION})
        assert r.status_code == 200 and SEED_FIGURE in r.json()["answer"]
        events = sse_events(client.post("/api/ask/stream", json={"question": SEED_QUESTION}))
        assert events[0][0] == "segment" and events[-1][0] == "answer"


def test_timeout_is_504_json(tmp_path, seed_index):
    slow = FakeAssistant(seed_index[1], [AnswerChunk(text="签约"), AnswerChunk(answer=_answer())], delay=1.5)
    with _client(tmp_path, slow, request_timeout_s=0.5) as client:
        r = client.post("/api/ask", json={"question": SEED_QUESTION})
        assert r.status_code == 504 and r.json()["error"] == "timeout" and "超时" in r.json()["message"]
        r = client.post("/api/ask/stream", json={"question": SEED_QUESTION})
        assert r.status_code == 504 and r.json()["error"] == "timeout"


def test_stream_timeout_midway_is_error_event(tmp_path, seed_index):
    chunks = [AnswerChunk(text="第一段"), AnswerChunk(text="第二段"), AnswerChunk(answer=_answer())]

    class Slowing(FakeAssistant):
        def stream(self, *a, **kw):
            yield chunks[0]
            time.sleep(1.5)
            yield from chunks[1:]

    with _client(tmp_path, Slowing(seed_index[1]), request_timeout_s=0.7) as client:
        events = sse_events(client.post("/api/ask/stream", json={"question": SEED_QUESTION}))
    assert events[0] == ("segment", {"text": "第一段"})
    assert events[-1][0] == "error" and events[-1][1]["error"] == "timeout"


def test_a_slow_stream_sends_keep_alive_comments_until_the_answer(tmp_path, seed_index):
    """A long LLM answer: comment lines keep proxies from cutting the stream; the answer still comes."""
    chunks = [AnswerChunk(text="第一段"), AnswerChunk(answer=_answer())]

    class Slow(FakeAssistant):
        def stream(self, *a, **kw):
            yield chunks[0]
            time.sleep(1.0)
            yield chunks[1]

    with _client(tmp_path, Slow(seed_index[1]), sse_keepalive_s=0.2) as client:
        raw = client.post("/api/ask/stream", json={"question": SEED_QUESTION}).text
    assert raw.count(": keep-alive") >= 3
    assert raw.index("event: segment") < raw.index(": keep-alive") < raw.index("event: answer")


def test_stream_reset_then_answer(tmp_path, seed_index):
    chunks = [AnswerChunk(text="大模型写到一半"), AnswerChunk(reset=Reset("LLM timeout")),
              AnswerChunk(text="签约投资额24.07亿元[1]。"), AnswerChunk(answer=_answer())]
    with _client(tmp_path, FakeAssistant(seed_index[1], chunks)) as client:
        events = sse_events(client.post("/api/ask/stream", json={"question": SEED_QUESTION}))
    assert [e for e, _ in events] == ["segment", "reset", "segment", "answer"]
    assert events[1][1] == {"reason": "LLM timeout"}


def test_stream_failure_is_error_event(tmp_path, seed_index):
    failing = FakeAssistant(seed_index[1], [AnswerChunk(text="部分")], fail=RuntimeError("boom"))
    with _client(tmp_path, failing) as client:
        events = sse_events(client.post("/api/ask/stream", json={"question": SEED_QUESTION}))
        assert events[-1][0] == "error" and events[-1][1]["error"] == "internal_error"
        assert "boom" not in json.dumps(events, ensure_ascii=False)  # no internals leak
        r = client.post("/api/ask", json={"question": SEED_QUESTION})
        assert r.status_code == 500 and r.json()["error"] == "internal_error"
    failing_early = FakeAssistant(seed_index[1], [], fail=RuntimeError("boom"))
    with _client(tmp_path, failing_early) as client:
        r = client.post("/api/ask/stream", json={"question": SEED_QUESTION})
        assert r.status_code == 500 and r.json()["error"] == "internal_error"


def test_health_503_when_index_empty(tmp_path):
    from index.store import BulletinIndex

    settings = make_settings(tmp_path / "empty")
    index = BulletinIndex(settings)
    with _client(tmp_path, FakeAssistant(index)) as client:
        r = client.get("/api/health")
    assert r.status_code == 503
    body = r.json()
    assert body["ok"] is False and body["index_built"] is False and body["problems"] >= 1


def test_create_app_builds_missing_index(tmp_path):
    from app import create_app

    settings = make_settings(tmp_path / "fresh")
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/health").json()["chunks"] > 10


# --- chat handlers ---------------------------------------------------------------------------
def _run(gen):
    outputs = list(gen)
    return outputs, outputs[-1]


def test_chat_respond_streams_and_cites(tmp_path, real_assistant_hashing):
    from web.chat_ui import ChatHandlers

    handlers = ChatHandlers(make_settings(tmp_path / "d"), real_assistant_hashing)
    outputs, (messages, panel, state, _, _) = _run(handlers.respond(SEED_QUESTION, None, "全部"))
    assert len(outputs) >= 3  # placeholder, streamed segment(s), final
    assert outputs[0][1:4] and outputs[0][3] == ""  # textbox cleared at once
    assert messages[-1]["role"] == "assistant" and SEED_FIGURE in messages[-1]["content"]
    assert 'href="#cite-1-1"' in messages[-1]["content"]
    assert 'id="cite-1-1"' in panel and "<mark>" in panel and "吕梁市" in panel
    assert state["turns"][0]["citations"] and state["history"][0] == {"role": "user", "content": SEED_QUESTION}
    # A follow-up uses the history.
    _, (messages, panel, state, _, _) = _run(handlers.respond("那开工项目总投资是多少？", state, "吕梁市"))
    assert "12.12亿元" in messages[-1]["content"] and len(state["turns"]) == 2 and 'id="cite-2-1"' in panel


def test_chat_escapes_hostile_input(tmp_path, real_assistant_hashing):
    from web.chat_ui import ChatHandlers

    handlers = ChatHandlers(make_settings(tmp_path / "d"), real_assistant_hashing)
    _, (messages, panel, _, _, _) = _run(handlers.respond("<script>alert(1)</script>", None, "全部"))
    assert messages[0]["content"] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert "<script>" not in messages[-1]["content"] and "<script>" not in panel


def test_chat_rejects_empty_long_and_rate_limited(tmp_path, real_assistant_hashing):
    from web.chat_ui import ChatHandlers
    from web.ratelimit import RateLimiter

    settings = make_settings(tmp_path / "d", max_question_chars=10)
    handlers = ChatHandlers(settings, real_assistant_hashing, RateLimiter(1))
    with pytest.warns(UserWarning, match="问题为空"):
        _, (messages, _, state, box, _) = _run(handlers.respond("   ", None, "全部"))
    assert messages == [] and not state["turns"]
    with pytest.warns(UserWarning, match="问题过长"):
        _, (messages, _, _, box, _) = _run(handlers.respond("长" * 11, None, "全部"))
    assert messages == [] and box == "长" * 11  # kept for editing
    _run(handlers.respond("吕梁市签约投资额？", None, "全部"))
    with pytest.warns(UserWarning, match="提问过于频繁"):
        _, (messages, _, _, box, _) = _run(handlers.respond("吕梁市签约投资额？", None, "全部"))
    assert messages == [] and box == "吕梁市签约投资额？"


def test_report_wrong_writes_feedback(tmp_path, real_assistant_hashing):
    from web.chat_ui import ChatHandlers, new_state

    settings = make_settings(tmp_path / "fb")
    handlers = ChatHandlers(settings, real_assistant_hashing)
    status, kept = handlers.report_wrong(new_state(), "x")
    assert "还没有" in status and kept == "x" and not settings.feedback_path.exists()
    _, (_, _, state, _, _) = _run(handlers.respond(SEED_QUESTION, None, "全部"))
    _, (_, _, state, _, _) = _run(handlers.respond("那开工项目呢？", state, "全部"))
    status, cleared = handlers.report_wrong(state, "开工项目10个，总投资12.12亿元")
    assert "已记录" in status and cleared == ""
    lines = settings.feedback_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert set(rec) == {"ts", "question", "history", "answer", "refused", "citations", "correction"}
    assert rec["question"] == "那开工项目呢？"
    assert rec["history"][0] == {"role": "user", "content": SEED_QUESTION} and len(rec["history"]) == 2
    assert rec["answer"] == state["turns"][-1]["answer"] and rec["refused"] is False
    assert rec["citations"] and set(rec["citations"][0]) == {"n", "chunk_id", "text"}
    assert rec["correction"] == "开工项目10个，总投资12.12亿元"


def test_new_chat_resets(tmp_path, real_assistant_hashing):
    from web.chat_ui import ChatHandlers

    handlers = ChatHandlers(make_settings(tmp_path / "d"), real_assistant_hashing)
    messages, panel, state, box, status, correction = handlers.new_chat()
    assert messages == [] and state["turns"] == [] and "提问后" in panel and box == status == correction == ""


# --- admin upload -------------------------------------------------------------------------------
def test_admin_upload_reindexes(tmp_path, corpus_copy):
    from web.chat_ui import ChatHandlers

    settings = make_settings(tmp_path / "admin", corpus_dir=corpus_copy, admin_token="s3cret")
    from index.builder import Builder
    from index.store import BulletinIndex

    index = BulletinIndex(settings)
    Builder(index, show_progress=False).build(corpus_copy)
    handlers = ChatHandlers(settings, BulletinAssistant(settings, index=index))
    up = tmp_path / "uploads"
    up.mkdir()
    new = up / "晋中简报.txt"
    new.write_text("晋中市开发区今年新签约项目8个，签约投资额15.5亿元，推动产业链延链补链。\n", encoding="utf-8")
    bad = up / "notes.exe"
    bad.write_bytes(b"MZ")

    assert "口令不正确" in handlers.upload([str(new)], "wrong")
    assert not (corpus_copy / "晋中简报.txt").exists()
    out = handlers.upload([str(new), str(bad)], "s3cret")
    assert "✓ 晋中简报.txt" in out and "不支持的文件类型" in out and "1 new" in out, out
    assert (corpus_copy / "晋中简报.txt").exists() and not (corpus_copy / "notes.exe").exists()
    assert any("15.5亿元" in c.text for c in index.chunks.values())
    choices = handlers.city_choices("吕梁市")
    assert any("晋中市" in str(c) for c in choices.choices) and choices.value == "吕梁市"
    changed = up / "x" / "晋中简报.txt"
    changed.parent.mkdir()
    changed.write_text("不同的内容，签约投资额20亿元。", encoding="utf-8")
    out = handlers.upload([str(changed)], "s3cret")
    assert "未覆盖" in out and "15.5" in (corpus_copy / "晋中简报.txt").read_text(encoding="utf-8")
    assert "请先选择" in handlers.upload([], "s3cret")

    disabled = ChatHandlers(make_settings(tmp_path / "noadmin", corpus_dir=corpus_copy), handlers.assistant)
    assert "管理功能未启用" in disabled.upload([str(new)], "anything")
