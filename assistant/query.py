"""Query analysis for Chinese factual questions.

What a question is about (places from the national gazetteer, corpus terms, quoted terms), what
kind of answer it wants (a person, a place, an organisation, a time, a figure of some unit, a
list, a description) and which period it asks about.  Pure functions over text and the corpus
lexicon; the language knowledge is data (``assistant/data/*.tsv``, ``index/data/*.tsv``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from index.cleaning import fold_width
from index.datafiles import read_tsv
from index.figures import find_figures, units
from index.gazetteer import gazetteer
from index.periods import Period, find_periods

# 个 is Chinese's general measure word: speech counts almost anything with it (「多少个岗位」),
# where a report writes the noun's own measure word (2000人, 35家).
GENERAL_MEASURE_WORD = "个"
ANSWER_KINDS = ("person", "place", "org", "time", "number", "list", "how", "why", "yesno", "entity")
# 「超过4亿元」「3个以上」「5000万元以上项目」: bounds, not figures the evidence must state.
BOUND_RE = re.compile(
    r"(?:超过|超|大于|高于|低于|小于|少于|不低于|不少于|不超过|至少|逾|多于)\s*[-\d.]+\s*(?:万亿|亿|万|千)?[^\s\d，。？?、]{0,3}"
    r"|[-\d.]+\s*(?:万亿|亿|万|千)?[^\s\d，。？?、]{0,3}?(?:以上|以下|左右|多)"
)
# A Latin word in a Chinese question (GDP, PMI): a term the evidence must contain.
LATIN_WORD_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,}(?![A-Za-z0-9])")
_ASK_RE = re.compile(r"多少|几|how many|how much|多大|多高|多长|多久|多远|多重", re.I)


@dataclass(frozen=True)
class AskedPlace:
    """A place the question names: its surface and every gazetteer code it may mean."""

    name: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class QueryAnalysis:
    question: str
    search_text: str
    places: tuple[AskedPlace, ...] = ()
    terms: tuple[str, ...] = ()  # corpus dictionary terms and quoted terms found in the question
    answer_kind: str = "entity"  # one of ANSWER_KINDS
    units: tuple[str, ...] = ()  # units a figure answer may carry (家, 元 …), from the words after 多少/几
    unit_kinds: tuple[str, ...] = ()  # kinds a figure answer may have (money, percent …), from hint words
    periods: tuple[Period, ...] = ()
    numbers: tuple[str, ...] = ()  # figures stated in the question as constraints (投资5亿元的项目)
    latin: tuple[str, ...] = ()  # Latin words of a Chinese question with no glossary entry (GDP)
    per: tuple[str, ...] = ()  # 「每亩…多少」: the figure must be stated per 亩
    english: bool = False
    # What the question word narrows its kind to: day | month | year for a time (哪天, 几月, 哪一年);
    # ordinal for a number asked by 第几 (answered by 「第五」, not by an amount).
    grain: str = ""
    carried_terms: tuple[str, ...] = ()  # a follow-up's subject terms carried from earlier turns (「那它…」)
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def figure_intent(self) -> bool:
        return self.answer_kind == "number"

    @property
    def list_intent(self) -> bool:
        return self.answer_kind == "list"

    @property
    def place_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.places)

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted({p.year for p in self.periods if p.year is not None}))

    @property
    def kind(self) -> str:
        """Coarse kind for the composer: figure | date | list | describe."""
        if self.answer_kind == "number":
            return "figure"
        if self.answer_kind == "time":
            return "date"
        if self.answer_kind == "list":
            return "list"
        return "describe"


# --- data ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def question_words() -> tuple[tuple[str, str], ...]:
    """(word, answer kind), longest word first."""
    rows = [(w.lower(), kind) for sec, (w, kind, _p) in read_tsv("assistant", "data/question_words.tsv", 3)
            if sec == ""]  # the sections after the question words say other things of them
    return tuple(sorted(rows, key=lambda r: -len(r[0])))


@lru_cache(maxsize=8)
def word_section(name: str) -> tuple[str, ...]:
    """The words of one section of ``question_words.tsv`` ([morpheme], [which], [not-which] …), in
    file order."""
    return tuple(w for sec, (w, _kind, _p) in read_tsv("assistant", "data/question_words.tsv", 3) if sec == name)


@lru_cache(maxsize=1)
def follow_up_asks() -> dict[str, str]:
    """Answer kind → how a follow-up without a question word asks it again (「是多少？」)."""
    return {kind: ending for sec, (kind, ending, _p) in read_tsv("assistant", "data/question_words.tsv", 3) if sec == "ask"}


def has_question_word(question: str) -> bool:
    """Does the question say what it asks (多少, 哪些, 什么 …)?

    >>> has_question_word("那开工了多少个？"), has_question_word("已经竣工的呢？")
    (True, False)
    """
    return bool(_question_words_in(fold_width(question).lower()))


def _question_words_in(lowered: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of the last occurrence of each question word in ``lowered``; an English
    word only as a whole word."""
    found = []
    for word, kind in question_words():
        if word.isascii():
            at = [m.start() for m in re.finditer(rf"\b{re.escape(word)}\b", lowered)]
            pos = at[-1] if at else -1
        else:
            pos = lowered.rfind(word)
        if pos >= 0:
            found.append((pos, pos + len(word), kind))
    return found


