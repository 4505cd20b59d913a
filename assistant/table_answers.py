"""Questions answered from the figure table rather than from one passage: sums, differences,
comparisons, lists by a threshold, trends, the latest value and the one before it (上一期).

「开工和投产一共投资多少？」 adds the rows of each operand and shows the arithmetic with each
operand cited; 「整车产能和新能源汽车产能相差多少」 subtracts two; 「吕梁和太原哪个签约投资额高？」
states both sides (or which side has no figure, and what the other reports); 「投资5亿元以上的项目」
lists the rows over the threshold; 「…这几期怎么变化的？」 lists one metric of one place in date
order.  An operand or a side is the row whose metric fits the question's words for it best
(``fit``); a question naming no place uses the rows of the passages retrieval found for it.  The
rows come from ``BulletinIndex.figures`` (built with the index); a computed figure is marked
〔计算〕 and ``assistant.verify`` accepts it only when the arithmetic holds over figures of the
cited passages.  The trigger words are data
(``assistant/data/table_words.tsv``).  Nothing here is used unless the question has such a word
and the table has the rows: otherwise the usual answerer answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product

from assistant.features import _question_tokens
from assistant.query import QueryAnalysis
from index.datafiles import read_tsv
from index.figure_table import FigureRow
from index.figures import CN_DIGITS, find_figures, is_year
from index.lexicon import STOPWORDS
from index.store import short_place

COMPUTED = "〔计算〕"
Figures = Callable[..., tuple[list[FigureRow], int]]


@dataclass(frozen=True)
class TableAnswer:
    kind: str  # sum | difference | compare | list | trend | latest | previous
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


# A row answers for the question's metric words when it fits them at least this well: more than
# half of what the words say is in the row's metric and of what the metric says is in the words.
MIN_FIT = 0.5


def fit(metric: str, words: Sequence[str]) -> float:
    """How well a row's metric fits the question's metric words: the F-measure of recall (the
    words' characters found in the metric) and precision (the metric's characters they cover).

    >>> round(fit("实际使用外资金额", ["实际", "使用", "外资"]), 2), round(fit("现代服务业实际使用外资", ["实际", "使用", "外资"]), 2)
    (0.86, 0.71)
    >>> fit("投资", ["重点项目", "完成", "投资"]) < MIN_FIT < fit("完成投资", ["重点项目", "完成", "投资"])
    True
    """
    words = [w for w in words if w]
    if not words or not metric:
        return 0.0
    covered: set[int] = set()
    found = 0
    for w in words:
        spans = _occurrences(w, metric)
        if spans:
            found += len(w)
        for a, b in spans:
            covered.update(range(a, b))
    recall = found / sum(len(w) for w in words)
    precision = len(covered) / len(metric)
    return 2 * precision * recall / (precision + recall) if recall else 0.0


def _occurrences(word: str, metric: str) -> list[tuple[int, int]]:
    """Where ``word`` is in ``metric``: as written, else as an abbreviation of it.  A Chinese short
    form keeps characters of the full one in order (外商投资企业 → 外资企业, 高新技术产业开发区 →
    高新区, 规模以上 → 规上), so a word of two or more characters matches a span holding its
    characters in order, its first and last among them, a few characters longer than the word at
    most (one and a half times it, at least two more): a short form drops little of a metric's name.

    >>> _occurrences("外资企业", "新设立外商投资企业"), _occurrences("投资", "投产项目资金"), _occurrences("签约", "签约项目")
    ([(3, 9)], [], [(0, 2)])
    >>> _occurrences("重点项目", "安排重点建设预备项目总投资"), _occurrences("规上", "规模以上工业")
    ([], [(0, 4)])
    """
    spans = []
    at = metric.find(word)
    while at >= 0:
        spans.append((at, at + len(word)))
        at = metric.find(word, at + 1)
    if spans or len(word) < 2:
        return spans
    limit = len(word) + max(2, len(word) // 2)
    start = metric.find(word[0])
    while start >= 0:
        i, j = start + 1, 1
        while j < len(word) and i < len(metric) and i - start < limit:
            if metric[i] == word[j]:
                j += 1
            i += 1
        if j == len(word):
            return [(start, i)]
        start = metric.find(word[0], start + 1)
    return []


def _matches(row: FigureRow, metric: Sequence[str]) -> bool:
    return fit(row.metric, metric) >= MIN_FIT or all(w in row.metric or w in row.entity for w in metric)


def _fit(metric: str, words: Sequence[str], optional: Sequence[str] = ()) -> float:
    """``fit``, with the ``optional`` words counted where they make the fit better."""
    return max(fit(metric, words), fit(metric, [*words, *optional])) if optional else fit(metric, words)


def _best(rows: Sequence[FigureRow], words: Sequence[str], context: Sequence[str] = (),
          periods: Sequence[str] = (), optional: Sequence[str] = ()) -> list[FigureRow]:
    """The rows fitting ``words`` (and the ``optional`` ones where they fit) best, best first: by fit,
    then a period the question names, then a passage retrieval found for the question, then the
    newest document."""
    scored = [(_fit(r.metric, words, optional), r) for r in rows]
    scored = [(f, r) for f, r in scored if f >= MIN_FIT]

    def key(item: tuple[float, FigureRow]) -> tuple:
        f, r = item
        return (round(f, 3), any(p and p in r.period for p in periods), r.chunk_id in context, r.date)

    return [r for _f, r in sorted(scored, key=key, reverse=True)]


# --- the kinds ----------------------------------------------------------------------------------
def compare(places: Sequence[str], metric: Sequence[str], figures: Figures, ask: str,
            context: Sequence[str] = ()) -> TableAnswer | None:
    if len(places) != 2 or not metric:
        return None
    sides = [(place, _best(figures(place=place, limit=2000)[0], metric, context)[:1]) for place in places]
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


# A sum or difference about a place may take an operand of another entity from the place's own
# retrieved passages.
PASSAGE_OPERANDS = True


def arithmetic(kind: str, place: str, parts: Sequence[Sequence[str]], unit: str, figures: Figures,
               context: Sequence[str] = (), periods: Sequence[str] = (),
               optional: Sequence[Sequence[str]] = ()) -> TableAnswer | None:
    """The sum of the operands, or the difference of two: for each part of the question (its metric
    words), the row fitting it best, all of one unit, preferring operands stated in one passage.

    ``parts``: 「整车产能和新能源汽车产能相差多少」 → [['整车', '产能'], ['新能源汽车', '产能']];
    ``unit``: the unit the question asks in (「多少项」 → 项), "" when it names none."""
    if len(parts) < 2 or (kind == "difference" and len(parts) != 2):
        return None
    pool = _pool(place, figures, context)
    if place and PASSAGE_OPERANDS:
        # 「全省入围…的项目和沈阳高新区入围的项目相差多少」: an operand may be another entity's figure
        # stated in a passage of the place's that retrieval found for the question.
        found = {r.chunk_id for r in pool} & set(context)
        have = {(r.chunk_id, r.start) for r in pool}
        pool += [r for cid in context if cid in found for r in figures(chunk_id=cid, limit=500)[0]
                 if (r.chunk_id, r.start) not in have]
    if unit:
        pool = [r for r in pool if r.unit.endswith(unit) or r.base == unit]
    optional = list(optional) or [[] for _ in parts]
    options = [_best(pool, words, context, periods, extra)[:3] for words, extra in zip(parts, optional, strict=True)]
    if not all(options):
        return None
    best: tuple[float, tuple[FigureRow, ...]] | None = None
    for combo in product(*options):
        if len({(r.chunk_id, r.start) for r in combo}) < len(combo) or len({r.base for r in combo}) != 1:
            continue
        together = sum(a.chunk_id == b.chunk_id for i, a in enumerate(combo) for b in combo[i + 1:])
        score = sum(_fit(r.metric, w, o) for r, w, o in zip(combo, parts, optional, strict=True)) + 0.1 * together
        if best is None or score > best[0]:
            best = (score, combo)
    if best is None:
        return None
    picked = list(best[1])
    ids: list[str] = []
    ns = _cite(picked, ids)
    if kind == "difference":
        # No minus sign between the operands: 「− 108.9亿元」 would read as a negative figure.
        a, b = picked
        hi = max(picked, key=lambda r: r.normalised)
        text = (f"{a.metric}{a.text}[{ns[0]}]，{b.metric}{b.text}[{ns[1]}]；"
                f"两者相差{_fmt(abs(a.normalised - b.normalised), hi)}{COMPUTED}。")
        return TableAnswer("difference", text, picked, ids)
    value = sum(r.normalised for r in picked)
    terms = " + ".join(f"{r.metric}{r.text}[{n}]" for r, n in zip(picked, ns, strict=True))
    return TableAnswer("sum", f"{terms} = {_fmt(value, picked[0])}{COMPUTED}。", picked, ids)


def _pool(place: str, figures: Figures, context: Sequence[str], limit: int = 2000) -> list[FigureRow]:
    """The rows a question may use: the place's, or, when it names none, those of the passages
    retrieval found for it (what the question is about, as the retriever read it)."""
    if place:
        return figures(place=place, limit=limit)[0]
    return [r for cid in context for r in figures(chunk_id=cid, limit=500)[0]]


def _holds(direction: str, bar: float) -> Callable[[float], bool]:
    """The test a row's value meets: ≥, >, < the threshold, or = it (「投资5亿元的项目有哪两个」).

    >>> [_holds(d, 5.0)(5.0) for d in ("at_least", "more", "less", "equal")]
    [True, False, False, True]
    """
    if direction == "equal":
        return lambda v: abs(v - bar) <= abs(bar) * 1e-9
    return {"at_least": lambda v: v >= bar, "more": lambda v: v > bar, "less": lambda v: v < bar}[direction]


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
    ok = _holds(direction, bar.value)
    rows = [r for r in rows if ok(r.normalised)]
    return _listed(rows)


def _listed(rows: Sequence[FigureRow]) -> TableAnswer | None:
    """The rows as a cited list, largest first (None when there are none)."""
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: -r.normalised)
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
           lexicon_words: Callable[[str], list[str]], context: Sequence[str] = ()) -> TableAnswer | None:
    """A table answer when the question asks for one and the table has its rows, else None.

    ``context``: the passages retrieval found for the question, best first; a question naming no
    place is answered from their rows."""
    places = list(dict.fromkeys(analysis.place_names))
    place = places[0] if len(places) == 1 else ""
    metric = _metric_words(question, analysis, lexicon_words)
    periods = [p.text for p in analysis.periods]
    if _has(question, "compare") or _has(question, "difference"):
        if len(places) == 2:
            ask = "lower" if _has(question, "lower") and not _has(question, "higher") else "higher"
            return compare(places, metric, figures, ask, context)
    for kind in ("sum", "difference"):
        trigger = _has(question, kind)
        parsed = _operand_parts(question, trigger, places, periods, lexicon_words) if trigger else None
        if parsed and len(places) <= 1:
            found = arithmetic(kind, place, parsed[0], parsed[1], figures, context, periods, parsed[2])
            if found is not None:
                return found
    direction = next((k for k in ("at_least", "more", "less") if _has(question, k)), "")
    figs = [f for f in find_figures(question) if f.is_quantity and not is_year(f)]
    if not direction and analysis.list_intent:
        # 「投资5亿元的项目有哪两个」: the items of exactly that figure (written in digits, as the
        # table's figures are: not 「三个一批」 or 「哪两个」).
        figs = [f for f in figs if f.text[:1].isdigit()]
        direction = "equal" if figs else ""
    if direction and direction != "equal":  # the threshold is the figure nearest the direction word (not 「第7届」 before it)
        at = question.find(_has(question, direction))
        figs.sort(key=lambda f: min(abs(f.start - at), abs(f.end - at)))
    if direction and figs and (_has(question, "list") or "的" in question):
        head = next((w for w in reversed(metric) if w in question[question.find(figs[0].text):]), "")
        pool = [w for w in metric if w != head] or metric
        # Things named for what the question lists (「列出投资5亿元以上的项目」: projects by their
        # 投资) first; else the rows of the threshold's own clause (「…中，哪些产业的项目超过30个」).
        named = threshold_list(place, pool, figs[0].text, direction, figures, head=head) if head else None
        if named is not None and all(head in r.entity for r in named.rows):
            return named
        clause = _clause_words(question, figs[0].text, direction, lexicon_words, places, periods)
        return (class_list(place, clause, figs[0].text, direction, figures, context) or named
                or threshold_list(place, pool, figs[0].text, direction, figures))
    if _has(question, "trend") and metric:
        return trend(place, metric, figures)
    if _has(question, "previous") and metric:
        return previous(place, metric, figures)
    if _has(question, "latest") and metric:
        return latest(place, metric, figures)
    return None


_QUOTES = "“”\"'‘’「」『』"


def _content_words(text: str, lexicon_words: Callable[[str], list[str]]) -> list[str]:
    """The words of ``text`` that can name a metric (「新能源汽车产能」 → ['新能源汽车', '产能']);
    the text itself when jieba cuts it into single characters (延链)."""
    # A quoted term is a word of the metric (「专精特新“小巨人”企业」: 小巨人), its quotes no part of it.
    found = [w.strip(_QUOTES) for w in lexicon_words(text)]
    out = [w for w in found if len(w) >= 2 and re.match("[\u4e00-\u9fff]", w)
           and not _not_metric(w) and not any(w in x or x in w for k in words().values() for x in k if len(x) > 1)]
    bare = text.strip(" 的，,")
    return out or ([bare] if 2 <= len(bare) <= 6 and re.fullmatch("[\u4e00-\u9fff]+", bare) else [])


# A 的 in the first operand is read as the operands' own modifier (see _operand_parts).
PARALLEL_MODIFIERS = True


def _operand_parts(question: str, trigger: str, places: Sequence[str], periods: Sequence[str],
                   lexicon_words: Callable[[str], list[str]]) -> tuple[list[list[str]], str, list[list[str]]] | None:
    """The operands of 「A和B一共/相差多少」, as metric words each, the unit asked for, and each
    operand's optional words (what stands before the first operand's 的).

    The operands are the clause before the trigger word, split at 和/与/及/、; what follows the
    last 的 of the last operand (「高企和专精特新企业拥有的有效发明专利」) and the words after the
    trigger (「一共总投资多少」) are the metric every operand shares."""
    at = question.find(trigger)
    if at < 0:
        return None
    before, tail = question[:at], question[at + len(trigger):]
    clause = re.split("[，,；;：:。？?]", before)[-1]
    clause = _strip_places(clause, places)
    for p in periods:
        clause = clause.replace(p, "")
    pieces = [p for p in re.split("[和与及、]", clause) if p.strip()]
    if len(pieces) < 2:
        return None
    shared: list[str] = []
    optional: list[str] = []
    own = PARALLEL_MODIFIERS and "的" in pieces[0] and pieces[-1].rsplit("的", 1)[0].strip()
    if "的" in pieces[0] and PARALLEL_MODIFIERS:
        # 「微公交搭载的毫米波雷达和多线激光雷达」「安排的重点建设项目和…」: what stands before the
        # first operand's 的 may modify them all, or the first only (「营业收入的目标」): its words
        # may, not must, be in the first operand's metric.
        modifier, pieces[0] = pieces[0].rsplit("的", 1)
        optional = _content_words(modifier, lexicon_words)
    if "的" in pieces[-1] and not own:
        # 「高企和专精特新企业拥有的有效发明专利」: what follows the last 的 is what both measure;
        # not when each operand has a 的 of its own (「累计引进的产业项目和落地开工的超百亿元项目」).
        pieces[-1], head = pieces[-1].rsplit("的", 1)
        shared += _content_words(head, lexicon_words)
    asked = re.search(r"(?:多少|几)([^\s？?，,。]{0,3})", tail)
    unit = ""
    if asked and asked.group(1):
        probe = [f for f in find_figures("1" + asked.group(1)) if f.unit]
        unit = probe[0].unit if probe else ""
    rest = tail[: asked.start()] if asked else tail
    shared += [w for w in _content_words(rest, lexicon_words) if w not in shared] if rest.strip() else []
    parts = [_content_words(p, lexicon_words) + shared for p in pieces]
    if optional and not parts[0]:
        parts[0], optional = optional, []  # 「营业收入的目标」 with 目标 no metric word: the modifier is all there is
    return (parts, unit, [optional] + [[] for _ in parts[1:]]) if all(parts) else None


def _clause_words(question: str, figure: str, direction: str, lexicon_words: Callable[[str], list[str]],
                  places: Sequence[str] = (), periods: Sequence[str] = ()) -> list[str]:
    """The metric words of the clause holding a list's threshold (「…中，哪些产业的项目超过30个」 →
    ['产业', '项目']), the word right before the threshold last; places and periods are no metric."""
    at = question.find(figure)
    start = max(question.rfind(ch, 0, at) for ch in "，,；;：:") + 1
    end = min([i for i in (question.find(ch, at) for ch in "，,；;？?。") if i >= 0] or [len(question)])
    before, after = question[start:at], question[at + len(figure):end]
    before = _strip_places(before, places)
    for p in periods:
        before = before.replace(p, "")
    word = next((w for w in words().get(direction, ()) if before.endswith(w)), "")
    before = before[: len(before) - len(word)] if word else before
    after_words = _content_words(after, lexicon_words) if after.strip("的有哪些？? ") else []
    return _content_words(before, lexicon_words) + after_words


def class_list(place: str, clause: Sequence[str], figure_text: str, direction: str, figures: Figures,
               context: Sequence[str] = ()) -> TableAnswer | None:
    """「哪些产业的项目超过30个」: the rows of the asked unit over the threshold whose metric holds
    the clause's last word (项目, 增长) and at least half of its words (what the items are of)."""
    found = [f for f in find_figures(figure_text) if f.is_quantity]
    if not found or not clause:
        return None
    bar = found[0]
    ok = _holds(direction, bar.value)
    total_chars = sum(len(w) for w in clause)

    def holds(r: FigureRow) -> bool:
        return clause[-1] in r.metric and sum(len(w) for w in clause if w in r.metric) * 2 >= total_chars

    rows = [r for r in _pool(place, figures, context) if r.base == bar.base and holds(r) and ok(r.normalised)]
    return _listed(rows)


def _strip_places(question: str, places: Sequence[str]) -> str:
    """The question without its places and its quoted names that hold a number (an activity such
    as 「“三个一批”」, whose 三个 is no operand); a quoted word (「“小巨人”企业」) stays.

    >>> _strip_places("吕梁“三个一批”开工项目和专精特新“小巨人”企业", ["吕梁"])
    '开工项目和专精特新“小巨人”企业'
    """
    text = question
    for p in places:
        text = text.replace(p, "").replace(short_place(p), "")
    return re.sub(r"“[^”]*”", lambda m: "" if any(_numeral(ch) for ch in m.group()) else m.group(), text)


def _numeral(ch: str) -> bool:
    return ch.isdigit() or ch in CN_DIGITS or ch in "十百千万"


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
