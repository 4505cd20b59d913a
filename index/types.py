"""Small value types that cross module lines: ``Chunk`` (what is indexed and
cited) and ``Hit`` (a chunk found by a search, with its score)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage of a bulletin article.

    ``text`` is the cleaned passage (lines joined, spaces inside figures removed):
    it is what retrieval, answering and verification read.  ``original`` is the
    same passage with the spacing as printed, for citations.  ``context`` names
    where it sits (city · article · section · item) and is prepended to the text
    for embedding and keyword search only.
    """

    id: str
    text: str
    source: str
    original: str = ""
    context: str = ""
    article_index: int = 0
    article_title: str = ""
    city: str = ""
    source_unit: str = ""
    section: str = ""
    item: str = ""
    start: int = 0
    end: int = 0
    issue_title: str = ""
    date: str = ""  # the document's ISO date (index.dates); "" when unknown
    date_source: str = ""  # manifest | header | text | mtime
    issue: str = ""  # 期号 as printed

    @property
    def indexed_text(self) -> str:
        """Text given to the embedder and the keyword index."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    @property
    def document(self) -> str:
        """What the passage is one report of: its article in a bulletin file, or itself when it is a
        stand-alone passage of a passages jsonl (no offsets into a document).

        >>> Chunk(id="c1", text="…", source="a.txt", article_index=2, start=0, end=80).document
        'a.txt#2'
        >>> Chunk(id="rgb-1", text="…", source="corpus.jsonl").document
        'rgb-1'
        """
        return f"{self.source}#{self.article_index}" if self.end else self.id

    @property
    def display_text(self) -> str:
        return self.original or self.text

    @property
    def location(self) -> str:
        """Human label such as ``吕梁市 · 今年以来… · 工作成绩及亮点``."""
        parts = [self.city, self.article_title, self.section]
        return " · ".join(p for p in parts if p)

    def to_metadata(self) -> dict[str, Any]:
        """Flat, store-friendly dict (Chroma metadata takes scalars only)."""
        data = asdict(self)
        data.pop("id")
        return data

    def store_metadata(self) -> dict[str, Any]:
        """What the dense store keeps: the fields searches filter on, and a digest of the
        embedded text so a stale vector can be recognised."""
        return {
            "city": self.city,
            "source": self.source,
            "article_index": self.article_index,
            "section": self.section,
            "item": self.item,
            "digest": hashlib.sha1(self.indexed_text.encode("utf-8")).hexdigest()[:16],
        }

    @classmethod
    def from_metadata(cls, chunk_id: str, data: dict[str, Any]) -> Chunk:
        known = {f for f in cls.__dataclass_fields__ if f != "id"}
        return cls(id=chunk_id, **{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Hit:
    """A chunk returned by a search, ranked from 1."""

    chunk: Chunk
    score: float
    rank: int
    scores: dict[str, float] = field(default_factory=dict)  # per stage: dense, bm25, rrf, rerank
