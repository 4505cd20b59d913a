"""Questions answered from the figure table rather than from one passage: sums, comparisons,
lists by a threshold, trends, the latest value and the one before it (上一期).

「开工和投产一共投资多少？」 adds the rows of each operand and shows the arithmetic with each
operand cited; 「吕梁和太原哪个签约投资额高？」 states both sides (or which side has no figure, and
what the other reports); 「投资5亿元以上的项目」 lists the rows over the threshold; 「…这几期怎么变化的？」
lists one metric of one place in date order.  The rows come from ``BulletinIndex.figures`` (built
with the index); a computed figure is marked 〔计算〕 and ``assistant.verify`` accepts it only when
the arithmetic holds over figures of the cited passages.  The trigger words are data
(``assistant/data/table_words.tsv``).  Nothing here is used unless the question has such a word
and the table has the rows: otherwise the usual answerer answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.features import _question_tokens
from assistant.query import QueryAnalysis
from index.datafiles import read_tsv
from index.figure_table import FigureRow
from index.figures import find_figures
from index.lexicon import STOPWORDS
from index.store import short_place

COMPUTED = "〔计算〕"
Figures = Callable[..., tuple[list[FigureRow], int]]


@dataclass(frozen=True)
class TableAnswer:
    kind: str  # sum | compare | list | trend | latest | previous
    text: str  # with [n] markers, n = 1 + index into ``chunk_ids``
    rows: list[FigureRow]  # the rows shown (for a chart, a CSV, the API)
    chunk_ids: list[str] = field(default_factory=list)  # cited passages, in citation order


@lru_cache(maxsize=1)
def words() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for _section, (kind, word, _prov) in read_tsv("assistant", "data/table_words.tsv", 3):
        out.setdefault(kind, []).append(word)
    return {k: tuple(sorted(v, key=len, reverse=True)) for k, v in out.items()}


def _has(text: str, kind: str) -> str:
    return next((w for w in words().get(kind, ()) if w in text), "")


def _fmt(value: float, like: FigureRow) -> str:
    """A computed value in the unit an operand was printed in (亿元 when it was printed in 亿元).

    >>> _fmt(2.39e9, FigureRow("", "", "", "", "12.12亿", "元", 1.212e9, "元", "money", "", "", 0, 0, "12.12亿元"))
    '23.9亿元'
    """
    m = re.match(r"(-?[\d.]+)(.*)", like.value)
    number = float(m.group(1)) if m else 0.0
    factor = like.normalised / number if number else 1.0
    text = f"{value / factor:.2f}".rstrip("0").rstrip(".")
    return f"{text}{m.group(2) if m else ''}{like.unit}"


def cn_date(iso: str) -> str:
    """2024-05-20 → 2024年5月20日 (how the bulletins print dates; verification does not take it for a figure).

    >>> cn_date("2024-05-20"), cn_date("2024-05"), cn_date("")
    ('2024年5月20日', '2024年5月', '')
    """
    parts = [int(p) for p in iso.split("-") if p.isdigit()]
    return "".join(f"{v}{u}" for v, u in zip(parts, "年月日", strict=False))


def _cite(rows: Sequence[FigureRow], ids: list[str]) -> list[int]:
    out = []
    for r in rows:
        if r.chunk_id not in ids:
            ids.append(r.chunk_id)
        out.append(ids.index(r.chunk_id) + 1)
    return out


def _newest(rows: Sequence[FigureRow]) -> list[FigureRow]:
    """The rows of the newest document among ``rows`` (all of them when undated)."""
    dated = [r.date for r in rows if r.date]
    if not dated:
        return list(rows)
    top = max(dated)
    return [r for r in rows if r.date == top]


def _metric_words(question: str, analysis: QueryAnalysis, lexicon_words: Callable[[str], list[str]]) -> list[str]:
    """The question's words that can name a metric: not places, periods, figures, trigger or
    question words (「吕梁和太原哪个签约投资额高」 → ['签约', '投资额'])."""
    text = question
    for name in analysis.place_names:
        text = text.replace(name, " ")
        text = text.replace(short_place(name), " ")
    for f in find_figures(text):
        text = text.replace(f.text, " ")
    for p in analysis.periods:
        text = text.replace(p.text, " ")
    for kind_words in words().values():
        for w in kind_words:
            if len(w) > 1:
                text = text.replace(w, " ")
    text = re.sub(r"[“”\"'‘’？?！!，,。、：:（）()\s]+", " ", text)
    out = []
    for w in lexicon_words(text):
        w = w.strip()
        if len(w) >= 2 and re.match("[\u4e00-\u9fff]", w) and not _not_metric(w):
            out.append(w)
    return list(dict.fromkeys(out))


def _not_metric(word: str) -> bool:
    """Question words (assistant/data/question_words.tsv) and stopwords (index/data/stopwords.tsv)."""
    return word in _question_tokens() or word in STOPWORDS


def _matches(row: FigureRow, metric: Sequence[str]) -> bool:
    return all(w in row.metric or w in row.entity for w in metric)


# --- the kinds ----------------------------------------------------------------------------------
def compare(places: Sequence[str], metric: Sequence[str], figures: Figures, ask: str) -> TableAnswer | None:
    if len(places) != 2 or not metric:
        return None
    sides = []
    for place in places:
        rows = [r for r in figures(place=place, limit=2000)[0] if _matches(r, metric)]
        sides.append((place, _newest(rows)[:1]))
    if not any(rows for _, rows in sides):
        return None
    ids: list[str] = []
    parts = []
    for place, rows in sides:
        if rows:
            n = _cite(rows, ids)[0]
            parts.append(f"{place}{rows[0].metric}{rows[0].text}[{n}]")
    missing = [place for place, rows in sides if not rows]
    shown = [r for _, rows in sides for r in rows]
    if missing:
        text = "；".join(parts) + f"；简报中未找到{missing[0]}的{''.join(metric)}，无法比较"
        return TableAnswer("compare", text + "。", shown, ids)
    a, b = (rows[0] for _, rows in sides)
    if a.base != b.base:
        return TableAnswer("compare", "；".join(parts) + "；两者单位不同，无法直接比较。", shown, ids)
    diff = abs(a.normalised - b.normalised)
    if a.normalised == b.normalised:
        verdict = "两者相同"
    else:
        hi, lo = (sides[0][0], sides[1][0]) if a.normalised > b.normalised else (sides[1][0], sides[0][0])
        verdict = f"{hi}高于{lo}" if ask != "lower" else f"{lo}低于{hi}"
    text = "；".join(parts) + f"；{verdict}，相差{_fmt(diff, a)}{COMPUTED}。"
    return TableAnswer("compare", text, shown, ids)


def total(place: str, operands: Sequence[str], head: str, figures: Figures) -> TableAnswer | None:
    if len(operands) < 2 or not head:
        return None
    picked = []
    for op in operands:
        rows = [r for r in figures(place=place, limit=2000)[0] if op in r.metric and head in r.metric]
        rows = _newest(rows)
        if not rows:
            return None
        picked.append(rows[0])
    if len({r.base for r in picked}) != 1:
        return None
    ids: list[str] = []
    ns = _cite(picked, ids)
    value = sum(r.normalised for r in picked)
    terms = " + ".join(f"{r.metric}{r.text}[{n}]" for r, n in zip(picked, ns, strict=True))
    return TableAnswer("sum", f"{terms} = {_fmt(value, picked[0])}{COMPUTED}。", picked, ids)


def threshold_list(place: str, metric: Sequence[str], figure_text: str, direction: str, figures: Figures,
                   head: str = "") -> TableAnswer | None:
    found = [f for f in find_figures(figure_text) if f.is_quantity]
    if not found or not metric:
        return None
    bar = found[0]
    rows = [r for r in figures(place=place, limit=5000)[0] if _matches(r, metric) and r.base == bar.base]
    if head:  # 「…的项目」: the items are what the question lists, not the totals of a city
        named = [r for r in rows if head in r.entity]
        rows = named or rows
    ok = {"at_least": lambda v: v >= bar.value, "more": lambda v: v > bar.value,
          "less": lambda v: v < bar.value}[direction]
    rows = [r for r in rows if ok(r.normalised)]
    if not rows:
        return None
    rows.sort(key=lambda r: -r.normalised)
    ids: list[str] = []
    ns = _cite(rows, ids)
    items = "；".join(f"{r.entity}（{r.metric}{r.text}）[{n}]" for r, n in zip(rows, ns, strict=True))
    return TableAnswer("list", f"{items}。", rows, ids)


def trend(place: str, metric: Sequence[str], figures: Figures) -> TableAnswer | None:
    rows = [r for r in figures(place=place, limit=5000)[0] if _matches(r, metric)]
    by_date: dict[str, FigureRow] = {}
    for r in rows:
        if r.date and r.date not in by_date:
            by_date[r.date] = r
    if len(by_date) < 2:
        return None
    series = [by_date[d] for d in sorted(by_date)]
    ids: list[str] = []
    ns = _cite(series, ids)
    text = "；".join(f"{cn_date(r.date)}：{r.metric}{r.text}[{n}]" for r, n in zip(series, ns, strict=True))
    return TableAnswer("trend", text + "。", series, ids)


def _dated(place: str, metric: Sequence[str], figures: Figures) -> list[FigureRow]:
    """The place's rows of the metric that carry their document's date."""
    return [r for r in figures(place=place, limit=5000)[0] if _matches(r, metric) and r.date]


def latest(place: str, metric: Sequence[str], figures: Figures) -> TableAnswer | None:
    rows = _dated(place, metric, figures)
    if not rows:
        return None
    newest = _newest(rows)[0]
    older = [r for r in rows if r.date < newest.date and r.normalised != newest.normalised]
    ids: list[str] = []
    n = _cite([newest], ids)[0]
    text = f"最新一期（{cn_date(newest.date)}）：{newest.entity}{newest.metric}{newest.text}[{n}]"
    shown = [newest]
    if older:
        prev = max(older, key=lambda r: r.date)
        m = _cite([prev], ids)[0]
        text += f"；较早的{cn_date(prev.date)}一期为{prev.text}[{m}]，以最新一期为准"
        shown.append(prev)
    return TableAnswer("latest", text + "。", shown, ids)


def previous(place: str, metric: Sequence[str], figures: Figures) -> TableAnswer | None:
    """「上一期…」: the value of the document before the newest one that states the metric, with the
    newest named beside it (what 上一期 is before)."""
    rows = _dated(place, metric, figures)
    dates = sorted({r.date for r in rows}, reverse=True)
    if len(dates) < 2:
        return None
    prev = next(r for r in rows if r.date == dates[1])
    newest = next(r for r in rows if r.date == dates[0])
    ids: list[str] = []
    n, m = _cite([prev, newest], ids)
    text = (f"上一期（{cn_date(prev.date)}）：{prev.entity}{prev.metric}{prev.text}[{n}]；"
            f"最新一期（{cn_date(newest.date)}）为{newest.text}[{m}]")
    return TableAnswer("previous", text + "。", [prev, newest], ids)


# --- dispatch -------------------------------------------------------------------------------------
def answer(question: str, analysis: QueryAnalysis, figures: Figures,
           lexicon_words: Callable[[str], list[str]]) -> TableAnswer | None:
    """A table answer when the question asks for one and the table has its rows, else None."""
    places = list(dict.fromkeys(analysis.place_names))
    place = places[0] if len(places) == 1 else ""
    metric = _metric_words(question, analysis, lexicon_words)
    if _has(question, "compare") or _has(question, "difference"):
        if len(places) == 2:
            ask = "lower" if _has(question, "lower") and not _has(question, "higher") else "higher"
            return compare(places, metric, figures, ask)
    if _has(question, "sum") and len(places) <= 1:
        parts = [p for p in re.split("[和与及、]", _strip_places(question, places)) if p.strip()]
        if len(parts) >= 2:
            tokens = [lexicon_words(p) for p in parts]
            head_words = [w for w in tokens[-1] if len(w) >= 2 and not _not_metric(w)
                          and not any(w in x for x in words().get("sum", ()))]
            # An operand is the first word of its part (开工, 投产), or the whole part when jieba cuts
            # it into single characters (延链).
            operands = [next((w for w in t if len(w) >= 2), p.strip() if len(p.strip()) <= 4 else "")
                        for t, p in zip(tokens, parts, strict=True)]
            if all(operands):
                # The head is the question's word every operand's row shares (投资 of 开工项目总投资).
                for head in (w for w in reversed(head_words) if w not in operands):
                    found = total(place, operands, head, figures)
                    if found is not None:
                        return found
    direction = next((k for k in ("at_least", "more", "less") if _has(question, k)), "")
    figs = [f for f in find_figures(question) if f.is_quantity]
    if direction and figs and (_has(question, "list") or "的" in question):
        head = next((w for w in reversed(metric) if w in question[question.find(figs[0].text):]), "")
        pool = [w for w in metric if w != head] or metric
        return threshold_list(place, pool, figs[0].text, direction, figures, head=head)
    if _has(question, "trend") and metric:
        return trend(place, metric, figures)
    if _has(question, "previous") and metric:
        return previous(place, metric, figures)
    if _has(question, "latest") and metric:
        return latest(place, metric, figures)
    return None


def _strip_places(question: str, places: Sequence[str]) -> str:
    text = question
    for p in places:
        text = text.replace(p, "").replace(short_place(p), "")
    return re.sub(r"“[^”]*”", "", text)


# --- one figure, two documents -------------------------------------------------------------------
@dataclass(frozen=True)
class Conflict:
    """Another document states the same metric of the same entity with another value."""

    note: str  # with the marker ``{n}`` where the other passage's citation number goes
    chunk_id: str  # the other passage
    row: FigureRow


def conflicting(answer_text: str, cited_chunk_ids: Sequence[str], figures: Figures) -> Conflict | None:
    """For the figures an answer quotes: a newer document giving another value (the answer then
    says the newer one is current), or, when the answer quotes the newest, an older one that
    differs.  Same entity and the same metric, written alike, in another document."""
    for chunk_id in cited_chunk_ids:
        for row in _rows_of_chunk(chunk_id, figures):
            if row.text not in answer_text or not row.metric or not row.entity:
                continue
            # An exact metric: an indexed lookup, not a scan (this runs after every passage answer).
            same = [r for r in figures(metric_exact=row.metric, limit=2000)[0]
                    if short_place(r.entity) == short_place(row.entity)
                    and r.source != row.source and r.date and r.normalised != row.normalised]
            if not same or not row.date:
                continue
            newer = [r for r in same if r.date > row.date]
            if newer:
                top = max(newer, key=lambda r: r.date)
                return Conflict(f"较新的{cn_date(top.date)}一期为{top.text}{{n}}，以该期为准", top.chunk_id, top)
            older = max((r for r in same if r.date < row.date), key=lambda r: r.date, default=None)
            if older is not None:
                return Conflict(f"（此为最新一期；{cn_date(older.date)}一期为{older.text}{{n}}）", older.chunk_id, older)
    return None


def _rows_of_chunk(chunk_id: str, figures: Figures) -> list[FigureRow]:
    rows, _ = figures(chunk_id=chunk_id, limit=500)
    return rows
