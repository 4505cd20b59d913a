"""Evaluation metrics as pure functions over parsed jsonl records (no I/O, deterministic).

Shapes (dicts, as parsed from the dataset and from a run file):

* question: ``{"id", "question", "answers": [[alt, ...], ...], "unanswerable", "gold": [span, ...],
  "history": [...]}``; every element of ``answers`` is one required fact, its inner list the accepted
  surface forms.  A question on a passage corpus may carry ``"relevant": [passage id, ...]`` instead
  of (or besides) ``gold``.
* run record: ``{"id", "retrieved": [id, ...], "answer", "refused", "citations": [{"n", "chunk_id",
  "text"}], "timings_ms": {stage: ms}}``.
* chunk texts: ``{chunk id: text}``.

Per-question scores are ``float | None``: ``None`` means "not applicable" (e.g. no gold for a
retrieval metric, an unanswerable question for an answer metric) and aggregates skip it.

This module deliberately shares no code with ``assistant/`` (e.g. ``assistant.verify``): the
yardstick must not inherit the bugs of what it measures.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

__all__ = [
    "FIGURE_UNITS",
    "QUANTITY_UNITS",
    "aggregate",
    "answer_hit_at_k",
    "citation_support",
    "cn_to_arabic",
    "exact_all_facts",
    "fact_accuracy",
    "fact_in_text",
    "facts_found",
    "figures",
    "first_relevant_rank",
    "hit_ranks",
    "latency_table",
    "mrr_at_k",
    "normalize_text",
    "per_question",
    "percentiles",
    "recall_at_k",
    "refusal_scores",
    "relevance",
    "unsupported_figure_rate",
    "unsupported_figures",
    "worst_failures",
]

# ---------------------------------------------------------------------------------------------
# Normalisation and fact matching
# ---------------------------------------------------------------------------------------------

# Full-width digits, Latin letters and ％ fold to ASCII (what NFKC does to them); nothing else is
# folded, so Chinese punctuation such as ， and （） stays as it is.  Minus-like signs unify to "-".
_FOLD = {c: c - 0xFEE0 for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B), 0xFF05)}
_FOLD.update({0x2212: "-", 0xFF0D: "-", 0x2010: "-", 0x2011: "-"})  # − － ‐ ‑
_FOLD.update({0x200B: None, 0xFEFF: None})  # zero-width space, BOM: invisible "whitespace"
_WS = re.compile(r"\s+")
_FW_POINT = re.compile(r"(?<=\d)．(?=\d)")  # full-width decimal point inside a number
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def normalize_text(s: str) -> str:
    """Normalise text for matching.

    Folds full-width digits, letters and ％ to ASCII (and a full-width ． between digits), removes
    all whitespace, unifies minus signs (−, －, ‐) with ``-``, drops thousands separators inside
    numbers and lowercases Latin letters.  Chinese punctuation is kept.

    >>> normalize_text("签约 ２４.０７ 亿元，增长−2.6％，共1,000 台，ＧＷ级 Key")
    '签约24.07亿元，增长-2.6%，共1000台，gw级key'
    """
    s = s.translate(_FOLD)
    s = _FW_POINT.sub(".", s)
    s = _WS.sub("", s)
    s = _THOUSANDS.sub("", s)
    return s.lower()


#: Unit / measure words after which a Chinese numeral run is read as a quantity (``cn_to_arabic``).
QUANTITY_UNITS: tuple[str, ...] = (
    "个", "家", "名", "户", "项", "条", "台", "亿", "万", "大", "倍", "年", "月", "日", "人", "批", "次",
    "座", "所", "期", "套", "GW", "MW", "%", "％",
)
_CN_DIGIT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_ZERO = {"零", "〇"}
_CN_PLACE = {"十": 10, "百": 100, "千": 1000}
_CN_RUN = re.compile(
    r"(?<![几数零〇一二两三四五六七八九十百千\d])([零〇一二两三四五六七八九十百千]+)(?=" + "|".join(map(re.escape, QUANTITY_UNITS)) + ")",
    re.IGNORECASE,
)
# Set phrases whose numerals are not quantities.  A lone 一 before 批/大 is the article "a"
# (一批, 一大批, 一大亮点); 三个一批 is a slogan ("sign, start, finish a batch"), not three items.
_CN_KEEP = re.compile(r"三个一批|(?<![零〇一二两三四五六七八九十百千])一(?=批|大)")


def _parse_cn_int(run: str) -> int | None:
    """Value of a Chinese numeral run, or None when not one unambiguous integer.

    >>> [_parse_cn_int(r) for r in ("九", "十二", "二十五", "一百", "两", "一百零五", "二〇二四", "三五", "二百五")]
    [9, 12, 25, 100, 2, 105, 2024, None, None]
    """
    if not any(ch in _CN_PLACE for ch in run):
        if len(run) == 1:
            return 0 if run in _CN_ZERO else _CN_DIGIT[run]
        # digit by digit (二〇二四) only with a zero in it; 三五 / 七八 are approximate ranges
        if any(ch in _CN_ZERO for ch in run) and "两" not in run:
            return int("".join("0" if ch in _CN_ZERO else str(_CN_DIGIT[ch]) for ch in run))
        return None
    total, pending, last_place, zero = 0, None, 10_000, False
    for ch in run:
        if ch in _CN_DIGIT:
            if pending is not None:
                return None
            pending = _CN_DIGIT[ch]
        elif ch in _CN_ZERO:
            if pending is not None or total == 0 or zero:
                return None
            zero = True
        else:
            place = _CN_PLACE[ch]
            if place >= last_place:
                return None
            if pending is None:
                if total or zero or place != 10:  # only a leading 十 stands alone (十二 = 12)
                    return None
                pending = 1
            total, pending, last_place, zero = total + pending * place, None, place, False
    if pending is not None:
        # a bare trailing digit is units only right after 十 or a 零 (二百五 is colloquially 250)
        if total and ((last_place != 10 and not zero) or run[-1] == "两"):
            return None
        total += pending
    return total


def cn_to_arabic(s: str) -> str:
    """Rewrite Chinese numerals used as quantities as Arabic digits.

    Only a numeral run immediately followed by a unit from ``QUANTITY_UNITS`` is converted, and only
    when the run is one unambiguous integer: 九→9, 十二→12, 二十五→25, 一百→100, 两→2.  Left alone:
    ordinals-as-words and set phrases (一是, 二是, 一季度, 统一, 一批, 一大批, 三个一批), approximate
    ranges (三五个), colloquial forms (二百五), and runs after 几/数/若 (几十个).  万 and 亿 are units,
    not part of the numeral: 十二万 → 12万 (as statistics write it).

    >>> cn_to_arabic("九条产业链，十二个项目，二十五名，一百家，两台，十二大基地")
    '9条产业链，12个项目，25名，100家，2台，12大基地'
    >>> cn_to_arabic("一是统一，二是一季度，一批项目，三个一批，三五个，几十个")
    '一是统一，二是一季度，一批项目，三个一批，三五个，几十个'
    """
    keep = [m.span() for m in _CN_KEEP.finditer(s)]

    def convert(m: re.Match[str]) -> str:
        if any(a <= m.start() < b for a, b in keep):
            return m.group(0)
        value = _parse_cn_int(m.group(1))
        return m.group(0) if value is None else str(value)

    return _CN_RUN.sub(convert, s)


def _prep(s: str) -> str:
    """Both normalisations, as fact matching applies them to form and text alike."""
    return cn_to_arabic(normalize_text(s))


# A continuation after a form's end that changes the unit: 7个 ≠ 7个百分点, 3万 ≠ 3万亿.
_UNIT_EXTENSIONS = (("个", "百分点"), ("万", "亿"))


def _sign_start(s: str) -> bool:
    return len(s) > 1 and s[0] in "+-" and s[1].isdigit()


def _matches(form: str, text: str) -> bool:
    """``form`` in ``text`` (both already ``_prep``-ed) under the whole-number rule."""
    if not form:
        return False
    starts_number = form[0].isdigit() or _sign_start(form)
    ends_digit = form[-1].isdigit()
    start = text.find(form)
    while start >= 0:
        end = start + len(form)
        ok = True
        if starts_number and start > 0:
            before = text[start - 1]
            if before.isdigit() or (before == "." and start > 1 and text[start - 2].isdigit()):
                ok = False  # inside a longer number or after a decimal point (「0.48」, not 「）.48支」)
            # a sign belongs to the number: 「2.6%」 is not inside 「-2.6%」 (but is in the range 「1-2.6%」)
            elif before == "-" and form[0].isdigit() and not (start > 1 and text[start - 2].isdigit()):
                ok = False
        if ok and ends_digit and end < len(text):
            after = text[end : end + 2]
            if after[0].isdigit() or (after[0] == "." and len(after) > 1 and after[1].isdigit()):
                ok = False
        if ok and any(form.endswith(u) and text.startswith(x, end) for u, x in _UNIT_EXTENSIONS):
            ok = False
        if ok:
            return True
        start = text.find(form, start + 1)
    return False


def fact_in_text(form: str, text: str) -> bool:
    """Whether one surface form of a fact occurs in ``text``.

    Both sides get ``normalize_text`` and ``cn_to_arabic``.  Figures match as whole numbers: a form
    starting with a digit (or a sign and a digit) must not be preceded by a digit or ``.``; a form
    ending in a digit must not be followed by a digit or ``.digit``.  The sign is part of the number
    (「2.6%」 is not found in 「-2.6%」), units are kept (「24.07亿元」 ≠ 「24.07万元」, 「7个」 ≠
    「7个百分点」).  Other forms are plain substring matches after normalisation.  An empty form
    never matches.

    >>> fact_in_text("7个", "新开工47个"), fact_in_text("7个", "提高7.3个百分点"), fact_in_text("7个", "共7个")
    (False, False, True)
    >>> fact_in_text("24.07亿元", "签约２４.０７ 亿元"), fact_in_text("24.07亿元", "24.07万元")
    (True, False)
    >>> fact_in_text("9条", "培育九条产业链"), fact_in_text("-2.6%", "下降−2.6％"), fact_in_text("-2.6%", "增长2.6%")
    (True, True, False)
    """
    return _matches(_prep(form), _prep(text))


def _alternatives(fact: Any) -> list[str]:
    return [fact] if isinstance(fact, str) else [str(f) for f in fact]


def facts_found(answers: Sequence[Sequence[str] | str], text: str) -> list[bool]:
    """One flag per required fact: does any of its surface forms occur in ``text``?

    A bare string stands for a fact with a single surface form.

    >>> facts_found([["9条", "九条"], ["专业镇"], ["开发区"]], "九条产业链和专业镇")
    [True, True, False]
    >>> facts_found([["48"], ["5"]], "球场（视觉中国）. 48支球队，增长0.5倍")
    [True, False]
    """
    prepped = _prep(text)
    return [any(_matches(_prep(form), prepped) for form in _alternatives(fact)) for fact in answers]


# ---------------------------------------------------------------------------------------------
# Retrieval
# ---------------------------------------------------------------------------------------------


def hit_ranks(retrieved: Sequence[str], is_relevant: Callable[[str], bool]) -> list[int]:
    """1-based ranks of the relevant items of a ranked list (duplicates are kept as ranked).

    >>> hit_ranks(["a", "b", "c", "b"], lambda x: x == "b")
    [2, 4]
    """
    return [rank for rank, item in enumerate(retrieved, start=1) if is_relevant(item)]


def first_relevant_rank(retrieved: Sequence[str], is_relevant: Callable[[str], bool]) -> int | None:
    """Rank (1-based) of the first relevant item, or None when there is none.

    >>> first_relevant_rank(["a", "b"], lambda x: x == "b"), first_relevant_rank(["a"], lambda x: False)
    (2, None)
    """
    ranks = hit_ranks(retrieved, is_relevant)
    return ranks[0] if ranks else None


def relevance(question: Mapping[str, Any], chunk_texts: Mapping[str, str] | None = None) -> Callable[[str], bool] | None:
    """Relevance predicate of a question, or None when the question has no relevance judgement.

    Passage-id mode when ``question["relevant"]`` is non-empty (an id is relevant iff listed; this
    mode wins when both are present); else gold-span mode when ``question["gold"]`` is non-empty
    and ``chunk_texts`` is given: a chunk is relevant iff its text contains a whole gold span, after
    ``normalize_text`` on both (a span split across two chunks is a miss; unknown ids are misses).

    >>> relevance({"relevant": ["p1"]})("p1"), relevance({"gold": ["九条 产业链"]}, {"c": "聚力九条产业链"})("c")
    (True, True)
    >>> relevance({"gold": []}, {}) is None
    True
    """
    relevant = question.get("relevant") or []
    if relevant:
        ids = {str(r) for r in relevant}
        return lambda item: str(item) in ids
    spans = [g for g in (normalize_text(str(s)) for s in question.get("gold") or []) if g]
    if not spans or chunk_texts is None:
        return None
    texts = chunk_texts

    def contains_gold(item: str) -> bool:
        text = texts.get(item)
        if text is None:
            return False
        norm = normalize_text(text)
        return any(span in norm for span in spans)

    return contains_gold


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def _retrieved(record: Mapping[str, Any] | None) -> list[str]:
    return [str(r) for r in (record or {}).get("retrieved") or []]


def recall_at_k(
    record: Mapping[str, Any] | None,
    question: Mapping[str, Any],
    k: int,
    chunk_texts: Mapping[str, str] | None = None,
) -> float | None:
    """Recall@k, defined as success@k: 1.0 if at least one relevant item is in the top k, else 0.0.

    This is the "hit rate" the reference numbers report, not the fraction of relevant items
    retrieved.  Relevance comes from ``relevance(question, chunk_texts)`` (passage ids or gold
    spans); None when the question has no relevance judgement.  A missing record retrieves nothing.

    >>> q = {"relevant": ["p3"]}
    >>> recall_at_k({"retrieved": ["p1", "p3"]}, q, 1), recall_at_k({"retrieved": ["p1", "p3"]}, q, 2)
    (0.0, 1.0)
    >>> recall_at_k({"retrieved": ["c1"]}, {"gold": []}, 5, {}) is None
    True
    """
    _check_k(k)
    is_relevant = relevance(question, chunk_texts)
    if is_relevant is None:
        return None
    return 1.0 if hit_ranks(_retrieved(record)[:k], is_relevant) else 0.0


def mrr_at_k(
    record: Mapping[str, Any] | None,
    question: Mapping[str, Any],
    k: int = 10,
    chunk_texts: Mapping[str, str] | None = None,
) -> float | None:
    """Reciprocal rank of the first relevant item within the top k (0.0 if none); None if unjudged.

    >>> mrr_at_k({"retrieved": ["p1", "p2", "p3"]}, {"relevant": ["p2", "p3"]})
    0.5
    >>> mrr_at_k({"retrieved": ["p1", "p2"]}, {"relevant": ["p2"]}, k=1)
    0.0
    """
    _check_k(k)
    is_relevant = relevance(question, chunk_texts)
    if is_relevant is None:
        return None
    rank = first_relevant_rank(_retrieved(record)[:k], is_relevant)
    return 0.0 if rank is None else 1.0 / rank


def answer_hit_at_k(answers: Sequence[Sequence[str] | str], retrieved_texts: Sequence[str], k: int) -> float | None:
    """1.0 if every required fact occurs in at least one of the top-k texts, else 0.0; None if no facts.

    Each fact is matched per chunk (``fact_in_text``), not across a chunk boundary, so two chunks
    never combine into a spurious match.

    >>> answer_hit_at_k([["九条"], ["专业镇"]], ["9条产业链", "其他", "专业镇"], 3)
    1.0
    >>> answer_hit_at_k([["九条"], ["专业镇"]], ["9条产业链", "其他", "专业镇"], 2)
    0.0
    """
    _check_k(k)
    if not answers:
        return None
    top = [_prep(t) for t in retrieved_texts[:k]]
    for fact in answers:
        forms = [_prep(f) for f in _alternatives(fact)]
        if not any(_matches(f, t) for f in forms for t in top):
            return 0.0
    return 1.0


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


def _answerable_facts(question: Mapping[str, Any]) -> list[Any] | None:
    answers = question.get("answers") or []
    if question.get("unanswerable") or not answers:
        return None
    return list(answers)


def _citation_texts(record: Mapping[str, Any], chunk_texts: Mapping[str, str] | None) -> list[str]:
    texts = []
    for c in record.get("citations") or []:
        text = c.get("text")
        if not text and chunk_texts is not None:
            text = chunk_texts.get(str(c.get("chunk_id")), "")
        texts.append(text or "")
    return texts


def fact_accuracy(question: Mapping[str, Any], record: Mapping[str, Any] | None) -> float | None:
    """Fraction of the required facts found in the answer text; 0.0 if refused or missing.

    None for unanswerable questions and questions without ``answers``.

    >>> q = {"answers": [["9条", "九条"], ["专业镇"]], "unanswerable": False}
    >>> fact_accuracy(q, {"answer": "培育九条产业链", "refused": False}), fact_accuracy(q, {"answer": "", "refused": True})
    (0.5, 0.0)
    """
    facts = _answerable_facts(question)
    if facts is None:
        return None
    if not record or record.get("refused"):
        return 0.0
    found = facts_found(facts, str(record.get("answer") or ""))
    return sum(found) / len(found)


def exact_all_facts(question: Mapping[str, Any], record: Mapping[str, Any] | None) -> float | None:
    """1.0 if every required fact is in the (non-refused) answer, else 0.0; None when not applicable.

    >>> q = {"answers": [["9条"], ["专业镇"]], "unanswerable": False}
    >>> exact_all_facts(q, {"answer": "9条，专业镇", "refused": False}), exact_all_facts(q, {"answer": "9条", "refused": False})
    (1.0, 0.0)
    """
    accuracy = fact_accuracy(question, record)
    return None if accuracy is None else float(accuracy == 1.0)


def citation_support(
    question: Mapping[str, Any],
    record: Mapping[str, Any] | None,
    chunk_texts: Mapping[str, str] | None = None,
) -> float | None:
    """Fraction of required facts occurring in at least one cited passage; 0.0 if refused or missing.

    A citation's ``text`` is used; when empty, ``chunk_texts[chunk_id]`` (if given).  None when not
    applicable (as ``fact_accuracy``).

    >>> q = {"answers": [["24.07亿元"], ["10个"]], "unanswerable": False}
    >>> citation_support(q, {"refused": False, "citations": [{"n": 1, "chunk_id": "c", "text": "签约24.07 亿元"}]})
    0.5
    """
    facts = _answerable_facts(question)
    if facts is None:
        return None
    if not record or record.get("refused"):
        return 0.0
    passages = [_prep(t) for t in _citation_texts(record, chunk_texts)]
    supported = [any(_matches(_prep(f), p) for f in _alternatives(fact) for p in passages) for fact in facts]
    return sum(supported) / len(supported)


#: Units of the figures checked by ``unsupported_figures`` (longest first for the regex).
FIGURE_UNITS: tuple[str, ...] = (
    "个百分点", "亿元", "万元", "万吨", "元", "个", "家", "名", "户", "项", "条", "%", "GW", "MW", "台", "亩", "人", "倍",
)
_FIGURE = re.compile(
    r"(?<![\d.])((?:(?<!\d)-)?\d+(?:\.\d+)?)(万亿|亿|万|千)?(" + "|".join(map(re.escape, FIGURE_UNITS)) + ")",
    re.IGNORECASE,
)


def figures(text: str) -> list[str]:
    """Figures (number + unit from ``FIGURE_UNITS``, optionally with a 万/亿 multiplier) in ``text``.

    Normalised (``normalize_text`` without lowercasing, then ``cn_to_arabic``), de-duplicated, in
    order of first occurrence.  Years (2024年) and bare numbers are not figures.

    >>> figures("签约２４.０７ 亿元，下降−2.6％，提高7.3个百分点，九条，年产56GW，2024年，12万人，1-2个")
    ['24.07亿元', '-2.6%', '7.3个百分点', '9条', '56GW', '12万人', '2个']
    """
    s = _WS.sub("", _FW_POINT.sub(".", text.translate(_FOLD)))
    s = cn_to_arabic(_THOUSANDS.sub("", s))
    found = [f"{num}{mult or ''}{unit.upper() if unit.isascii() else unit}" for num, mult, unit in _FIGURE.findall(s)]
    return list(dict.fromkeys(found))


def unsupported_figures(record: Mapping[str, Any], chunk_texts: Mapping[str, str] | None = None) -> list[str]:
    """Figures of the answer that occur in none of its cited passages (whole-number rule).

    A refused answer has none.  Citation texts as in ``citation_support``.

    >>> unsupported_figures({"answer": "签约24.07亿元，开工47个", "refused": False,
    ...                      "citations": [{"n": 1, "chunk_id": "c", "text": "签约24.07 亿元，开工7个"}]})
    ['47个']
    """
    if record.get("refused"):
        return []
    passages = [_prep(t) for t in _citation_texts(record, chunk_texts)]
    answer = str(record.get("answer") or "")
    bad = [f for f in figures(answer) if not any(_matches(_prep(f), p) for p in passages)]
    return [f for f in bad if not _computed_from(f, answer, [g for g in figures(answer) if g not in bad])]


_MULT = {"万亿": 1e12, "亿": 1e8, "万": 1e4, "千": 1e3, "": 1.0}
_VALUE = re.compile(r"(-?\d+(?:\.\d+)?)(万亿|亿|万|千)?(.*)")


def _value(figure: str) -> tuple[float, str]:
    m = _VALUE.fullmatch(figure)
    return (float(m.group(1)) * _MULT[m.group(2) or ""], m.group(3)) if m else (float("nan"), "")


def _computed_from(figure: str, answer: str, supported: list[str]) -> bool:
    """A figure the answer marks as computed (「= 23.9亿元〔计算〕」) counts as supported when it is the
    sum of the supported figures of its unit, or the difference of two of them.

    >>> _computed_from("23.9亿元", "开工12.12亿元 + 投产11.78亿元 = 23.9亿元〔计算〕", ["12.12亿元", "11.78亿元"])
    True
    >>> _computed_from("30亿元", "开工12.12亿元 + 投产11.78亿元 = 30亿元〔计算〕", ["12.12亿元", "11.78亿元"])
    False
    """
    if f"{figure}〔计算〕" not in _WS.sub("", answer):
        return False
    value, unit = _value(figure)
    plain = _WS.sub("", answer)
    # Every occurrence counts: 「3个 + 3个 + 3个 = 9个」 (``figures`` lists each figure once).
    values = [v for g in supported for v, u in [_value(g)] * max(plain.count(g), 1) if u == unit]
    close = lambda a, b: abs(a - b) <= max(abs(a), abs(b)) * 0.005 + 1e-9  # noqa: E731 - printed rounding
    return len(values) >= 2 and (close(sum(values), value) or any(
        close(abs(a - b), value) for i, a in enumerate(values) for b in values[i + 1:]))


def unsupported_figure_rate(
    records: Iterable[Mapping[str, Any]], chunk_texts: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Share of non-refused answers with at least one unsupported figure, with the counts.

    Returns ``{"rate", "answered", "answers_with_unsupported", "figures", "unsupported_figures"}``;
    ``rate`` is None when nothing was answered.

    >>> r = unsupported_figure_rate([
    ...     {"answer": "共47个", "refused": False, "citations": [{"text": "共7个"}]},
    ...     {"answer": "共7个", "refused": False, "citations": [{"text": "共7个"}]},
    ...     {"answer": "", "refused": True, "citations": []}])
    >>> r["rate"], r["answered"], r["answers_with_unsupported"], r["figures"], r["unsupported_figures"]
    (0.5, 2, 1, 2, 1)
    """
    answered = flagged = n_figures = n_unsupported = 0
    for record in records:
        if record.get("refused"):
            continue
        answered += 1
        n_figures += len(figures(str(record.get("answer") or "")))
        bad = unsupported_figures(record, chunk_texts)
        n_unsupported += len(bad)
        flagged += bool(bad)
    return {
        "rate": flagged / answered if answered else None,
        "answered": answered,
        "answers_with_unsupported": flagged,
        "figures": n_figures,
        "unsupported_figures": n_unsupported,
    }


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------


