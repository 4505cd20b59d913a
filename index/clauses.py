"""Sentences and clauses of a passage, as character spans: the units an answer is chosen from.

A clause ends at 「，；：」 (or a sentence end) outside quotes and brackets, so 「“三个一批”活动，」 and
「（以下简称“第7届南博会”）」 stay whole.  The build stores one vector per clause (late pooled
from the passage's encoding, ``index.annotate``); a change here must bump ``CLAUSES_REVISION``.

>>> t = "本次活动，签约项目12个，签约投资额24.07亿元；开工项目10个。“一是”好！"
>>> [[t[a:b] for a, b in s.clauses] for s in sentences(t)]
[['本次活动，', '签约项目12个，', '签约投资额24.07亿元；'], ['开工项目10个。'], ['“一是”好！']]
"""

from __future__ import annotations

from dataclasses import dataclass

from index.cleaning import CLOSERS

CLAUSES_REVISION = 1
SENTENCE_END = "。！？!?；;"
CLAUSE_END = "，,：:"
OPENERS = "“‘（(《「『【"
CLOSING = "”’）)》」』】"


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    clauses: tuple[tuple[int, int], ...]


def sentences(text: str) -> list[Sentence]:
    """Sentences of ``text`` (split at 。！？；) with their clauses; blank pieces are dropped."""
    out: list[Sentence] = []
    clauses: list[tuple[int, int]] = []
    clause_start = 0
    depth = 0
    i, n = 0, len(text)

    def close_clause(end: int) -> None:
        nonlocal clause_start
        a = clause_start
        while a < end and text[a].isspace():
            a += 1
        if text[a:end].strip("，,：:；;。！？!? "):
            clauses.append((a, end))
        clause_start = end

    while i < n:
        ch = text[i]
        if ch in OPENERS:
            depth += 1
        elif ch in CLOSING:
            depth = max(0, depth - 1)
        elif ch in SENTENCE_END and (depth == 0 or ch in "。！？!?"):
            j = i + 1
            while j < n and text[j] in CLOSERS:
                j += 1
            depth = 0
            close_clause(j)
            if clauses:
                out.append(Sentence(clauses[0][0], clauses[-1][1], tuple(clauses)))
            clauses = []
            clause_start = j
            i = j
            continue
        elif ch == "\n":
            depth = 0
            close_clause(i)
            if clauses:
                out.append(Sentence(clauses[0][0], clauses[-1][1], tuple(clauses)))
            clauses = []
            clause_start = i + 1
        elif ch in CLAUSE_END and depth == 0:
            close_clause(i + 1)
        i += 1
    close_clause(n)
    if clauses:
        out.append(Sentence(clauses[0][0], clauses[-1][1], tuple(clauses)))
    return out


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Every clause of ``text`` in reading order.

    >>> t = "第7届中国-南亚博览会（以下简称“第7届南博会”，下同）在昆明举行，共338个项目签约。"
    >>> [t[a:b] for a, b in clause_spans(t)]
    ['第7届中国-南亚博览会（以下简称“第7届南博会”，下同）在昆明举行，', '共338个项目签约。']
    """
    return [c for s in sentences(text) for c in s.clauses]
