"""The figure table: every quantity a passage states, as a row (entity, metric, value, unit, period).

Built with the index, in the catalog's commit transaction (``index.catalog``), so the rows always
match the committed chunks.  Figures come from the one figure parser (``index.figures``), periods
from the one time parser (``index.periods``), places from the gazetteer; the words that sit between
a metric and its figure are data (``index/data/metric_words.tsv``).

A row's metric is the phrase right before the figure in its clause, without the linking verb
(完成, 达到…), the period, the place and the zone that open it; a change (同比增长5%) takes the
metric of the figure before it in the sentence.  The entity is the nearest place or zone named
before the figure in its sentence, else earlier in the passage, else the article's city.

>>> rows = figure_rows("一季度，全市8个工业类开发区规上工业增加值完成162.33亿元，同比增长-2.6%。", city="吕梁市")
>>> [(r.entity, r.metric, r.value, r.unit, r.period) for r in rows]
[('吕梁市', '工业类开发区', '8', '个', '一季度'), ('吕梁市', '规上工业增加值', '162.33亿', '元', '一季度'), ('吕梁市', '规上工业增加值同比增长', '-2.6', '%', '一季度')]
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache

from index.cleaning import is_cjk
from index.datafiles import read_tsv
from index.figures import Figure, find_figures, is_year
from index.gazetteer import gazetteer, place_words
from index.lexicon import ZONE_SUFFIXES, in_dictionary
from index.periods import dateline_word, find_periods, is_dateline, sets_off

# Bump when the rows a text gives change: the builder re-extracts every chunk on a mismatch.
FIGURE_EXTRACTOR = "figures/28"

_SENTENCE_END = "。！？!?；;\n■"  # ■ ends a headline's item
_PERIOD_SCOPE_END = "。！？!?\n■"
_CLAUSE_END = "，,：:、（(）)“”\"《》 \t"


@dataclass(frozen=True)
class FigureRow:
    chunk_id: str
    source: str
    entity: str  # place or zone the figure is about: 吕梁市, 眉县经开区
    metric: str  # what it measures, as written: 签约投资额, 规上工业增加值同比增长
    value: str  # number and multiplier as printed: 24.07亿
    unit: str  # 元, %, 个, GW … ("" for a bare number)
    normalised: float  # value × multiplier × unit factor, in ``base``
    base: str  # 元, %, 千瓦 …
    kind: str  # money, percent, count, power …
    period: str  # the period the sentence states for it: 2024年一季度, 上半年 ("" when none)
    date: str  # the document's date (ISO), for periods relative to it and for ordering
    start: int  # offsets of the figure in the chunk's text
    end: int
    text: str  # the figure as printed: 24.07亿元

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Words:
    link: tuple[str, ...]
    prefix: tuple[str, ...]
    inner: tuple[str, ...]
    growth: frozenset[str]
    generic: frozenset[str]
    approx: tuple[str, ...]
    name_units: frozenset[str]
    rank_units: frozenset[str]
    anaphors: tuple[str, ...] = ()
    after_unit: tuple[str, ...] = ()
    nation: tuple[str, ...] = ()
    discourse: frozenset[str] = frozenset()
    rank_markers: frozenset[str] = frozenset()
    rank_verbs: frozenset[str] = frozenset()
    nation_subject: frozenset[str] = frozenset()
    relation: frozenset[str] = frozenset()
    relation_adverb: frozenset[str] = frozenset()
    verbal_measure: frozenset[str] = frozenset()
    nation_name: str = ""  # the [nation] word rows give the whole country (the file's first: 全国)
    bound: frozenset[str] = frozenset()  # [over], [under] and [about]: 超, 近, 约 …
    inclusion_end: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def _words() -> _Words:
    rows = read_tsv("index", "data/metric_words.tsv", 2)
    by = {s: [w for sec, (w, _p) in rows if sec == s] for s in ("link", "prefix", "inner", "growth", "generic", "approx",
                                                            "name_unit", "rank_unit", "anaphor", "after_unit", "nation",
                                                            "discourse", "rank_marker", "rank_verb", "nation_subject", "relation", "relation_adverb",
                                                            "verbal_measure", "over", "under", "about", "inclusion_end")}
    longest = lambda ws: tuple(sorted(ws, key=len, reverse=True))  # noqa: E731 - longest match first
    return _Words(longest(by["link"]), longest(by["prefix"]), longest(by["inner"]), frozenset(by["growth"]),
                  frozenset(by["generic"]), longest(by["approx"]),
                  frozenset(by["name_unit"]), frozenset(by["rank_unit"]), longest(by["anaphor"]), longest(by["after_unit"]),
                  longest(by["nation"]), frozenset(by["discourse"]), frozenset(by["rank_marker"]),
                  frozenset(by["rank_verb"]), frozenset(by["nation_subject"]), frozenset(by["relation"]),
                  frozenset(by["relation_adverb"]), frozenset(by["verbal_measure"]),
                  next(iter(by["nation"]), ""), frozenset(by["over"] + by["under"] + by["about"]),
                  longest(by["inclusion_end"]))


def anaphors() -> tuple[str, ...]:
    """Words that stand for the place a report is about (全市, 该区: ``metric_words.tsv`` [anaphor])."""
    return _words().anaphors


def is_rank(text: str, f: Figure) -> bool:
    """Is figure ``f`` of ``text`` a rank: 「第5位」「前100名」, a 名/位 right after 居/列 (「位列22名」) or in
    brackets (「（21位）」)?

    >>> [is_rank(t, find_figures(t)[0]) for t in ("位列22名", "排名第5位", "（21位）", "学生1000余名")]
    [True, True, True, False]
    """
    w = _words()
    if f.ordinal:
        return True
    if f.unit not in w.rank_units:
        return False
    before, after = text[max(f.start - 1, 0) : f.start], text[f.end : f.end + 1]
    return before in w.rank_markers or before in w.rank_verbs or (before in "（(" and after in "）)")


def _tabled(f: Figure, text: str = "") -> bool:
    """A quantity worth a row: not a year, a calendar date, a rank or a bare number, and written in
    Arabic digits, as statistics are (GB/T 15835-2011 §4.1): 「三大计划」「二期」「百亿级」 name things.
    Units of a name or a rank (「500强」「5A级」), and 名/位 after 前 or in brackets (「进入前100名」
    「（21位）」), are no amounts."""
    if not (f.is_quantity and not is_year(f) and not f.ordinal and f.kind not in ("time", "date")
            and f.text[:1] in "-+0123456789."):
        return False
    if f.unit in _words().name_units:
        return False
    if f.unit in _words().rank_units and text:
        before, after = text[max(f.start - 1, 0) : f.start], text[f.end : f.end + 1]
        if before in _words().rank_markers or (before in "（(" and after in "）)"):
            return False
    return True


def _strip(metric: str) -> str:
    w = _words()
    changed = True
    while changed and metric:
        changed = False
        metric = metric.strip(" 　\t“”\"'‘’《》()（）·-—")
        for p in w.prefix:
            if metric.startswith(p) and len(metric) > len(p) and _first_word(metric) == p:
                metric, changed = metric[len(p):], True  # at a word boundary: 有效 is no 有 + 效
                break
        for link in w.link:
            if metric.endswith(link):
                metric, changed = metric[: -len(link)], True
                break
        if metric.endswith("的"):
            metric, changed = metric[:-1], True
    return metric


def _tagged_words(phrase: str) -> list[tuple[str, str]]:
    from index.lexicon import Lexicon

    return Lexicon.empty().tagged(phrase)


def _words_of(phrase: str) -> list[str]:
    return [w for w, _flag in _tagged_words(phrase)]


def _first_word(phrase: str) -> str:
    return next(iter(_words_of(phrase)), "")


def _metric(text: str, f: Figure, clause_start: int, places: list[tuple[int, int, str]]) -> str:
    """The phrase before the figure in its clause, without period, place, zone and link words."""
    raw = text[clause_start : f.start]
    # Periods (a comparison's base too: 「比上年同期增长」) and places inside the phrase belong to other columns.
    # Blanked to the same length, so the places' offsets still point into ``raw``.
    for p in sorted(find_periods(raw, bases=True), key=lambda p: -p.start):
        raw = raw[: p.start] + " " * (p.end - p.start) + raw[p.end :]
    for s, e, _name in sorted(_outermost(places), key=lambda t: -t[0]):
        if clause_start <= s and e <= f.start:
            raw = raw[: s - clause_start] + " " * (e - s) + raw[e - clause_start :]
    if EVENTS:  # 「第六届进博会企业商业展签约展览面积」: the event is what the figure is about, not its metric
        raw = _EVENT_RE.sub(lambda m: " " * len(m.group()), raw)
    raw = raw.split(" ")[-1] if raw.strip() else ""
    for zone in ZONE_SUFFIXES:  # 「工业类开发区规上工业增加值」: what follows the zone is the metric
        at = raw.rfind(zone)
        if at >= 0 and at + len(zone) < len(raw):
            raw = raw[at + len(zone):]
            break
    raw = _strip(raw)
    for verb in _words().inner:  # 「大会共签约项目」: the metric starts after the verb
        at = raw.rfind(verb)
        if at >= 0 and len(raw) - at - len(verb) >= 2:
            rest = raw[at + len(verb):]
            # 「重点项目完成投资」: a verb before one word is part of the metric (完成投资), as its
            # last word alone (投资) would name another figure.
            raw = raw[at:] if len(_words_of(rest)) == 1 else rest
            break
    return _strip(_unrelated(raw))


def _unrelated(phrase: str) -> str:
    """A metric phrase without the relation it states (``metric_words.tsv`` [relation]): what stands
    before the relation verb, or what follows it when it opens the phrase.

    >>> _unrelated("项目主要涉及生物医药"), _unrelated("包含制造业"), _unrelated("签约投资额")
    ('项目', '制造业', '签约投资额')
    """
    words = _words_of(phrase)
    at = next((i for i, w in enumerate(words) if w in _words().relation), None)
    if at is None:
        return phrase
    if len(words) == 1:
        return ""  # 「来自」 alone names nothing
    before_words = words[:at]
    while before_words and before_words[-1] in _words().relation_adverb:
        before_words = before_words[:-1]  # 「项目主要涉及…」: the adverb goes with the relation
    before, after = _strip("".join(before_words)), "".join(words[at + 1 :])
    return before if len(before) >= 2 else after if len(after) >= 2 else phrase


# 「世界500强和行业龙头企业」: names joined by 和 count as one class.
COORDINATED_NAMES = True
_COORDINATORS = frozenset({"和", "与", "及"})
MAX_PREDICATE_CHARS = 10
# A 「全区」 with no district in its passage refers to the one its article named before.
EARLIER_REFERENT = True
# 「9个超百亿元项目」: a bound ([over], [under], [about]) and an amount open the counted noun's name.
BOUNDED_CLASS = True
# Verbs after the nouns of a named class (超百亿元项目, 世界500强企业), with no noun after them, are
# its predicate, not its name; after one bare noun they say which are counted (「24个项目入围」).
PREDICATE_AFTER_NOUN = True
# A count of actions (动量词: 次, 场 …) counts the clause after it.
VERBAL_MEASURES = True
MAX_ACTION_CHARS = 16
MAX_QUOTED_CHARS = 8


# jieba tags a word by its dictionary entry, whatever it does in the sentence: 扎根 is ns and
# 落地 n, so 「7家世界500强企业扎根于此」 counted 「世界500强企业扎根」.  LAC reads the word in its
# sentence; where it calls a word jieba also cut a verb (v), a verb used as a noun (vn,
# 「科技创新」) or an adverbial (ad, 「集中签约」), the word is one.
VERBS_IN_CONTEXT = True


def _in_context(text: str, tokens: list[tuple[str, str]], spans: list[tuple[int, int]]) -> list[tuple[str, str]]:
    """jieba's words of a piece of ``text`` (pieces start at ``spans``), with LAC's verbs."""
    if not VERBS_IN_CONTEXT or not any(f[:1] in "nv" for _w, f in tokens):
        return tokens
    from index.ner import tagged

    verbal = {(at, at + len(w)): f for w, f, at in tagged(text) if f in ("v", "vn", "ad")}
    out, pos = [], 0
    for word, flag in tokens:
        base = next(t - a for a, t in reversed(spans) if a <= pos)
        if flag[:1] in "nv":
            flag = verbal.get((base + pos, base + pos + len(word)), flag)
        out.append((word, flag))
        pos += len(word)
    return out


# 「500多家包括专精特新企业在内的中小企业」 counts 中小企业.
INCLUSIONS = True
MAX_INCLUDED_CHARS = 20


def _after_inclusion(text: str, at: int) -> int:
    """Past an inclusion that opens right at ``at`` (a [relation] verb … an [inclusion_end] word),
    else ``at``.

    >>> t = "500多家包括专精特新企业在内的中小企业首次参展"
    >>> t[_after_inclusion(t, 5):]
    '中小企业首次参展'
    """
    w = _words()
    if not any(text.startswith(r, at) for r in w.relation):
        return at
    end = _clause_end(text, at)
    for close in w.inclusion_end:
        found = text.find(close, at, min(end, at + MAX_INCLUDED_CHARS + len(close)))
        if found > at:
            return found + len(close)
    return at


def _next_word(tokens: list[tuple[str, str]], i: int) -> str:
    return tokens[i + 1][0] if i + 1 < len(tokens) else ""


def _noun_after(text: str, f: Figure) -> str:
    """「47户未复工复产企业」「20亿元科技创新、」「7项区域评估已完成」: the noun run right after the
    figure names what it counts or funds (jieba's parts of speech: nouns, and verbs inside the run
    once it has started with a negation or noun; it ends at an adverb, preposition, conjunction,
    particle, pronoun or number).  Empty when a delimiter follows the figure."""
    from index.lexicon import Lexicon

    at = f.end
    for w in _words().approx + _words().after_unit:
        if text.startswith(w, at):
            at += len(w)
    if INCLUSIONS:
        at = _after_inclusion(text, at)
    lead = ""
    if text[at : at + 1] == "“":
        # 「新培育3家“百亿”人力资源服务机构」: a quoted name opens the run.
        close = text.find("”", at + 1, at + MAX_QUOTED_CHARS + 2)
        if close > at + 1:
            lead, at = text[at + 1 : close], close + 1
    end = _clause_end(text, at)
    inserts: list[tuple[int, str]] = []  # (offset into ``after``, bracket): 「村（居）民」 is tagged as 村民
    after = text[at:end]
    spans = [(0, at)]  # (offset into ``after``, offset into ``text``) where each piece of ``after`` starts
    while INLINE_BRACKETS and (close := _inline_close(text, end)):
        inserts.append((len(after), text[end:close]))
        end = _clause_end(text, close)
        spans.append((len(after), close))
        after += text[close:end]
    if not lead and (not after or not ("\u4e00" <= after[0] <= "\u9fff")):
        return ""
    if VERBAL_MEASURES and f.unit in _words().verbal_measure and not inserts and 2 <= len(after) <= MAX_ACTION_CHARS:
        return after  # 「20余次协同调处困难问题」: a count of actions counts the clause after it
    tokens = _in_context(text, Lexicon.empty().tagged(after), spans) if after else []
    run: list[str] = [lead] if lead else []
    flags: list[str] = ["nz"] if lead else []
    stop = len(tokens)
    coordinated = False
    skip = 0
    if (BOUNDED_CLASS and not run and len(tokens) >= 3 and tokens[0][0] in _words().bound
            and tokens[1][1][:1] == "m" and tokens[2][1][:1] == "n"):
        # 「9个超百亿元项目」: a bound and an amount before a noun name a class of it.
        run, flags, skip = [tokens[0][0] + tokens[1][0]], ["nz"], 2
    for i, (word, flag) in enumerate(tokens):
        if i < skip:
            continue
        stop = i
        head = flag[:1]
        cjk = "\u4e00" <= word[0] <= "\u9fff"
        nxt = tokens[i + 1][1][:1] if i + 1 < len(tokens) else ""
        if not run and head == "d":
            run.append(word)  # 「未复工复产企业」: a negation opens the run
            flags.append(flag)
            continue
        named = run and word.isdigit() and _next_word(tokens, i) in _words().name_units
        if run and word in _COORDINATORS and nxt == "n" and COORDINATED_NAMES:
            run.append(word)  # 「20家世界500强和行业龙头企业」: one class of two names
            flags.append(flag)
            coordinated = True
            continue
        if coordinated and head == "v":
            break  # 「587家金融和类金融机构落地…」: the joined names are nouns; a verb is what they do
        if head == "a" and run and nxt == "m":
            break  # 「200家企业连续6年签约」: an adverbial of what follows
        if (word in _words().inner or word in _words().link or word in _words().discourse
                or (run and word in _words().relation) or (not cjk and not named)):
            break  # a number inside a name goes on (「世界500强企业」); others end the run
        if head == "v" and flag != "vn":
            # A verb belongs to the name when a noun or the clause's end follows it (复工复产企业,
            # 科技创新、); otherwise it is what the thing does (「大基地加快投产」).
            # A verb opens the run before a noun (「11项保障措施」「10个开工项目」).
            if nxt not in ("n", "v", "") or (not run and nxt != "n"):
                break
            if (PREDICATE_AFTER_NOUN and any(g[:1] == "n" or g == "j" for g in flags)
                    and sum(len(w) for w, g in zip(run, flags, strict=True) if g[:1] == "n" or g in ("vn", "j")) >= 3
                    and not any(g[:1] == "n" for _w, g in tokens[i + 1 :])):
                while len(run) > 1 and flags[-1] in ("d", "ad", "a", "m"):
                    run, flags = run[:-1], flags[:-1]  # 「14家外资公司正式开工投产」「首次签约」: the adverbial goes with the verb
                break  # 「9个超百亿元项目落地开工」: verbs after the noun, to the clause's end, say what it does
        elif named or (run and word in _words().name_units):
            pass
        elif head in ("q", "m") and run:
            pass  # 「工业类开发区」
        elif head in ("d", "a") and run and nxt in ("n", "j"):
            pass  # 「专精特新企业」: jieba tags 特新 an adverb; the run goes on to the noun after it
        elif head in ("d", "p", "c", "u", "r", "m", "q", "w"):
            break
        run.append(word)
        flags.append(flag)
        stop = i + 1
    if len(run) > 1 and flags[-1] == "f" and run[-1] == "中":
        run, flags = run[:-1], flags[:-1]  # 「44家企业中，16家…」: 中 places the next figure among them
    if stop < len(tokens) and tokens[stop][0] in _words().relation:
        while len(run) > 1 and run[-1] in _words().relation_adverb:
            run, flags = run[:-1], flags[:-1]  # 「77个项目主要涉及…」: the adverb goes with the relation
    phrase = "".join(run)
    for offset, bracket in reversed(inserts):
        if offset < len(phrase) - len(lead):  # inside the run: the bracket is part of its name
            phrase = phrase[: len(lead) + offset] + bracket + phrase[len(lead) + offset :]
    rest = tokens[stop:]
    if (len(run) == 1 and rest and rest[0][1][:1] == "p" and rest[-1][1][:1] == "v"
            and len("".join(w for w, _ in rest)) <= MAX_PREDICATE_CHARS):
        # 「4家企业在国赛中获奖」: one bare noun (企业) names no metric; the short predicate after it,
        # opened by a preposition and closing the clause, says which of them are counted.
        phrase += "".join(w for w, _ in rest)
    for zone in ZONE_SUFFIXES:  # 「8个工业类开发区规上工业增加值…」: the counted things end with the zone word
        at = phrase.find(zone)
        if at >= 0:
            phrase = phrase[: at + len(zone)]
            break
    return phrase if len(phrase) >= 2 and any(f[:1] != "d" for f in flags) else ""


def figure_rows(text: str, chunk_id: str = "", source: str = "", city: str = "", date: str = "",
                subject: str = "", earlier: Sequence[tuple[str, frozenset[str]]] = ()) -> list[FigureRow]:
    """The rows of one passage's text (see the module's example).  ``subject``: the zone the
    article's title names, the entity before the city where the passage names none; ``earlier``:
    the places the article names before the passage (``named_places``), in order."""
    # 「5000万元以上项目1922个」: a figure before 以上/以下 and a noun names a class of things (the
    # metric of the figure after it), not an amount.
    figures = [f for f in find_figures(text) if _tabled(f, text) and not _threshold(text, f)]
    if not figures:
        return []
    g = gazetteer()
    mentions = g.find(text)
    places = [(m.start, m.end, m.surface) for m in mentions if not names_outlet(text, m.end)]
    # The official names a surface may stand for (上海 → 上海市), for 「全市」「全省」 (see _referent).
    official = {m.surface: {g.place(c).name for c in m.codes} for m in mentions}
    places += _enterprises(text, places)  # after a division's name only: a company is named after one, not a zone
    places += _zones(text)
    places += _nation(text)
    places = _compounds(places)
    # A news dateline (「7月28日电」「8月1日讯」) dates the report, not the figures after it (the base
    # of a comparison, 「比上年同期」, is no period to find_periods).
    periods = [p for p in find_periods(text) if not is_dateline(text, p.end)]
    topics = [p for p in periods if sets_off(text, p)]
    growth = _words().growth
    rows: list[FigureRow] = []
    previous: dict[int, str] = {}  # sentence start → metric of the figure before
    counted: dict[int, tuple[str, int]] = {}  # sentence start → (metric, clause end) of the count before
    prev_end_by_sentence: dict[int, int] = {}
    for f in figures:
        s_start = max(text.rfind(ch, 0, f.start) for ch in _SENTENCE_END) + 1
        # A period opening a sentence holds over its clauses after 「；」 too (「今年上半年，货物吞吐量…；
        # 集装箱吞吐量…同比增长127%」).
        p_start = max(text.rfind(ch, 0, f.start) for ch in _PERIOD_SCOPE_END) + 1
        c_start = max(_clause_start(text, f.start), s_start, prev_end_by_sentence.get(s_start, s_start))
        if _quoted(text, f.start):
            continue  # 「“12大基地”」「“1+5”政策体系」: a figure inside a name
        metric = _noun_after(text, f) or _metric(text, f, c_start, places)
        if (not metric or metric in growth) and previous.get(s_start):
            metric = previous[s_start] + (metric if metric in growth else "")
        owner, owner_end = counted.get(s_start, ("", 0))
        adjacent = owner and not text[owner_end:c_start].strip("，,、 ")  # the count's clause is the one before
        of_count = metric in _words().generic or any(metric.endswith(g) and len(metric) > len(g) for g in growth)
        if adjacent and f.kind != "count" and of_count and not _shares_word(metric, owner):
            # 「开工项目12个，总投资12.12亿元」: the 总投资 of the 开工项目; 「亿元以上项目1391个，投资增长9.6%」.
            metric = owner + metric
        # The nearest place or zone named before the figure, in its sentence or else earlier in the
        # passage (what the text is still about), else the article's city.
        named = [p for p in _outermost(places) if p[1] <= f.start]
        before = [p for p in named if s_start <= p[0]]
        anaphor = next((a for a in _words().anaphors if a in text[s_start:f.start]), "")
        if not before and anaphor:
            # 「该区已累计获得248项」「全市新设外资企业」: the zone, district, city or province named
            # before, of the level the word names, not the nearest place mentioned since.
            before = [p for p in named if _referent(anaphor, p[2], official.get(p[2], set()))]
            default = subject or city
            back = next((n for n, names in reversed(earlier) if _referent(anaphor, n, names)), "")
            if not before and back and EARLIER_REFERENT and not (default and _referent(anaphor, default, set())):
                # 「全区实现新增…」 in a later passage: the district the article named before it
                # (东港区), not the city the report is filed under (日照市); 「全市」 in a bulletin
                # of 吕梁市 is still 吕梁市.
                before = [(0, 0, back)]
            if not before and (subject or city):
                # None in this passage: the article's own zone or city, not another place it names.
                before = [(0, 0, subject or city)]
        if not before and not anaphor and rows and (not named or named[-1][1] <= rows[-1].start):
            # 「全省共实施…项目1922个。其中：亿元以上项目1391个」: with no place named since the figure
            # before, the text is still about that figure's entity (吉林省), not the last mention (长春).
            before = [(0, 0, rows[-1].entity)]
        before = before or named
        entity = _named_after(text, f) or (before[-1][2] if before else subject or city) or _event(text, f.start)
        in_sentence = [p for p in periods if p.start >= p_start and p.end <= f.start]
        after = [p for p in periods if p.start >= f.end and p.start < _sentence_end(text, f.end)]
        period = (in_sentence[-1] if in_sentence else after[0] if after else None)
        if period is None and GOVERNING_PERIOD_ROWS:
            # 「上半年，全省…。亿元以上项目1391个」: a sentence stating no span reports in the one an
            # earlier sentence of the passage set off as its topic (``periods.governing_period``).
            period = next((q for q in reversed(topics) if q.end < s_start), None)
        rows.append(FigureRow(
            chunk_id=chunk_id, source=source, entity=entity, metric=metric, value=f"{f.number}{f.multiplier}",
            unit=f.unit, normalised=f.value, base=f.base, kind=f.kind, period=period.text if period else "",
            date=date, start=f.start, end=f.end, text=f.text,
        ))
        if metric and metric not in growth:
            previous[s_start] = metric.removesuffix(next((g for g in growth if metric.endswith(g)), "")) or metric
        prev_end_by_sentence[s_start] = f.end
        # Only the clause right after a count inherits it as its subject.
        if f.kind == "count":
            counted[s_start] = (metric, _clause_end(text, f.end))
        else:
            counted.pop(s_start, None)
    return _respectively(text, rows) if RESPECTIVELY else rows


# A figure's period may be set off by an earlier sentence (measured with ``python -m evals figures``
# on both label files: held-out 23 -> 28 of 111 right, developed-against 168 -> 168 of 202).
GOVERNING_PERIOD_ROWS = True

# 「A、B、C指标分别为1、2、3」 gives each item its own figure.
RESPECTIVELY = True
_RESPECTIVELY = "分别"
LIST_JOINERS = "、和及与"


def named_places(text: str) -> list[tuple[str, frozenset[str]]]:
    """The places and zones ``text`` names, in order, each with the official names it may stand for
    (what a later passage's 「全区」「该市」 may refer back to).

    >>> named_places("依托日照市东港区这片沃土")
    [('日照市', frozenset({'日照市'})), ('东港区', frozenset({'东港区'}))]
    """
    g = gazetteer()
    found = [(m.start, m.surface, frozenset(g.place(c).name for c in m.codes))
             for m in g.find(text) if not names_outlet(text, m.end)]
    found += [(start, name, frozenset()) for start, _end, name in _zones(text)]
    return [(name, names) for _start, name, names in sorted(found, key=lambda t: t[0])]


def _respectively(text: str, rows: list[FigureRow]) -> list[FigureRow]:
    """Give the figures listed after 「分别」 the items listed before it, in order, with the head the
    last item carries (「党政机关、社会公共建筑、工商业厂房、农村居民屋顶光伏安装比例分别要达到50%、
    40%、30%、20%」: 50% is 党政机关屋顶光伏安装比例).  The last item's own part is as long as the
    other items are (their median length, cut at a jieba word); what follows it is the shared head.

    >>> rows = figure_rows("全区第一产业、第二产业、第三产业增加值分别增长3.1%、5.2%、6.3%。")
    >>> [r.metric for r in rows]
    ['第一产业增加值增长', '第二产业增加值增长', '第三产业增加值增长']
    >>> [r.metric for r in figure_rows("地区生产总值、全社会固定资产投资、规上工业总产值年均分别增长21.2%、39.9%、37.8%")]
    ['地区生产总值年均增长', '全社会固定资产投资年均增长', '规上工业总产值年均增长']
    """
    out = list(rows)
    i = 0
    while i < len(out):
        j = i
        while j + 1 < len(out) and text[out[j].end : out[j + 1].start].strip() in (*LIST_JOINERS, ""):
            j += 1
        run = out[i : j + 1]
        at = text.rfind(_RESPECTIVELY, 0, run[0].start)
        sentence_start = max(text.rfind(ch, 0, run[0].start) for ch in _SENTENCE_END + "，,：:") + 1
        if len(run) >= 2 and at >= sentence_start and not _tail_has_clause(text[at : run[0].start]):
            items = [x for x in re.split(f"[{LIST_JOINERS}]", text[sentence_start:at]) if x]
            if len(items) == len(run):
                out[i : j + 1] = _distributed(run, items, text[at + len(_RESPECTIVELY) : run[0].start])
        i = j + 1
    return out


def _tail_has_clause(between: str) -> bool:
    """Does more than 「分别」 and a link verb (为, 要达到, 增长 …) stand between it and the figures?"""
    return any(ch in between for ch in _CLAUSE_END + _SENTENCE_END)


def _distributed(run: list[FigureRow], items: list[str], verb: str) -> list[FigureRow]:
    items = [_strip_places(x) for x in items]
    typical = statistics.median(len(x) for x in items[:-1])
    last = _words_of(items[-1])
    cuts = [len("".join(last[:k])) for k in range(1, len(last) + 1)]
    cut = min(cuts, key=lambda c: (abs(c - typical), c))  # a tie goes to the shorter item
    own, head = items[-1][:cut], items[-1][cut:].removeprefix("等")  # 「樱桃等优质农产品产值」
    items = [*items[:-1], own]
    growth = next((g for g in sorted(_words().growth, key=len, reverse=True) if verb.endswith(g)), "")
    out = []
    for row, item in zip(run, items):
        metric = _strip(item + head) + growth
        out.append(replace(row, metric=metric) if len(metric) >= 2 else row)
    return out


def _strip_places(item: str) -> str:
    """An item without the place, zone or anaphor opening the list (「高新区党政机关」 → 党政机关)."""
    names = {m.surface for m in gazetteer().find(item)} | set(ZONE_SUFFIXES) | set(_words().anaphors) | set(_words().prefix)
    for name in sorted(names, key=len, reverse=True):
        if item.startswith(name) and len(item) > len(name):
            return item[len(name) :]
    return item


def _clause_end(text: str, at: int) -> int:
    ends = [i for i in (text.find(ch, at) for ch in _CLAUSE_END + _SENTENCE_END) if i >= 0]
    return min(ends) if ends else len(text)


# A short bracket between two Chinese characters belongs to the word around it (``python -m evals
# figures``: 136 → 137 of 202 labelled figures right).
INLINE_BRACKETS = True
MAX_INLINE_CHARS = 6


def _inline_close(text: str, at: int) -> int:
    """Where a bracket opening at ``at`` closes, when it sits inside a word: a few Chinese characters
    (or 、) between Chinese characters, as in 「村（居）民」「省（区、市）」;
    else 0.  A note (「（21位）」「（含培训），」) or a date (「昨天（27日）举行」) is no part of a word.

    >>> t = "共有287户村（居）民报名，融资（含意向）50亿元，昨天（27日）举行"
    >>> [_inline_close(t, i) for i in (t.find("（居"), t.find("（含"), t.find("（27"))]
    [10, 0, 0]
    """
    if text[at : at + 1] not in "（(" or not at or not is_cjk(text[at - 1]):
        return 0
    close = next((i for i in range(at + 1, min(at + MAX_INLINE_CHARS + 2, len(text))) if text[i] in "）)"), 0)
    inner = text[at + 1 : close] if close else ""
    if not inner or not all(is_cjk(ch) or ch == "、" for ch in inner) or not is_cjk(text[close + 1 : close + 2]):
        return 0
    return close + 1


def _quoted(text: str, at: int) -> bool:
    """Is ``at`` inside a “quoted” name (more opening than closing quotes before it in its sentence)?"""
    start = max(text.rfind(ch, 0, at) for ch in _SENTENCE_END) + 1
    return text.count("“", start, at) > text.count("”", start, at)


def _named_after(text: str, f: Figure) -> str:
    """「投资5亿元的路德环境绿色生物科技产业基地项目」: the figure is an attribute of what follows 的."""
    if text[f.end : f.end + 1] != "的":
        return ""
    end = f.end + 1
    while end < len(text) and text[end] not in "，,。；;（(、":
        end += 1
        if end < len(text) and text[end] == "、" and text[end - 1].isdigit() and text[end + 1 : end + 2].isdigit():
            end += 1  # 「4、5号标准化厂房」: numbered items inside one name
    name = text[f.end + 1 : end].removesuffix("等")
    return name if 2 <= len(name) <= 40 and not find_figures(name[:4]) else ""


def title_place(title: str, nation: bool = False) -> str:
    """The first place an article's title (or first sentence) names: what a news article is about
    when a passage of it names none (「…颁证暨上海市外资项目集中签约」 → 上海市).  With ``nation``,
    a word naming the whole country counts too (「我国金融支持科技创新…」 → 全国, the name rows give it).

    >>> title_place("…颁证暨上海市外资项目集中签约"), title_place("张青松表示，我国金融…", nation=True)
    ('上海市', '全国')
    """
    found = [(m.start, m.surface) for m in gazetteer().find(title) if not names_outlet(title, m.end)]
    if nation:
        found += [(s, name) for s, _e, name in _nation(title)]
    return min(found)[1] if found else ""


def names_outlet(text: str, end: int) -> bool:
    """Does the place ending at ``end`` name a news outlet (``place_words.tsv`` [outlet_suffix]) or
    a dateline's place?

    >>> t = "图为会议现场（中国台湾网 叶春禄 摄）7月26日昆明讯（记者 叶春禄） 7月26日，云南省委台办召开会议"
    >>> names_outlet(t, t.index("台湾") + 2), names_outlet(t, t.index("昆明") + 2), names_outlet(t, t.index("云南省") + 3)
    (True, True, False)
    >>> names_outlet("新华社北京8月1日电 吕梁电力公司", 5), names_outlet("新华社北京8月1日电 吕梁电力公司", 13)
    (True, False)
    >>> names_outlet("上海网络安全产业规模", 2), names_outlet("据四川日报记者报道", 3), names_outlet("广东新闻发布会", 2)
    (False, True, False)
    """
    for w in place_words("outlet_suffix"):
        if text.startswith(w, end) and not any(in_dictionary(text[end : end + len(w) + k]) for k in (1, 2, 3)):
            return True  # 「中国台湾网叶春禄」「四川日报记者」, but not 「上海网络安全」「广东新闻发布会」
    # A dateline's place (「7月26日昆明讯（记者…」「北京8月1日电」) is where the report was filed; 「吕梁电力」
    # is no dateline.
    date = _DAY_RE.match(text, end)
    at = date.end() if date else end
    word = dateline_word(text, at)
    return bool(word) and not is_cjk(text[at + len(word) : at + len(word) + 1] or " ")


_DAY_RE = re.compile(r"\d{1,2}月\d{1,2}日")


def _threshold(text: str, f: Figure) -> bool:
    """「10亿元以上重大项目116个」: the figure, before 以上/以下 and a word, bounds a class.

    >>> from index.figures import find_figures
    >>> t = "亿元以上项目1391个，10亿元以上项目233个，其中50亿元以上15个，投资10亿元以上。"
    >>> [_threshold(t, f) for f in find_figures(t)]
    [False, True, False, True, False, False]
    """
    after = text[f.end : f.end + 3]  # 「其中50亿元以上15个」: or before the class's own count
    return after[:2] in ("以上", "以下") and ("\u4e00" <= after[2:3] <= "\u9fff" or after[2:3].isdigit())


def _referent(anaphor: str, surface: str, official: set[str]) -> bool:
    """Can the place ``surface`` be what ``anaphor`` refers back to?  The anaphor's last character
    names the level: 区 a zone or district, 市 a city (上海 is 上海市), 省 a province, 县 a county.

    >>> _referent("全市", "上海", {"上海市"}), _referent("全市", "青浦", {"青浦区"}), _referent("该区", "广州开发区", set())
    (True, False, True)
    """
    level = anaphor[-1] if anaphor[-1] in place_words("level") else "区"
    return surface.endswith(level) or any(name.endswith(level) for name in official)


def _shares_word(a: str, b: str) -> bool:
    """Do two metrics share a two-character word (签约项目 / 签约投资额)?"""
    return any(a[i : i + 2] in b for i in range(len(a) - 1))


def _outermost(places: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Drop mentions inside longer ones (萧山 inside 萧山经济技术开发区)."""
    return [p for p in places if not any(q != p and q[0] <= p[0] and p[1] <= q[1] for q in places)]


def _nation(text: str) -> list[tuple[int, int, str]]:
    """Mentions of the whole country (``[nation]`` words), but not as the field of a rank
    (「居全国第5位」「全国前列」): the figure after that is still the place's own.

    >>> _nation("全国676个试点之一"), _nation("吕梁市位居全国第5位，增长10%"), _nation("参加全国大赛，其中4家获奖")
    ([(0, 2, '全国')], [], [])
    """
    words = _words().nation
    if not words:
        return []
    out = []
    for m in re.finditer("|".join(map(re.escape, words)), text):
        before = text[max(m.start() - 1, 0) : m.start()]
        after = text[m.end() : m.end() + 1]
        if after in _words().rank_markers or before in _words().rank_verbs:
            continue
        # 「参加全国创新创业大赛，其中4家…」: 全国 inside a phrase qualifies a name; opening a clause
        # or right before its figure (「作为全国676个…」「全国已有…」) it is the country.
        if (m.group() == "全国" and before and before not in _CLAUSE_END + _SENTENCE_END + "\n"
                and not (after.isdigit() or after in _words().nation_subject)):
            continue
        out.append((m.start(), m.end(), _words().nation_name))  # 我国 and 全国 are one entity
    return out


def _compounds(places: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The outermost mentions, in order, those written one right after another joined: a zone
    inside a zone or city (「十堰经开区龙门工业园」) is one place, so the row's entity keeps the whole
    name and a question naming the outer one (十堰经开区) still finds it.

    >>> _compounds([(0, 5, "十堰经开区"), (5, 10, "龙门工业园"), (12, 14, "重庆")])
    [(0, 10, '十堰经开区龙门工业园'), (12, 14, '重庆')]
    """
    out: list[tuple[int, int, str]] = []
    for p in _outermost(sorted(places)):
        if out and out[-1][1] == p[0] and any(p[2].endswith(z) for z in ZONE_SUFFIXES):
            out[-1] = (out[-1][0], p[1], out[-1][2] + p[2])
        else:
            out.append(p)
    return out


# A short quoted word between characters of a name is part of it (「专精特新“小巨人”企业100家」).
QUOTED_INSIDE = True


def _clause_start(text: str, at: int) -> int:
    """Where the clause holding ``at`` starts: after the last clause mark before it, a short quoted
    word inside a name excepted.

    >>> t = "对接专板企业总数1500家，专精特新“小巨人”企业100家"
    >>> t[_clause_start(t, len(t) - 4):]
    '专精特新“小巨人”企业100家'
    """
    start = max(text.rfind(ch, 0, at) for ch in _CLAUSE_END) + 1
    while QUOTED_INSIDE and start >= 2 and text[start - 1] == "”" and start < at and is_cjk(text[start]):
        opening = text.rfind("“", max(0, start - 2 - MAX_QUOTED_CHARS), start - 1)
        if opening < 1 or not is_cjk(text[opening - 1]) or any(ch in text[opening + 1 : start - 1] for ch in _CLAUSE_END):
            break
        before = _tagged_words(text[max(0, opening - 8) : opening])
        if before and before[-1][1][:1] in "vupcr":
            # 「推进“智改数转”标杆项目」「每年可向“国网”」: after a verb or a function word the quote
            # opens a phrase of its own, not the inside of a name.
            break
        start = max(text.rfind(ch, 0, opening) for ch in _CLAUSE_END) + 1
    return start


def _sentence_end(text: str, at: int) -> int:
    ends = [i for i in (text.find(ch, at) for ch in _SENTENCE_END) if i >= 0]
    return min(ends) if ends else len(text)


# A recurring event counted by 届 (「本届进博会」「第六届虹桥国际经济论坛」) is what a figure is about
# when no place is named.
EVENTS = True
_EVENT_RE = re.compile(r"(?:第[0-9一二三四五六七八九十百]+届|本届|首届)([\u4e00-\u9fff·（）()]{1,14}?(?:会|论坛|节|赛))")


def _event(text: str, at: int) -> str:
    """The event a passage that names no place is about: the last one counted by 届 before
    offset ``at``, else the first after it (a headline states figures before the body names it).

    >>> t = "超过50个国家已确认参展■本届进博会已有约200家企业签约参展，第六届进博会企业商业展签约面积36万平方米"
    >>> _event(t, t.index("50个")), _event(t, t.index("200家")), _event(t, t.index("36万"))
    ('进博会', '进博会', '第六届进博会')
    >>> _event("全区新增企业200家", 4)
    ''
    """
    if not EVENTS:
        return ""
    found = [(m.start(), m.group() if m.group().startswith("第") else m.group(1)) for m in _EVENT_RE.finditer(text)]
    before = [name for start, name in found if start < at]
    return before[-1] if before else found[0][1] if found else ""


# A place followed by a trade name and an industry word names an enterprise.
ENTERPRISES = True
MAX_TRADE_NAME = 6


def _enterprises(text: str, places: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Enterprise names that open with a place (「苏州氢澜科技」「江苏玄智智能科技」): the place, a
    trade name jieba's dictionary does not know (brands are new words) and an industry or
    organisation word (``place_words.tsv`` [enterprise_suffix]).  A known word in the place of the
    trade name is an industry of the place (「吕梁市新能源汽车产业」), no enterprise.

    >>> t = "签约苏州氢澜科技年产1000台发动机、江苏玄智智能科技年产15万吨，吕梁市新能源汽车产业增长"
    >>> _enterprises(t, [(2, 4, "苏州"), (19, 21, "江苏"), (36, 39, "吕梁市")])
    [(2, 8, '苏州氢澜科技'), (19, 27, '江苏玄智智能科技')]
    """
    if not ENTERPRISES:
        return []
    suffixes = sorted(place_words("enterprise_suffix"), key=len, reverse=True)
    out = []
    for start, end, _name in places:
        for gap in range(2, MAX_TRADE_NAME + 1):
            trade = text[end : end + gap]
            suffix = next((w for w in suffixes if text.startswith(w, end + gap)), "")
            if not suffix or not all(is_cjk(ch) for ch in trade):
                continue
            if in_dictionary(trade) or any(len(w) > 1 and in_dictionary(w) for w in _words_of(trade)):
                break  # 「新能源汽车」: a known word, no trade name
            stop = end + gap + len(suffix)
            while more := next((w for w in suffixes if text.startswith(w, stop)), ""):
                stop += len(more)  # 「江苏玄智智能科技」: industry words run on
            out.append((start, stop, text[start:stop]))
            break
    return out


def _zones(text: str) -> list[tuple[int, int, str]]:
    """Zones named by a place (眉县经开区, 太原高新区), with their offsets: they name the entity
    rather than the place alone."""
    from index.lexicon import zone_names

    out, at = [], 0
    for name in zone_names(text):
        i = text.find(name, at)
        if i >= 0:
            out.append((i, i + len(name), name))
            at = i + len(name)
    return out