@lru_cache(maxsize=1)
def head_nouns() -> tuple[tuple[str, str], ...]:
    """(noun, answer kind) for questions without a question word (「…死亡人数」), longest first."""
    rows = [(w, kind) for sec, (w, kind, _p) in read_tsv("assistant", "data/question_words.tsv", 3) if sec == "head"]
    return tuple(sorted(rows, key=lambda r: -len(r[0])))


@lru_cache(maxsize=1)
def unit_hints() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((w, tuple(k.split(","))) for _, (w, k, _p) in read_tsv("assistant", "data/unit_hints.tsv", 3))


@lru_cache(maxsize=1)
def colloquial() -> tuple[tuple[str, str], ...]:
    return tuple((w, canon) for _, (w, canon, _p) in read_tsv("assistant", "data/colloquial.tsv", 3))


@lru_cache(maxsize=1)
def glossary() -> tuple[tuple[str, str], ...]:
    """English → Chinese terms of the bulletin domain, longest English first."""
    rows = [(en.lower(), zh) for _, (en, zh, _p) in read_tsv("assistant", "data/glossary_en_zh.tsv", 3)]
    return tuple(sorted(rows, key=lambda r: -len(r[0])))


def translate_terms(question: str) -> str:
    """Chinese search words for an English or mixed question (kept beside the original words).

    >>> translate_terms("How much investment was signed in Lüliang's three batches campaign?")
    '多少 投资 签约 吕梁市 三个一批'
    """
    lowered = question.lower().replace("’", "'")
    found: list[tuple[int, str]] = []
    for en, zh in glossary():
        # Whole words only: 「solar」 must not fire inside 「JinkoSolar」.
        m = re.search(rf"(?<![a-z]){re.escape(en)}(?![a-z])", lowered)
        if m:
            found.append((m.start(), zh))
            lowered = lowered[: m.start()] + " " * len(en) + lowered[m.end() :]
    return " ".join(zh for _, zh in sorted(found))


# --- pieces ---------------------------------------------------------------------------------


def find_places(text: str) -> tuple[AskedPlace, ...]:
    """Places named in ``text``, each once, with the gazetteer codes it may mean.

    A leading 「那」 of a follow-up is not part of a name: 「那曲靖呢」 asks about 曲靖.

    >>> [p.name for p in find_places("吕梁和太原市的孝义经开区，大同呢")]
    ['吕梁', '太原市', '孝义', '大同']
    >>> [p.name for p in find_places("那曲靖呢？")], [p.name for p in find_places("陕西宝鸡眉县")]
    (['曲靖'], ['陕西', '宝鸡', '眉县'])
    """
    m0 = re.match(r"(那么|那)", text)
    if m0 and gazetteer().find(text[m0.end() :])[:1] and gazetteer().find(text[m0.end() :])[0].start == 0:
        text = text[m0.end() :]
    out: dict[str, AskedPlace] = {}
    for m in gazetteer().find(text):
        if m.surface not in out and not any(m.codes == p.codes for p in out.values()):
            out[m.surface] = AskedPlace(m.surface, m.codes)
    return tuple(out.values())