def refusal_scores(pairs: Iterable[tuple[bool, bool]]) -> dict[str, Any]:
    """Refusal precision / recall / F1 over ``(unanswerable, refused)`` pairs.

    precision = correct refusals / all refusals; recall = correct refusals / all unanswerable;
    F1 their harmonic mean.  A zero denominator gives None (F1 is None if either is None, 0.0 if
    both are 0).  Counts: ``tp`` (refused unanswerable), ``fp`` (refused answerable), ``fn``
    (answered unanswerable), ``tn``, ``n``.

    >>> s = refusal_scores([(True, True), (True, False), (False, True), (False, False)])
    >>> s["precision"], s["recall"], s["f1"], s["tp"], s["fp"], s["fn"], s["tn"]
    (0.5, 0.5, 0.5, 1, 1, 1, 1)
    >>> refusal_scores([(False, False)])["precision"] is None
    True
    """
    tp = fp = fn = tn = 0
    for unanswerable, refused in pairs:
        if refused:
            tp, fp = (tp + 1, fp) if unanswerable else (tp, fp + 1)
        else:
            fn, tn = (fn + 1, tn) if unanswerable else (fn, tn + 1)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "tn": tn, "n": tp + fp + fn + tn}


# ---------------------------------------------------------------------------------------------
# Latency
# ---------------------------------------------------------------------------------------------


