"""Optional LLM answerer: any OpenAI-compatible chat endpoint via langchain-openai.

Used only when ``BULLETIN_LLM_BASE_URL`` and ``BULLETIN_LLM_MODEL`` are set
(vLLM, Ollama, llama.cpp server, DeepSeek, Qwen/DashScope…).  Every failure
surfaces as ``LLMError``; the chain then falls back to the extractive answer.

``BULLETIN_LLM_TIMEOUT_S`` bounds both each network wait (connect, first byte,
the gap between two streamed chunks) and the whole answer: a server that keeps
trickling tokens past the deadline is cut off too.  An answer counts only when
the stream ends with a ``finish_reason`` other than ``length``/``content_filter``:
a connection that ends early without one (which HTTP and the SDK let pass
silently) is a truncated answer, hence an ``LLMError``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import prompts
from index.types import Chunk

if TYPE_CHECKING:
    from settings import Settings


class LLMError(RuntimeError):
    """The LLM endpoint failed (unreachable, timed out, refused, bad response)."""


def passage_block(chunks: list[Chunk]) -> str:
    """Numbered passages for the prompt; passage text is data, labelled as such by the system prompt."""
    return "\n\n".join(
        prompts.render("passage", n=i, label=c.location or c.source, text=c.text) for i, c in enumerate(chunks, 1)
    )


def build_messages(question: str, chunks: list[Chunk]) -> list[tuple[str, str]]:
    return [
        ("system", prompts.render("answer_system")),
        ("human", prompts.render("answer_user", passages=passage_block(chunks), question=question)),
    ]


def describe(exc: BaseException) -> str:
    """``Type: message``, with the underlying causes the SDKs wrap (e.g. "Connection error." ← "Connection refused").

    >>> try:
    ...     try:
    ...         raise ConnectionRefusedError(111, "Connection refused")
    ...     except OSError as inner:
    ...         raise RuntimeError("Connection error.") from inner
    ... except RuntimeError as outer:
    ...     describe(outer)
    'RuntimeError: Connection error. ← ConnectionRefusedError: [Errno 111] Connection refused'
    """
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(parts) < 4:
        seen.add(id(current))
        message = str(current).strip().split("\n", 1)[0]
        if not parts or message not in parts[-1]:
            parts.append(f"{current.__class__.__name__}: {message}".rstrip(": "))
        current = current.__cause__ or current.__context__
    return " ← ".join(parts)


class LLMAnswerer:
    def __init__(self, settings: Settings) -> None:
        from langchain_openai import ChatOpenAI

        if not settings.llm_enabled:
            raise ValueError("LLM answerer needs BULLETIN_LLM_BASE_URL and BULLETIN_LLM_MODEL")
        self.name = f"llm:{settings.llm_model}"
        self.base_url = settings.llm_base_url
        self.timeout_s = settings.llm_timeout_s
        self._model = ChatOpenAI(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key or "not-needed",
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            temperature=settings.llm_temperature,
            streaming=True,
        )

    def stream(self, question: str, chunks: list[Chunk]) -> Iterator[str]:
        """Answer tokens as they arrive; raises ``LLMError`` on any failure (see the module doc)."""
        deadline = time.monotonic() + self.timeout_s
        pieces = None
        try:
            got_any, finish = False, None
            pieces = self._model.stream(build_messages(question, chunks))
            for piece in pieces:
                finish = (piece.response_metadata or {}).get("finish_reason") or finish
                text = piece.content if isinstance(piece.content, str) else ""
                if text:
                    got_any = True
                    yield text
                if time.monotonic() > deadline:
                    raise LLMError(f"the LLM at {self.base_url} did not finish its answer within {self.timeout_s:g} s")
            if not got_any:
                raise LLMError(f"the LLM at {self.base_url} returned an empty answer")
            if finish is None:
                raise LLMError(f"the LLM stream from {self.base_url} ended without a finish_reason "
                               "(connection closed mid-answer?)")
            if finish in ("length", "content_filter"):
                raise LLMError(f"the LLM at {self.base_url} stopped early (finish_reason={finish!r})")
        except LLMError:
            raise
        except Exception as exc:  # openai/httpx raise many types; all mean "no usable answer"
            raise LLMError(f"the LLM at {self.base_url} failed: {describe(exc)}") from exc
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # drop the HTTP stream now (a server that notices stops generating)
