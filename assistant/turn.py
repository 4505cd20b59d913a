"""Typed state of one question as it moves through the chain, and the stream's pieces.

``Turn`` is what each step reads and fills in (condense → retrieve → answer → verify); the
stream yields ``AnswerChunk`` values whose control signal (``Reset``) is typed, so the API,
the chat and the CLI read the same field instead of keys of a free dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.condense import Condensed
from assistant.query import QueryAnalysis
from assistant.retrieval import Retrieved
from assistant.types import Answer
from index.store import Filter


class InvalidQuestionError(ValueError):
    """The question is not text, empty or too long; the message says which."""

    code = "invalid_question"
    status = 422


class EmptyQuestionError(InvalidQuestionError):
    code = "empty_question"


class QuestionTooLongError(InvalidQuestionError):
    code = "question_too_long"
    status = 413

    def __init__(self, message: str, length: int, limit: int) -> None:
        super().__init__(message)
        self.length, self.limit = length, limit


def validate_question(question: object, max_chars: int) -> str:
    """The question, stripped; the one place a question is checked (chain, API, chat, CLI).

    >>> validate_question("  吕梁签约投资额？ ", 500)
    '吕梁签约投资额？'
    >>> validate_question("", 500)
    Traceback (most recent call last):
    ...
    assistant.turn.EmptyQuestionError: 问题为空，请输入要查询的内容 (the question is empty)
    """
    if not isinstance(question, str):
        raise InvalidQuestionError("问题必须是文本 (the question must be a string)")
    text = question.strip()
    if not text:
        raise EmptyQuestionError("问题为空，请输入要查询的内容 (the question is empty)")
    if len(text) > max_chars:
        raise QuestionTooLongError(
            f"问题过长（{len(text)} 字，上限 {max_chars} 字），请精简后再问 (question longer than {max_chars} characters)",
            len(text), max_chars,
        )
    return text


@dataclass
class Turn:
    question: str
    history: list = field(default_factory=list)
    city: str = ""
    date_from: str = ""  # documents dated on or after (ISO prefix), "" for any
    date_to: str = ""  # documents dated up to (ISO prefix)
    k: int = 5
    condensed: Condensed | None = None
    analysis: QueryAnalysis | None = None
    sub_analyses: list[QueryAnalysis] = field(default_factory=list)  # of a compound question
    filter: Filter | None = None
    retrieved: Retrieved | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def condensed_text(self) -> str:
        return self.condensed.full if self.condensed else self.question


@dataclass(frozen=True)
class Reset:
    """Discard the text streamed so far: the LLM answer failed and the extractive one follows."""

    reason: str


@dataclass
class AnswerChunk:
    """A streamed piece of an answer; the last one carries the verified ``Answer``.

    Chunks add up (``a + b``), which is how LangChain aggregates a stream.
    """

    text: str = ""
    answer: Answer | None = None
    reset: Reset | None = None

    def __add__(self, other: AnswerChunk) -> AnswerChunk:
        if other.reset is not None:
            return AnswerChunk(other.text, other.answer or self.answer, other.reset)
        return AnswerChunk(self.text + other.text, other.answer or self.answer, self.reset)
