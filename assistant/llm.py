"""Optional LLM answerer: any OpenAI-compatible chat endpoint via langchain-openai.

Used only when ``BULLETIN_LLM_BASE_URL`` and ``BULLETIN_LLM_MODEL`` are set
(vLLM, Ollama, llama.cpp server, DeepSeek, Qwen/DashScope…).  Every failure
surfaces as ``LLMError``; the chain then falls back to the extractive answer.
"""

from __future__ import annotations

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


class LLMAnswerer:
    def __init__(self, settings: Settings) -> None:
        from langchain_openai import ChatOpenAI

        if not settings.llm_enabled:
            raise ValueError("LLM answerer needs BULLETIN_LLM_BASE_URL and BULLETIN_LLM_MODEL")
        self.name = f"llm:{settings.llm_model}"
        self.base_url = settings.llm_base_url
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
        """Answer tokens as they arrive; raises ``LLMError`` on any failure."""
        try:
            got_any = False
            for piece in self._model.stream(build_messages(question, chunks)):
                text = piece.content if isinstance(piece.content, str) else ""
                if text:
                    got_any = True
                    yield text
            if not got_any:
                raise LLMError(f"the LLM at {self.base_url} returned an empty answer")
        except LLMError:
            raise
        except Exception as exc:  # openai/httpx raise many types; all mean "no usable answer"
            raise LLMError(f"the LLM at {self.base_url} failed: {exc.__class__.__name__}: {exc}") from exc