def percentiles(values: Iterable[float | None], ps: Sequence[float] = (50, 95)) -> dict[float, float | None]:
    """Nearest-rank percentiles: the value at rank ceil(p/100 * n) of the sorted values (rank >= 1).

    Exact arithmetic (no float rounding on the rank); None values are skipped; an empty input
    gives None for every p.

    >>> percentiles([5, 1, 4, 2, 3], [50, 95]), percentiles(range(1, 21), [95]), percentiles([], [50])
    ({50: 3, 95: 5}, {95: 19}, {50: None})
    """
    data = sorted(v for v in values if v is not None)
    out: dict[float, float | None] = {}
    for p in ps:
        if not 0 <= p <= 100:
            raise ValueError(f"percentile out of range: {p}")
        if not data:
            out[p] = None
            continue
        rank = max(1, math.ceil(Fraction(str(p)) * len(data) / 100))
        out[p] = data[rank - 1]
    return out


def latency_table(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-stage ``{"p50", "p95", "n"}`` over the records' ``timings_ms`` (stages sorted by name).

    >>> latency_table([{"timings_ms": {"retrieve": 10, "total": 30}}, {"timings_ms": {"retrieve": 20}}])
    {'retrieve': {'p50': 10, 'p95': 20, 'n': 2}, 'total': {'p50': 30, 'p95': 30, 'n': 1}}
    """
    stages: dict[str, list[float]] = {}
    for record in records:
        for stage, ms in (record.get("timings_ms") or {}).items():
            if isinstance(ms, int | float) and not isinstance(ms, bool):
                stages.setdefault(str(stage), []).append(ms)
    table = {}
    for stage in sorted(stages):
        p = percentiles(stages[stage], (50, 95))
        table[stage] = {"p50": p[50], "p95": p[95], "n": len(stages[stage])}
    return table


# ---------------------------------------------------------------------------------------------
# Aggregation
# ---------------------------------------------------------------------------------------------


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def _texts(ids: Sequence[str], chunk_texts: Mapping[str, str]) -> list[str]:
    return [chunk_texts.get(i, "") for i in ids]


def aggregate(
    questions: Sequence[Mapping[str, Any]],
    run: Mapping[str, Mapping[str, Any]],
    chunk_texts: Mapping[str, str],
) -> dict[str, Any]:
    """All metrics of a run as one flat dict.

    Keys: counts ``n_questions``, ``n_answerable``, ``n_unanswerable``, ``n_missing_records``,
    ``n_retrieval_judged``; retrieval ``R@1``, ``R@5``, ``R@10`` (success@k), ``MRR@10``,
    ``answer_hit@5``; answers ``fact_accuracy``, ``all_facts_accuracy``, ``citation_support`` (means
    over answerable questions), ``unsupported_figure_rate`` with ``n_answered``,
    ``n_answers_with_unsupported``, ``n_figures``, ``n_unsupported_figures``; refusals
    ``refusal_precision``, ``refusal_recall``, ``refusal_f1``, ``refusal_tp/fp/fn/tn``; latency
    ``latency.<stage>.p50`` / ``.p95`` / ``.n``.  Means skip None and are None when empty.

    A question without a record in ``run`` counts as an empty, non-refused answer that retrieved
    nothing (so it scores 0, and an unanswerable one counts as not refused); records of ids not
    in ``questions`` are ignored.

    >>> qs = [{"id": "a", "question": "几条？", "answers": [["9条"]], "unanswerable": False, "gold": ["九条产业链"]},
    ...       {"id": "b", "question": "天气？", "answers": [], "unanswerable": True, "gold": []}]
    >>> run = {"a": {"id": "a", "retrieved": ["x", "c1"], "answer": "9条", "refused": False,
    ...              "citations": [{"n": 1, "chunk_id": "c1", "text": "九条产业链"}], "timings_ms": {"total": 12}},
    ...        "b": {"id": "b", "retrieved": [], "answer": "", "refused": True, "citations": [], "timings_ms": {"total": 3}}}
    >>> m = aggregate(qs, run, {"x": "无关", "c1": "培育九条产业链"})
    >>> m["R@1"], m["R@5"], m["MRR@10"], m["fact_accuracy"], m["refusal_f1"], m["latency.total.p95"]
    (0.0, 1.0, 0.5, 1.0, 1.0, 12)
    """
    empty: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    records: list[Mapping[str, Any]] = []
    missing = 0
    for q in questions:
        record = run.get(str(q.get("id")))
        if record is None:
            missing += 1
            record = empty
        else:
            records.append(record)
        retrieved = _retrieved(record)
        answerable = _answerable_facts(q)
        rows.append(
            {
                "R@1": recall_at_k(record, q, 1, chunk_texts),
                "R@5": recall_at_k(record, q, 5, chunk_texts),
                "R@10": recall_at_k(record, q, 10, chunk_texts),
                "MRR@10": mrr_at_k(record, q, 10, chunk_texts),
                "answer_hit@5": None if answerable is None else answer_hit_at_k(answerable, _texts(retrieved, chunk_texts), 5),
                "fact_accuracy": fact_accuracy(q, record),
                "all_facts_accuracy": exact_all_facts(q, record),
                "citation_support": citation_support(q, record, chunk_texts),
            }
        )
    out: dict[str, Any] = {
        "n_questions": len(questions),
        "n_answerable": sum(1 for q in questions if not q.get("unanswerable")),
        "n_unanswerable": sum(1 for q in questions if q.get("unanswerable")),
        "n_missing_records": missing,
        "n_retrieval_judged": sum(1 for r in rows if r["R@1"] is not None),
    }
    for key in ("R@1", "R@5", "R@10", "MRR@10", "answer_hit@5", "fact_accuracy", "all_facts_accuracy", "citation_support"):
        out[key] = _mean(r[key] for r in rows)
    figs = unsupported_figure_rate(records, chunk_texts)
    out.update(
        unsupported_figure_rate=figs["rate"],
        n_answered=figs["answered"],
        n_answers_with_unsupported=figs["answers_with_unsupported"],
        n_figures=figs["figures"],
        n_unsupported_figures=figs["unsupported_figures"],
    )
    refusals = refusal_scores(
        (bool(q.get("unanswerable")), bool(run.get(str(q.get("id")), empty).get("refused"))) for q in questions
    )
    out.update(
        refusal_precision=refusals["precision"],
        refusal_recall=refusals["recall"],
        refusal_f1=refusals["f1"],
        refusal_tp=refusals["tp"],
        refusal_fp=refusals["fp"],
        refusal_fn=refusals["fn"],
        refusal_tn=refusals["tn"],
    )
    for stage, cells in latency_table(records).items():
        for name, value in cells.items():
            out[f"latency.{stage}.{name}"] = value
    return out


def _expected(question: Mapping[str, Any]) -> str:
    if question.get("unanswerable"):
        return "<refuse>"
    return "；".join("/".join(_alternatives(fact)) for fact in question.get("answers") or [])


def _sort_id(value: Any) -> tuple[str, str]:
    return (type(value).__name__, str(value))


def per_question(
    questions: Sequence[Mapping[str, Any]],
    run: Mapping[str, Mapping[str, Any]],
    chunk_texts: Mapping[str, str],
) -> list[dict[str, Any]]:
    """One row per question, sorted by id.

    Row keys: ``id``, ``question``, ``unanswerable``, ``expected`` (facts joined by ；, surface forms
    by /, or ``<refuse>``), ``got`` (answer text), ``refused``, ``missing`` (no record),
    ``facts_found`` (list of bools, empty if not applicable), ``fact_accuracy``,
    ``first_relevant_rank`` (over the whole retrieved list; None if no hit or unjudged),
    ``citations`` (cited chunk ids in order), ``unsupported_figures``.

    >>> rows = per_question([{"id": "q2", "question": "?", "answers": [], "unanswerable": True},
    ...                      {"id": "q1", "question": "几条？", "answers": [["9条"], ["专业镇"]], "relevant": ["c1"]}],
    ...                     {"q1": {"retrieved": ["c0", "c1"], "answer": "九条", "refused": False,
    ...                             "citations": [{"n": 1, "chunk_id": "c1", "text": "九条"}]}}, {})
    >>> [(r["id"], r["facts_found"], r["first_relevant_rank"], r["missing"]) for r in rows]
    [('q1', [True, False], 2, False), ('q2', [], None, True)]
    """
    rows = []
    for q in questions:
        record = run.get(str(q.get("id")))
        rec: Mapping[str, Any] = record or {}
        facts = _answerable_facts(q)
        refused = bool(rec.get("refused"))
        found = [] if facts is None else ([False] * len(facts) if refused else facts_found(facts, str(rec.get("answer") or "")))
        is_relevant = relevance(q, chunk_texts)
        rows.append(
            {
                "id": q.get("id"),
                "question": q.get("question", ""),
                "unanswerable": bool(q.get("unanswerable")),
                "expected": _expected(q),
                "got": str(rec.get("answer") or ""),
                "refused": refused,
                "missing": record is None,
                "facts_found": found,
                "fact_accuracy": fact_accuracy(q, record),
                "first_relevant_rank": None if is_relevant is None else first_relevant_rank(_retrieved(rec), is_relevant),
                "citations": [str(c.get("chunk_id")) for c in rec.get("citations") or []],
                "unsupported_figures": unsupported_figures(rec, chunk_texts),
            }
        )
    return sorted(rows, key=lambda r: _sort_id(r["id"]))


def worst_failures(rows: Sequence[Mapping[str, Any]], n: int) -> list[Mapping[str, Any]]:
    """The ``n`` worst rows of ``per_question``.

    First answerable questions with a missing fact or a refusal (lowest ``fact_accuracy`` first),
    then unanswerable questions that were answered; ties by id.  Correct rows never appear.

    >>> rows = [{"id": "u1", "unanswerable": True, "refused": False, "facts_found": [], "fact_accuracy": None},
    ...         {"id": "a2", "unanswerable": False, "refused": False, "facts_found": [True, False], "fact_accuracy": 0.5},
    ...         {"id": "a1", "unanswerable": False, "refused": True, "facts_found": [False], "fact_accuracy": 0.0},
    ...         {"id": "a0", "unanswerable": False, "refused": False, "facts_found": [True], "fact_accuracy": 1.0}]
    >>> [r["id"] for r in worst_failures(rows, 10)], [r["id"] for r in worst_failures(rows, 1)]
    (['a1', 'a2', 'u1'], ['a1'])
    """
    ranked: list[tuple[tuple[Any, ...], Mapping[str, Any]]] = []
    for row in rows:
        if row.get("unanswerable"):
            if not row.get("refused"):
                ranked.append(((1, 0.0, _sort_id(row.get("id"))), row))
        elif row.get("refused") or (row.get("facts_found") and not all(row["facts_found"])):
            accuracy = row.get("fact_accuracy")
            ranked.append(((0, 0.0 if accuracy is None else accuracy, _sort_id(row.get("id"))), row))
    ranked.sort(key=lambda pair: pair[0])
    return [row for _, row in ranked[: max(n, 0)]]