def answer_kind(question: str) -> str:
    """The kind of answer a question asks for (see ``asked``)."""
    return asked(question)[0]


def asked(question: str) -> tuple[str, str]:
    """(answer kind, time granularity): the last question word decides (Chinese puts the asked
    word late: 「和几位合伙人成立了什么公司」 asks for a company).

    >>> [answer_kind(q) for q in ("谁枪击了安倍晋三？", "签约投资额是多少？", "有哪些项目？", "哪家公司运营？",
    ...                            "是怎么优化营商环境的？", "哪一年设立的？", "主攻方向是什么？")]
    ['person', 'number', 'list', 'org', 'how', 'time', 'entity']
    >>> answer_kind("印控克什米尔地区寺庙踩踏事故死亡人数"), answer_kind("首趟RCEP班列的起点？"), answer_kind("开发区签约投资额？")
    ('number', 'place', 'number')
    >>> answer_kind("2015年和几位合伙人成立了什么公司？"), answer_kind("什么时候签约了多少个项目？")
    ('org', 'number')

    A word inside a longer one is no question word of its own (the 什么 of 为什么), and the bare
    什么 (entity, the least specific kind) right after another question word is part of it
    (「分别是什么」 asks for a list):

    >>> answer_kind("吕梁为什么要开展“三个一批”活动？"), answer_kind("三大计划分别是什么？"), answer_kind("分别是多少？")
    ('why', 'list', 'number')
    """
    lowered = fold_width(question).lower()
    lowered = re.sub(r"几月几日|几月几号", "几月", lowered)  # a date, not a count
    found = _question_words_in(lowered)
    found = [f for f in found if not any(g != f and g[0] <= f[0] and f[1] <= g[1] for g in found)]
    found = [f for f in found if not (f[2] == "entity" and any(g[1] == f[0] and g[2] != "entity" for g in found))]
    # The last word decides, the longest of those starting there.
    best = max(found, default=None, key=lambda f: (f[0], f[1] - f[0]))
    if best is None:
        tail = lowered.rstrip("？?。!！ ")
        kind = next((kind for noun, kind in head_nouns() if tail.endswith(noun)), "")
        # 「吕梁市开发区签约投资额？」: ends with what a figure measures (unit_hints.tsv).
        if not kind and any(word in tail[-5:] for word, _ in unit_hints()):
            kind = "number"
        kind, _, grain = (kind or "entity").partition(":")
        return kind, grain
    kind, _, grain = best[2].partition(":")
    # 「哪几个专业镇」 asks for names; 「有几个专业镇」 for a count.
    if kind == "number" and re.search(r"哪几|哪些", lowered):
        return "list", ""
    if kind == "list" and re.search(r"(?<!哪)几[个家项条名台]|多少", lowered):
        return "number", ""
    return kind, grain


