"""Value types of the assistant: ``Citation`` and ``Answer`` (what the CLI, API and evals see)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from index.types import Chunk, Hit


@dataclass(frozen=True)
class Citation:
    """A numbered passage an answer cites (or, for a refusal, a nearest passage)."""

    n: int
    chunk_id: str
    text: str  # cleaned passage text: figures as in the answer
    source: str
    title: str
    city: str
    section: str
    original: str = ""  # the passage as printed (original spacing)
    start: int = 0
    end: int = 0
    score: float = 0.0
    date: str = ""  # the document's date (ISO; "" when unknown)
    date_source: str = ""  # manifest | header | text | mtime: how sure the date is
    issue: str = ""  # 期号 as printed

    @classmethod
    def from_hit(cls, n: int, hit: Hit) -> Citation:
        return cls.from_chunk(n, hit.chunk, hit.score)

    @classmethod
    def from_chunk(cls, n: int, chunk: Chunk, score: float = 0.0) -> Citation:
        section = " · ".join(x for x in (chunk.section, chunk.item) if x)
        return cls(
            n=n,
            chunk_id=chunk.id,
            text=chunk.text,
            source=chunk.source,
            title=chunk.article_title,
            city=chunk.city,
            section=section,
            original=chunk.display_text,
            start=chunk.start,
            end=chunk.end,
            score=round(float(score), 6),
            date=chunk.date,
            date_source=chunk.date_source,
            issue=chunk.issue,
        )

    @property
    def label(self) -> str:
        return " · ".join(x for x in (self.city, self.title, self.section) if x) or self.source


@dataclass
class Answer:
    question: str
    text: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    nearest: list[Citation] = field(default_factory=list)  # shown with a refusal
    unsupported_figures: list[str] = field(default_factory=list)
    backend: str = "extractive"
    fallback_reason: str | None = None
    condensed_question: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    retrieved: list[str] = field(default_factory=list)  # chunk ids in rank order (for evals)
    confidence: float | None = None  # the selector's score of the quoted clause (extractive answers)
    # Figure-table rows behind a sum / comparison / list / trend answer (for a chart, a CSV, the API).
    table: list[dict[str, Any]] = field(default_factory=list)
    table_kind: str = ""  # sum | compare | list | trend | latest | previous ("" for a passage answer)

    def to_json(self, id: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {} if id is None else {"id": id}
        data.update(
            question=self.question,
            answer=self.text,
            refused=self.refused,
            citations=[asdict(c) for c in self.citations],
            nearest=[asdict(c) for c in self.nearest],
            unsupported_figures=list(self.unsupported_figures),
            backend=self.backend,
            fallback_reason=self.fallback_reason,
            condensed_question=self.condensed_question,
            timings_ms={k: round(v, 1) for k, v in self.timings_ms.items()},
            retrieved=list(self.retrieved),
            confidence=self.confidence,
        )
        if self.table:
            data.update(table=[dict(r) for r in self.table], table_kind=self.table_kind)
        return data
