"""Answer candidates: every clause of the retrieved passages, with where it sits.

The selector scores each one; the composer quotes the chosen ones exactly as printed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from index.annotate import Annotation
from index.clauses import sentences
from index.types import Hit


@dataclass(frozen=True)
class Candidate:
    hit: int  # index into the hits the candidates were made from
    sentence: int  # sentence index within the passage
    clause: int  # clause index within the sentence
    start: int  # span of the clause in Chunk.text
    end: int
    sent_start: int
    sent_end: int
    n_clauses: int  # clauses in its sentence
    row: int  # row of the clause in the passage's annotation (-1: none)


@dataclass
class Passage:
    """One retrieved passage with what the features need of it."""

    hit: Hit
    annotation: Annotation | None
    vectors: np.ndarray | None  # clause vectors in clause order (None: not annotated)
    position: int = 0  # index of the hit in the ranking it came from (what citations number)


def _quotable(text: str) -> bool:
    """A clause worth quoting: it says something in words or figures (「Jun 8,」「2022-08-19 07」 do not).

    >>> _quotable("Jun 8, 2022 ..."), _quotable("2022-08-19 07"), _quotable("1993年，"), _quotable("5.2%，")
    (False, False, True, True)
    """
    core = text.strip(" ，,.。;；:：…")
    if not core or DATE_ONLY_RE.fullmatch(core):
        return False
    return bool(CJK_RE.search(core) or re.search(r"[A-Za-z]{3,}|\d", core))


CJK_RE = re.compile("[\u4e00-\u9fff]")
# A clause that is only a date or timestamp (「Jun 8, 2022 ...」, 「2022-08-19 07」): no answer.
DATE_ONLY_RE = re.compile(r"(?:[A-Z][a-z]{2} \d{1,2}(?:, \d{4})?|\d{4}-\d{1,2}-\d{1,2}(?: \d{1,2})?|\d{1,2})\s*(?:\.\.\.)?")


def candidates(hits: Sequence[Hit], annotations: Mapping[str, Annotation],
               positions: Sequence[int] | None = None) -> tuple[list[Candidate], list[Passage]]:
    """The quotable clauses of ``hits`` in rank order, and the passages they come from.

    >>> from index.types import Chunk
    >>> hit = Hit(Chunk(id="c", text="Jun 8, 2022 ... 本次活动，签约项目12个。开工10个。", source="s"), 1.0, 1)
    >>> [(c.sentence, c.clause, hit.chunk.text[c.start:c.end]) for c in candidates([hit], {})[0]]
    [(0, 1, '2022 ... 本次活动，'), (0, 2, '签约项目12个。'), (1, 0, '开工10个。')]
    """
    out: list[Candidate] = []
    passages: list[Passage] = []
    for h, hit in enumerate(hits):
        ann = annotations.get(hit.chunk.id)
        rows = {span: i for i, span in enumerate(ann.clauses)} if ann else {}
        vectors = ann.vectors if ann is not None and len(ann.vectors) else None
        passages.append(Passage(hit, ann, vectors, positions[h] if positions is not None else h))
        for s, sent in enumerate(sentences(hit.chunk.text)):
            for c, (a, b) in enumerate(sent.clauses):
                if not _quotable(hit.chunk.text[a:b]):
                    continue
                out.append(Candidate(h, s, c, a, b, sent.start, sent.end, len(sent.clauses), rows.get((a, b), -1)))
    return out, passages