def expected_units(question: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(units, kinds) a figure answer may carry.

    A unit right after the question word (多少家, 几个百分点, 多少亿元) decides; else the hint word
    nearest before the question word (投资多少 → money), else one after it.

    >>> expected_units("有多少家企业上榜？"), expected_units("比全市平均增速高多少个百分点？")
    ((('家',), ()), (('个百分点',), ()))
    >>> expected_units("人才公寓建设投资多少？"), expected_units("总投资是多少亿元？"), expected_units("资金有几个亿？")
    (((), ('money',)), (('元',), ()), ((), ('money',)))
    >>> expected_units("方山光伏发电项目规模多大？"), expected_units("供应工业用地，一共帮企业省下了多少初始成本？")
    (((), ()), ((), ('money',)))
    """
    text = fold_width(question)
    asks = [m for m in _ASK_RE.finditer(text)]
    if asks:
        after = re.sub(r"^(?:余|多)", "", text[asks[-1].end() :])
        if re.match(r"个?(?:万亿|亿|千万|百万|万)(?![\u4e00-\u9fff]*[元吨人户家])", after):
            return (), ("money",)  # 「几个亿」「多少万」: an amount, almost always money
        u = units()
        for name in sorted(u.units, key=len, reverse=True):  # 个百分点 before 个, 千瓦 before 千
            for mult in [*sorted(u.multipliers, key=len, reverse=True), ""]:
                if after.startswith(mult + name):
                    return (name,), ()
    found = [(m.start(), word, kinds) for word, kinds in unit_hints() for m in re.finditer(re.escape(word), text)]
    if not found:
        return (), ()
    if asks:
        ask, ask_end = asks[-1].start(), asks[-1].end()
        # 「省下了多少初始成本」: the noun right after the question word names the figure.
        right_after = [f for f in found if ask_end <= f[0] <= ask_end + 4]
        before = [f for f in found if f[0] < ask]
        later = [f for f in found if f[0] > ask]
        chosen = (min(right_after, key=lambda f: (f[0], -len(f[1]))) if right_after
                  else max(before, key=lambda f: (f[0] + len(f[1]), len(f[1]))) if before else min(later) if later else None)
        return ((), chosen[2]) if chosen else ((), ())
    kinds: list[str] = []
    for _, _, hinted in sorted(found):
        kinds += [k for k in hinted if k not in kinds]
    return (), tuple(kinds)


def per_units(question: str) -> tuple[str, ...]:
    """Units a 「每…」 question asks its figure per (a unit of ``units.tsv`` right after 每).

    The general measure word is no part of the unit: 「每个月」 is 「每月」, as texts write it.

    >>> per_units("落地项目每亩土地补贴多少？"), per_units("每辆车价值多少？"), per_units("每月几次")
    (('亩',), ('辆',), ())
    >>> per_units("按规定每个月至少要外出招商多少天？"), per_units("每个人补贴多少元？")
    ((), ('人',))
    """
    u = units().units
    names = sorted((n for n, unit in u.items() if unit.kind not in ("date",)), key=len, reverse=True)
    out = []
    for m in re.finditer("每", question):
        rest = question[m.end() :]
        if rest.startswith(GENERAL_MEASURE_WORD) and any(rest[1:].startswith(n) for n in u):
            rest = rest[1:]
        name = next((n for n in names if rest.startswith(n)), "")
        if name and name not in out:
            out.append(name)
    return tuple(out)


def split_compound(question: str) -> list[str]:
    """The sub-questions of a compound question, each ending with its own question word.

    Clauses without a question word join the next one that has one; a question with fewer
    than two asking clauses is returned whole.

    >>> split_compound("吕梁的运营公司有几家，平台公司完成投资多少？")
    ['吕梁的运营公司有几家', '平台公司完成投资多少']
    >>> split_compound("一季度，吕梁开发区规上工业增加值是多少？")
    ['一季度，吕梁开发区规上工业增加值是多少？']
    >>> split_compound("萧山经开区是哪一年设立的？它在综合考评中排第几名？")
    ['萧山经开区是哪一年设立的', '它在综合考评中排第几名']
    >>> split_compound("新建的学校，投资多少、占地多少亩？"), split_compound("签约、开工了多少个项目？")
    (['新建的学校，投资多少', '占地多少亩'], ['签约、开工了多少个项目？'])

    A clause ending in a locative (方位词: 中, 前, 之外 …) frames the question, it asks nothing of
    its own (「北朝几个朝代中，哪个朝代…」: 几个 there counts the field the question picks from):

    >>> split_compound("北朝几个朝代中，哪个朝代最积极建筑长城?")
    ['北朝几个朝代中，哪个朝代最积极建筑长城?']
    """
    marks = "，,；;？?、" if ASKS_IN_A_SERIES else "，,；;？?"
    segments = [s for s in re.split(f"(?<=[{marks}])", question) if s.strip(marks + " ")]
    asking_re = re.compile("|".join(re.escape(w) for w, _ in question_words() if not w.isascii()))
    asking = [bool(asking_re.search(s)) and len(re.findall("[\u4e00-\u9fff]", s)) >= 4 and not _frames(s) for s in segments]
    if sum(asking) < 2:
        return [question]
    out: list[str] = []
    pending = ""
    for segment, asks in zip(segments, asking, strict=True):
        pending += segment
        if asks:
            out.append(pending.strip().rstrip(marks + " "))
            pending = ""
    if pending and out:
        out[-1] += pending.rstrip(marks + " ")
    return out


# 「投资多少、占地多少亩」: asks joined by 、 are two questions (ablation: no-asks-in-a-series).
ASKS_IN_A_SERIES = True


# Frame clauses ask nothing (measured in benchmarks/RESULTS.md, 2026-12-07: compound frames).
FRAME_CLAUSES = True


def _frames(segment: str) -> bool:
    """Does the clause end in a locative (jieba's part of speech f: 「…几百年中」「…之外」), so that it
    sets the field or the time the question asks within?"""
    from index.lexicon import Lexicon

    if not FRAME_CLAUSES:
        return False
    tagged = Lexicon.empty().tagged(segment.rstrip("，,；;？? "))
    return bool(tagged) and tagged[-1][1] == "f"


# --- analysis -------------------------------------------------------------------------------


def analyse(question: str, lexicon_terms: frozenset[str] | set[str] = frozenset()) -> QueryAnalysis:
    """Analyse a (condensed) question.

    >>> a = analyse("吕梁市“三个一批”活动签约投资额是多少？", {"三个一批"})
    >>> a.place_names, a.terms, a.answer_kind, a.unit_kinds
    (('吕梁市',), ('三个一批',), 'number', ('money',))
    >>> [p.text for p in analyse("2024年一季度吕梁有哪些项目？").periods], analyse("投资5亿元以上的项目有哪些？").numbers
    (['2024年一季度'], ())
    """
    text = fold_width(question).strip()
    english = sum(c.isascii() and c.isalpha() for c in text) > 0.5 * max(1, sum(not c.isspace() for c in text))
    translated = translate_terms(text) if any(c.isascii() and c.isalpha() for c in text) else ""
    spoken = " ".join(canon for word, canon in colloquial() if word in text and canon not in text)
    translated = f"{translated} {spoken}".strip()
    search_text = f"{text} {translated}".strip() if translated else text
    combined = f"{text} {translated}"

    # Quoted Chinese terms are constraints; an English quote ("three batches") is not.
    quoted = [q for q in re.findall(r"[“\"]([^”\"]{2,20})[”\"]", text) if re.search("[\u4e00-\u9fff]", q)]
    terms = [t for t in sorted(lexicon_terms, key=len, reverse=True) if len(t) >= 2 and t in combined]
    kept: list[str] = []
    for t in quoted + terms:  # the longest: drop a term inside a longer one already kept
        if t not in kept and not any(t in k for k in kept):
            kept.append(t)

    kind, grain = asked(combined)
    unit_names, kinds = expected_units(combined) if kind == "number" else ((), ())
    exact = BOUND_RE.sub(" ", text)
    # Only figures written in digits are constraints: 「哪两个中试基地」「三大计划」 count the answer's
    # items, they are not figures the evidence must state.
    numbers = tuple(dict.fromkeys(f.key for f in find_figures(exact) if f.is_quantity and f.kind not in ("time",)
                                  and (exact[f.start].isdigit() or exact[f.start] in "-+")))
    glossed = {en for en, _ in glossary()}
    unit_words = {u.lower() for u in units().units if u.isascii()}
    latin = () if english else tuple(
        dict.fromkeys(w for w in LATIN_WORD_RE.findall(text) if w.lower() not in glossed and w.lower() not in unit_words)
    )
    return QueryAnalysis(
        question=question,
        search_text=search_text,
        places=find_places(combined),
        terms=tuple(kept),
        answer_kind=kind,
        units=unit_names,
        unit_kinds=kinds,
        periods=tuple(find_periods(text)),
        numbers=numbers,
        latin=latin,
        per=per_units(text) if kind == "number" else (),
        english=english,
        grain=grain,
    )
