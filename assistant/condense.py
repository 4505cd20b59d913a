"""Resolve follow-up questions against the chat history, without an LLM.

A follow-up such as 「那开工了多少个？」 or 「那太原呢？」 only makes sense after
the previous question.  ``condense`` carries what the previous question was
about (places, period, corpus terms, its subject words) into a context string,
and its kind of question (多少 / 哪些) when the follow-up has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.query import answer_kind, follow_up_asks, has_question_word
from assistant.query import find_places as _find_places
from index.gazetteer import place_words
from index.periods import YEAR, find_periods

YEAR_RE = re.compile(rf"(?<!\d)({YEAR})\s*年")


def find_places(text: str) -> tuple[str, ...]:
    return tuple(p.name for p in _find_places(text))


def _periods(text: str) -> list[str]:
    """Period words of ``text`` other than a bare year (years are carried on their own)."""
    return [p.text for p in find_periods(text) if not re.fullmatch(rf"{YEAR}年", p.text)]



@lru_cache(maxsize=8)
def _words(section: str) -> tuple[str, ...]:
    """One section of ``assistant/data/follow_up_words.tsv``, longest first (for alternations)."""
    from index.datafiles import read_tsv

    words = [w for sec, (w, _p) in read_tsv("assistant", "data/follow_up_words.tsv", 2) if sec == section]
    return tuple(sorted(words, key=len, reverse=True))


def _alternation(section: str) -> str:
    """The section's words as a regex alternation; an English word only as a whole word."""
    return "|".join(re.escape(w) + (r"(?![a-z])" if w.isascii() else "") for w in _words(section))


FOLLOW_UP_START = re.compile(rf"^(?:{_alternation('opener')})", re.I)
_LEVEL = f"[{''.join(place_words('level'))}]"  # 吕梁 / 吕梁市: one place written with or without its level
_FILLER = re.compile(rf"[？?。，,！!\s]|{_alternation('filler')}", re.I)
_KIND_NOUN = re.compile(rf"(?:{_alternation('kind_word')})[\u4e00-\u9fffA-Za-z]{{0,2}}")
_NOT_SUBJECT = re.compile(rf"{_alternation('not_subject')}|[？?，,。“”\s]")


@dataclass(frozen=True)
class Condensed:
    question: str  # the question to answer (rewritten when it only swapped the place)
    context: str = ""  # carried from earlier turns: searched, weighted low when answering

    @property
    def full(self) -> str:
        return f"{self.context} {self.question}".strip()


def _user_turns(history: list) -> list[str]:
    """Previous user questions from either plain strings or {role, content}/{question} dicts."""
    out = []
    for turn in history or []:
        if isinstance(turn, str):
            out.append(turn)
        elif isinstance(turn, dict):
            if turn.get("role") in (None, "user") and (turn.get("content") or turn.get("question")):
                out.append(str(turn.get("content") or turn.get("question")))
        elif isinstance(turn, (list, tuple)) and turn:
            out.append(str(turn[0]))  # (user, assistant) pairs
    return [t for t in out if t.strip()]


def _swap_place(previous: str, old: tuple[str, ...], new: str) -> str:
    """「吕梁市“三个一批”…」 with 吕梁 → 太原."""
    from index.gazetteer import gazetteer

    names = gazetteer().names
    out = previous
    for place in old:
        # The new place is written like the old one: with its 市 when the old had one, without when not.
        suffix = place[-1] if place[-1] in place_words("level") else ""
        bare = new[:-1] if new[-1:] in place_words("level") and new[:-1] in names else new
        written = bare + suffix if suffix and bare + suffix in names else bare if not suffix else new
        out = out.replace(place, written)
    return out


def is_follow_up(question: str, previous: str, terms: frozenset[str]) -> bool:
    if FOLLOW_UP_START.match(question.strip()):
        return True
    q = question.strip()
    if len(q) <= 6 and q.rstrip("？?").endswith(_words("tail")):
        return True
    has_own_subject = bool(find_places(q)) or any(t in q for t in terms)
    return not has_own_subject and bool(find_places(previous)) and len(q) <= 20


def condense(question: str, history: list, terms: frozenset[str] = frozenset(), follow_up: bool = False) -> Condensed:
    """Rewrite a follow-up into a standalone question plus carried context.

    >>> condense("那太原呢？", ["吕梁市“三个一批”活动签约投资额是多少？"]).question
    '太原市“三个一批”活动签约投资额是多少？'
    >>> c = condense("那开工了多少个？", ["吕梁市“三个一批”活动签约了多少个项目？"], frozenset({"三个一批"}))
    >>> c.context, c.question
    ('吕梁市 “三个一批” 活动签约', '那开工了多少个？')
    >>> condense("吕梁市有几个开发区？", ["太原有哪些专业镇？"]).context
    ''
    >>> condense("同比增长多少", ["一季度工业类开发区规上工业增加值是多少"], follow_up=True).context
    '一季度 工业类开发区规上工业增加值'
    """
    turns = _user_turns(history)
    if not turns:
        return Condensed(question)
    previous = condense(turns[-1], turns[:-1], terms).full if len(turns) > 1 else turns[-1]
    if not follow_up and not is_follow_up(question, previous, terms):
        return Condensed(question)

    places_now, places_before = find_places(question), find_places(previous)
    leftover = _FILLER.sub("", question)
    if places_now and places_before and leftover and all(re.sub(f"{re.escape(p)}{_LEVEL}?", "", leftover) == "" for p in places_now[:1]):
        # 「那太原呢？」: the same question about another place.
        return Condensed(_swap_place(previous, places_before, places_now[0]))

    carried: list[str] = []
    if not places_now:
        carried += list(places_before)
    carried += [f"“{t}”" for t in sorted(terms, key=len, reverse=True) if t in previous and t not in question][:2]
    # A follow-up naming its own period or year (「那上半年呢？」) does not inherit the old one.
    if not _periods(question):
        carried += [p for p in _periods(previous) if not YEAR_RE.fullmatch(p)]
    if not YEAR_RE.search(question):
        carried += [y + "年" for y in YEAR_RE.findall(previous)]
    # The previous question's subject words, minus places/terms already carried and question words.
    # The noun after 什么/哪些 names the kind of answer wanted (措施), not the subject: drop it.
    rest = _KIND_NOUN.sub(" ", previous)
    for p in _periods(previous):  # periods and years were handled above
        rest = rest.replace(p, " ")
    rest = YEAR_RE.sub(" ", rest)
    for c in carried:
        rest = rest.replace(c.strip("“”"), " ")
    for p in places_before:
        rest = re.sub(f"{re.escape(p)}{_LEVEL}?", " ", rest)
    rest = _NOT_SUBJECT.sub(" ", rest)
    carried += [w for w in rest.split() if len(w) >= 2 and w not in question][:4]

    # A follow-up saying no question word asks what the question before it asked (its kind).
    suffix = "" if has_question_word(question) else follow_up_asks().get(answer_kind(previous), "")
    text = question.rstrip("？?").removesuffix("呢") + suffix if suffix else question
    return Condensed(text, " ".join(dict.fromkeys(carried)))
