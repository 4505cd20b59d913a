"""Build-time annotations of each chunk: what the answerer reads besides the text.

* a vector per clause, pooled from the chunk's own encoding (no extra encoder pass);
* LAC's named entities (people, places, organisations, times);
* the places its article names (gazetteer codes with their enclosing units), so a question about
  眉县 can be checked against the whole article, not just the one passage.

They are committed with the chunks, in the same catalog transaction; ``ANNOTATOR`` names the
recipe, and an index annotated by another one is re-annotated by the next plain build.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.clauses import CLAUSES_REVISION, clause_spans
from index.embedding import Embedder
from index.gazetteer import gazetteer
from index.ner import MODEL as NER_MODEL
from index.ner import entities
from index.types import Chunk

ANNOTATOR_REVISION = 1
ANNOTATOR = f"annotate/{ANNOTATOR_REVISION};clauses/{CLAUSES_REVISION};{NER_MODEL}"


@dataclass(eq=False)
class Annotation:
    clauses: tuple[tuple[int, int], ...]  # spans into Chunk.text
    vectors: np.ndarray  # (len(clauses), dim) unit vectors; a zero row: no vector (truncated by the encoder)
    entities: tuple[tuple[int, int, str], ...] = ()  # (start, end, LAC tag) into Chunk.text
    places: frozenset[str] = field(default_factory=frozenset)  # gazetteer codes named by the chunk's article

    def to_row(self) -> tuple[str, bytes]:
        """(JSON data, int8 vectors with one float32 scale per row)."""
        data = json.dumps({"c": [list(c) for c in self.clauses], "e": [list(e) for e in self.entities],
                           "p": sorted(self.places)}, ensure_ascii=False)
        return data, quantise(self.vectors)

    @classmethod
    def from_row(cls, data: str, blob: bytes, dim: int) -> Annotation:
        d = json.loads(data)
        return cls(tuple(tuple(c) for c in d["c"]), dequantise(blob, dim), tuple(tuple(e) for e in d["e"]),
                   frozenset(d["p"]))


def quantise(vectors: np.ndarray) -> bytes:
    """Rows as int8 with a float32 scale each (a quarter of float32's bytes; cosine error ~1e-3).

    >>> v = np.array([[0.6, -0.8], [0.0, 0.0]], dtype=np.float32)
    >>> [[round(float(x), 2) for x in row] for row in dequantise(quantise(v), 2)]
    [[0.6, -0.8], [0.0, 0.0]]
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if not len(vectors):
        return b""
    scale = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127.0
    q = np.round(vectors / scale[:, None]).astype(np.int8)
    return b"".join(s.tobytes() + row.tobytes() for s, row in zip(scale.astype(np.float32), q))


def dequantise(blob: bytes, dim: int) -> np.ndarray:
    if not blob:
        return np.zeros((0, dim), dtype=np.float32)
    rows = np.frombuffer(blob, dtype=np.uint8).reshape(-1, 4 + dim)
    scale = rows[:, :4].copy().view(np.float32)[:, 0]
    q = rows[:, 4:].copy().view(np.int8).astype(np.float32)
    return q * scale[:, None]


def article_key(chunk: Chunk) -> tuple[str, int | str]:
    """Chunks of one article share their places; a passage of a jsonl corpus is its own article."""
    return (chunk.source, chunk.article_index) if chunk.context or chunk.article_title else (chunk.source, chunk.id)


def annotate(
    chunks: Sequence[Chunk],
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 32,
) -> tuple[np.ndarray, dict[str, Annotation]]:
    """Pooled vectors and annotations of ``chunks`` (one encoder pass for both).

    ``chunks`` must hold whole articles (a build annotates whole sources): an article's places
    are those its given chunks name.
    """
    spans = [clause_spans(c.text) for c in chunks]
    shifts = [len(c.indexed_text) - len(c.text) for c in chunks]  # the context line before the text
    pooled, parts = embedder.embed_passages_with_spans(
        [c.indexed_text for c in chunks],
        [[(a + s, b + s) for a, b in sp] for sp, s in zip(spans, shifts)],
        progress=progress,
        batch_size=batch_size,
    )
    g = gazetteer()
    places: dict[tuple[str, int | str], set[str]] = {}
    for c in chunks:
        key = article_key(c)
        if key not in places:
            places[key] = set(g.codes_in(c.context))
        places[key] |= g.codes_in(c.text)
    out = {
        c.id: Annotation(
            clauses=tuple(sp),
            vectors=vecs,
            entities=tuple((e.start, e.end, e.tag) for e in entities(c.text)),
            places=frozenset(places[article_key(c)]),
        )
        for c, sp, vecs in zip(chunks, spans, parts)
    }
    return pooled, out
