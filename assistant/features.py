"""General features of (question, candidate clause) pairs, the answer selector's input.

Nothing here is about one bulletin or one question: semantic similarity from the shipped e5
encoder (question ``query:`` against the clause's late-pooled ``passage:`` vector), IDF-weighted
coverage of the question's words, whether the clause holds the kind of thing asked for (a
person, a place, an organisation, a time, a figure of the asked unit), how far it is from the
question's rarest word, and where its passage ranked.  ``FEATURES`` names the columns;
``FEATURES_VERSION`` changes whenever their meaning does, and learned weights record it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from assistant.candidates import Candidate, Passage
from assistant.query import (
    ANSWER_KINDS,
    GENERAL_MEASURE_WORD,
    QueryAnalysis,
    head_nouns,
    question_words,
    unit_hints,
    word_section,
)
from assistant.retrieval import mentions, period_match
from index.cleaning import fold_width
from index.figure_table import anaphors
from index.figures import find_figures, supported, units
from index.gazetteer import gazetteer, place_words
from index.lexicon import STOPWORDS, Lexicon
from index.periods import find_periods
from index.types import Chunk

FEATURES = (
    # semantic (e5)
    "e5_clause", "e5_clause_gap", "e5_sent", "e5_sent_gap", "e5_neighbour", "e5_passage",
    # lexical
    "cov_clause", "cov_window", "cov_sent", "cov_passage", "cov_clause_gap", "cov_sent_gap",
    "bigram_clause", "bigram_sent", "novelty", "rare_in_sent", "rare3_sent", "rare3_passage", "term_dist",
    # shape and position
    "clause_len", "clause_pos", "clause_last", "sent_pos", "is_question",
    # retrieval
    "rank", "fused_norm", "bm25_norm",
    # answer type of the question (one-hot) and of the clause
    *(f"ask_{k}" for k in ANSWER_KINDS),
    "has_person", "has_place", "has_org", "has_time", "has_proper", "has_figure", "has_unit_figure",
    "type_match", "type_match_sent", "type_match_neighbour",
    # constraints as evidence
    "place_ok", "period_match", "numbers_ok", "numbers_in_sent", "terms_in_passage", "metric_clause", "metric_window",
    # the question as a whole
    "q_keywords", "q_len", "best_cov_sent", "best_e5_clause",
    # the kind of thing a 什么 / 哪 question asks for (「什么调度办法」 → 调度, 办法)
    "head_clause", "head_instance",
)
FEATURES_VERSION = f"features/6:{len(FEATURES)}"
# Features added after the shipped ranker was trained: a learned linear correction on top of its
# score reads them (``assistant.selector``), so questions they say nothing about (NaN) are ranked
# exactly as before.  The ranker and the answerability model read ``BASE_FEATURES``.
RESIDUAL_FEATURES = ("head_clause", "head_instance")
BASE_FEATURES = tuple(f for f in FEATURES if f not in RESIDUAL_FEATURES)
CJK_RE = re.compile("[\u4e00-\u9fff]")
_KIND_INDEX = {k: i for i, k in enumerate(ANSWER_KINDS)}


@lru_cache(maxsize=1)
def _question_tokens() -> frozenset[str]:
    """Words that say what is asked rather than what it is about: question words (多少, 哪些, 什么 …)
    and one-character measure words, which only follow them (「多少个」「几家」)."""
    return frozenset(w for w, _ in question_words()) | frozenset(u for u in units().units if len(u) == 1)


def analysis_of(question: str) -> QueryAnalysis:
    """``assistant.query.analyse`` (for doctests)."""
    from assistant.query import analyse

    return analyse(question)


def own_text(analysis: QueryAnalysis) -> str:
    """The question's own search text, without what a follow-up carried from earlier turns."""
    context = analysis.extra.get("context", "") if analysis.extra else ""
    text = analysis.search_text
    return text[len(context):].strip() if context and text.startswith(context) else text


def keywords(analysis: QueryAnalysis, lexicon: Lexicon, df: Callable[[str], int], n_docs: int) -> dict[str, float]:
    """Content tokens of the question with IDF weights over the index.

    Question words, stopwords and words the corpus never uses are dropped.  Of a follow-up only
    its own words count (``own_text``): the words carried from earlier turns found the passages,
    but in 「那开工了多少个？」 it is 开工, not the earlier 签约, that picks the clause.
    """
    n = max(n_docs, 1)
    own = own_text(analysis)
    asked = _question_tokens()
    weights: dict[str, float] = {}
    for token in lexicon.tokenize(own) if own else []:
        if token in asked or token in STOPWORDS:
            continue
        d = df(token)
        if d == 0 or (token.isascii() and token.isalpha() and len(token) < 2):
            continue
        weights[token] = math.log(1 + (n + 1) / (d + 0.5))
    return weights


@dataclass
class FeatureContext:
    analysis: QueryAnalysis
    keywords: dict[str, float]
    query_vector: np.ndarray | None = None
    metric: tuple[str, ...] = ()  # what a figure question measures (``metric_words``)
    extra: dict = field(default_factory=dict)


_ASK_RE = re.compile(r"多少|几|多大|多高|多长|多久|多远|多重")


def _figure_ask(analysis: QueryAnalysis) -> tuple[str, re.Match[str]] | None:
    """A figure question's own text and its last question word (多少, 几 …), or None."""
    if analysis.answer_kind != "number":
        return None
    text = own_text(analysis)
    asks = list(_ASK_RE.finditer(text))
    return (text, asks[-1]) if asks else None


# The selector's residual reads the asked head (ablation: no-asked-head).
ASKED_HEAD = True
# 「哪四个领域」「哪几个项目」: the head after a count (ablation: no-counted-which).
COUNTED_WHICH = True
_HEAD_POS = frozenset({"n", "vn", "nz", "j", "l", "ng"})  # common nouns (not names, places or times)
MAX_HEAD_WORDS = 2


@lru_cache(maxsize=1)
def _which_re() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(the [which] interrogatives, the [not-which] words holding one) of ``question_words.tsv``."""
    def alternation(words: Sequence[str]) -> re.Pattern[str]:
        return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))

    return alternation(word_section("which")), alternation(word_section("not-which"))


def _after_which(question: str) -> str | None:
    """The text after the question's last [which] interrogative that no [not-which] word holds, and
    after one [which-filler] (哪一 / 哪些 / 什么样的); None when there is none.

    >>> _after_which("如何看待哪一种气候"), _after_which("为何要改"), _after_which("什么样的能力"), _after_which("什么样子")
    ('种气候', None, '能力', '样子')
    """
    which, not_which = _which_re()
    blocked = {i for m in not_which.finditer(question) for i in range(m.start(), m.end())}
    found = [m for m in which.finditer(question) if blocked.isdisjoint(range(m.start(), m.end()))]
    if not found:
        return None
    rest = question[found[-1].end() :]
    first = Lexicon.empty().tagged(rest)[:1]
    for filler in sorted(word_section("which-filler"), key=len, reverse=True):
        # not the start of a longer noun: 「什么样子」 asks for a 样子
        if rest.startswith(filler) and not (first and len(first[0][0]) > len(filler) and first[0][1][:1] == "n"):
            return rest[len(filler) :]
    return rest


def asked_head(question: str) -> tuple[str, ...]:
    """The words of the noun right after the question's last 什么 / 哪 / 何 (and a measure word), the
    kind of thing it asks for: an answer usually names one (「月调度制度」 for 「什么调度办法」, 「卫所制度」
    for 「何种制度」).  Empty when no noun follows (「…是什么？」「什么时候」 keeps 时候: the learner weighs it).
    The interrogatives and what may follow them are data (``question_words.tsv`` [which]).

    >>> asked_head("吕梁对这些考核指标用的是什么调度办法？"), asked_head("华沙可以被归类为哪一种气候?")
    (('调度', '办法'), ('气候',))
    >>> asked_head("何种制度令人世代守护北疆?"), asked_head("棱柱是什么？"), asked_head("他毕业于哪所大学？")
    (('制度',), (), ('大学',))
    >>> asked_head("视锥细胞在何处的效率最高?"), asked_head("有什么样的能力?"), asked_head("重点加快哪些项目？")
    ((), ('能力',), ('项目',))
    >>> asked_head("成交额主要集中在哪四个领域？"), asked_head("推进了哪三项改革？"), asked_head("合伙人分为哪几类？")
    (('领域',), ('改革',), ())
    """
    rest = _after_which(question) if ASKED_HEAD else None
    if not rest:
        return ()
    tagged = Lexicon.empty().tagged(rest)
    words: list[str] = []
    for i, (word, flag) in enumerate(tagged):
        if i == 0 and len(word) == 1 and (word in units().units or flag[:1] == "q"):
            continue  # the measure word of 哪所 / 哪一种 (not the 处 of 何处: a place)
        if i == 0 and flag == "m" and COUNTED_WHICH:
            continue  # a count and its measure word: 「哪四个领域」 asks for 领域, 「哪几个项目」 for 项目
        if flag in _HEAD_POS and len(words) < MAX_HEAD_WORDS:
            words.append(word)
            continue
        break
    return tuple(w for w in words if CJK_RE.match(w[0]) and w not in _question_tokens())


def _head_features(head: tuple[str, ...], question: str, text: str) -> tuple[float, float]:
    """(a word of the asked head is in ``text``; one is, after a character the question does not put
    there: 「卫所制度」 names a 制度 the question does not.  A demonstrative, with or without a measure
    word (「这种类型的电视剧」), points back to the asked kind rather than naming one).

    >>> _head_features(("制度",), "何种制度令人守护北疆", "更实行卫所制度")
    (1.0, 1.0)
    >>> _head_features(("制度",), "何种制度令人守护北疆", "制度令人守护北疆"), _head_features(("类型",), "是什么类型的电视剧", "这种类型的电视剧很多")
    ((1.0, 0.0), (1.0, 0.0))
    """
    from assistant.constraints import _demonstratives

    pointers = tuple(d for d in _demonstratives() if len(d) == 1)
    found = instance = 0.0
    for word in head:
        at = text.find(word)
        while at >= 0:
            found = 1.0
            before = text[max(at - 2, 0) : at]
            pointed = before[-1:] in pointers or (len(before) == 2 and before[0] in pointers and before[1] in units().units)
            if at > 0 and CJK_RE.match(text[at - 1]) and text[at - 1 : at + len(word)] not in question and not pointed:
                instance = 1.0
            at = text.find(word, at + 1)
    return found, instance


def metric_words(analysis: QueryAnalysis, lexicon: Lexicon) -> tuple[str, ...]:
    """The nouns a figure question asks the figure of: the nearest before its question word and the
    first after it, in the same clause (「货物吞吐量是多少万吨」 → 吞吐量; 「省下了多少初始成本」 → 企业, 成本).

    >>> metric_words(analysis_of("2022年周口中心港的货物吞吐量是多少万吨？"), Lexicon.empty())
    ('吞吐量',)
    """
    found = _figure_ask(analysis)
    if found is None:
        return ()
    text, ask = found
    start = max(text.rfind(p, 0, ask.start()) for p in "，,；;？?") + 1
    end = min([i for i in (text.find(p, ask.end()) for p in "，,；;？?") if i >= 0] or [len(text)])
    skip = _question_tokens() | STOPWORDS
    before, after, pos = [], [], start
    for word, flag in lexicon.tagged(text[start:end]):
        at = pos
        pos += len(word)
        if flag[:1] not in ("n", "v") or flag in ("vd",) or word in skip or len(word) < 2:
            continue
        if flag[:1] == "v" and flag != "vn":
            continue
        (before if at < ask.start() else after).append(word)
    return tuple(dict.fromkeys(([before[-1]] if before else []) + after[:1]))


# Parts of speech that can stand in a metric's name (jieba's: nouns, verbal nouns, verbs of
# 新增/增速, distinguishing words, unknown words such as 规上); any other token ends the name.
_METRIC_POS = ("n", "vn", "v", "nz", "b", "x", "j", "l")


def metric_modifiers(analysis: QueryAnalysis, lexicon: Lexicon) -> tuple[str, ...]:
    """The nouns that qualify the asked metric, in the name right before the question word:
    「一季度工业投资增速是多少」 asks the 增速 *of 工业投资*, so 工业 and 投资 must be said where
    the figure is; the head (增速) is left to the selector, which knows 增长 for 增速.  Places,
    periods, verbs and one-character words are not modifiers.

    >>> metric_modifiers(analysis_of("吕梁开发区一季度工业投资增速是多少？"), Lexicon.empty())
    ('工业', '投资')
    >>> metric_modifiers(analysis_of("哈尔滨新区2023年上半年地区生产总值是多少亿元？"), Lexicon.empty())
    ('生产总值',)
    >>> metric_modifiers(analysis_of("吕梁市“三个一批”活动签约投资额是多少？"), Lexicon.empty())
    ()
    >>> metric_modifiers(analysis_of("来自粤港澳大湾区企业的项目协议投资额是多少？"), Lexicon.empty())
    ('企业', '项目', '协议')
    >>> metric_modifiers(analysis_of("吕梁市的签约投资额是多少？"), Lexicon.empty())
    ()
    """
    found = _figure_ask(analysis)
    if found is None:
        return ()
    text, ask = found
    after = _after_modifiers(text, ask.end(), lexicon) if AFTER_MODIFIERS else ()
    return tuple(dict.fromkeys(_before_modifiers(text, ask.start(), lexicon) + after))


# A name after the question word qualifies the counted thing too (「多少项央企项目」 → 央企);
# ablation: no-after-modifiers.
AFTER_MODIFIERS = True


def _after_modifiers(text: str, at: int, lexicon: Lexicon) -> tuple[str, ...]:
    """The nouns before the head of the name right after the question word and its measure word:
    「对接了多少项央企项目」 counts 项目 *of 央企*; 「有多少家企业」 names no modifier.

    >>> _after_modifiers("对接了多少项央企项目？", 5, Lexicon.empty()), _after_modifiers("有多少家企业入驻？", 3, Lexicon.empty())
    (('央企',), ())
    >>> _after_modifiers("德国失去了多少比例人口?", 7, Lexicon.empty())
    ()
    """
    skip = _question_tokens() | STOPWORDS
    # The measure word (项, 家, 亿元) goes before tagging: jieba would read 「项央企」 as 项央 + 企.
    at += max((len(u) for u in units().units if text.startswith(u, at)), default=0)
    run: list[tuple[str, str]] = []
    for word, flag in lexicon.tagged(text[at:]):
        if flag[:1] != "n" and flag not in ("vn", "b", "j", "l"):
            break
        if _not_a_modifier(word, flag, skip, lexicon):
            break
        run.append((word, flag))
    while run and run[-1][1] == "vn":
        run.pop()  # 「多少支队伍参赛」: a verbal noun after the counted thing is what it does
    # 「多少比例人口」: a word that says what kind of figure is asked (比例, 数量) qualifies nothing.
    generic = {w for w, _ in unit_hints()} | {w for w, _ in head_nouns()}
    return tuple(w for w, _flag in run[:-1] if len(w) >= 2 and w not in generic)


def _before_modifiers(text: str, ask_start: int, lexicon: Lexicon) -> tuple[str, ...]:
    """The modifiers in the name right before the question word (``metric_modifiers``)."""
    tagged = lexicon.tagged(text[:ask_start])
    skip = _question_tokens() | STOPWORDS
    name: list[tuple[str, str]] = []
    aspect = linked = region = False
    first = len(tagged)  # index of the name's first token
    for i in range(len(tagged) - 1, -1, -1):
        word, flag = tagged[i]
        if not name and (word in skip or (flag in ("v", "d", "p", "ul", "uz") and len(word) == 1)):
            aspect = aspect or flag in ("ul", "uz")  # 「签约了多少」: a verb's object follows, no name precedes
            linked = True
            continue  # 「…增速是多少」「…一共有多少」: the linking words before the question word
        if (flag[:1] not in _METRIC_POS and flag not in _METRIC_POS) or not CJK_RE.match(word[0]):
            break
        if name and flag == "v":
            break  # 「活动签约投资额」: a verb before the name is what was done, not part of the name
        if _not_a_modifier(word, flag, skip, lexicon):
            # 「地区生产总值」: 地区 says where; what is left of the metric's name (生产总值) must be said.
            region = REGION_WORDS and len(name) == 1 and word in _region_words()
            break
        name.append((word, flag))
        first = i
    if name and name[0][1] == "v" and (aspect or not linked):
        return ()  # 「枪击案造成多少人死亡」「主犯被判多少年」: the question word is the verb's object
    modifiers = [w for w, flag in reversed(name[1:]) if len(w) >= 2]
    if region:
        return (name[0][0],)
    if name and first > 0 and tagged[first - 1][0] == "的":
        # 「来自大湾区企业的项目协议投资额」: the nouns of a 的-attribute right before the name qualify it too.
        for word, flag in reversed(tagged[: first - 1]):
            if flag[:1] != "n" or flag == "nt" or _not_a_modifier(word, flag, skip, lexicon):
                break
            if len(word) >= 2:
                modifiers.insert(0, word)
    return tuple(dict.fromkeys(modifiers))


@lru_cache(maxsize=1)
def _region_words() -> frozenset[str]:
    """Words standing for the reported area (``place_words.tsv`` [region_word]: 地区, 区域 …)."""
    return frozenset(place_words("region_word"))


# 「全市地区生产总值」 is 「全市生产总值」: 地区 says where, and the rest of the name (生产总值) is what
# must be said (ablation: region-as-modifier).
REGION_WORDS = True


def _not_a_modifier(word: str, flag: str, skip: frozenset[str], lexicon: Lexicon) -> bool:
    """Places, periods, zones, words standing for a place (全市, 该区), question words and stopwords
    say where, when or what is asked, not what the metric is of: 「全市地区生产总值」 asks nothing
    of the text's 「全市」.

    >>> metric_modifiers(analysis_of("2022年荆州全市工业投资是多少？"), Lexicon.empty())
    ('工业',)
    """
    return (word in skip or word in anaphors() or (REGION_WORDS and word in _region_words()) or flag in ("ns", "nr") or not CJK_RE.match(word[0])
            or bool(find_periods(word))
            or any(m.surface == word for m in gazetteer().find(word)) or lexicon.is_zone(word))


def _coverage(weights: dict[str, float], total: float, text: str) -> float:
    """IDF-weighted share of the question's words in ``text`` (already ``_folded``)."""
    return sum(w for k, w in weights.items() if k in text) / total if total else 0.0


def _folded(text: str) -> str:
    """As the tokenizer sees text: lower-cased, widths folded (「GDP」 is the token 「gdp」)."""
    return fold_width(text).lower()


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1) if CJK_RE.match(text[i]) and CJK_RE.match(text[i + 1])}


def _unit_matches(analysis: QueryAnalysis, figures, sentence: str | None = None) -> bool:
    """Does one of ``figures`` answer the question's 「多少…」?  A unit matches the asked one or
    any unit of the same base (「多少人」 is answered by 「1.4万名」: units.tsv counts 名 in 人).
    Given the figures' ``sentence``, another measure word stands in for the general 个 only where
    the sentence names what is counted (``counted_head``).

    >>> from assistant.query import analyse
    >>> _unit_matches(analyse("志愿者有多少人？"), find_figures("1.4万名师生")), _unit_matches(analyse("有多少家？"), find_figures("12个"))
    (True, False)
    """
    table = units().units
    bases = {table[u].base for u in analysis.units if u in table}
    for f in figures:
        if not f.is_quantity:
            continue
        if analysis.units:
            if f.unit in analysis.units or (f.unit and f.base in bases):
                if f.unit == GENERAL_MEASURE_WORD and not _names_counted(analysis, sentence):
                    continue  # 「多少个就业岗位」 is not answered by 「两个重点项目之一」
                return True
            if GENERAL_MEASURE_WORD in analysis.units and f.kind == "count" and _names_counted(analysis, sentence):
                return True  # 「多少个新工作岗位」 is answered by 「新增就业岗位约2000人」, not by 「8条生产线」
            if not f.unit and f.multiplier and not bases & {"%", "个百分点"}:
                return True  # 「网民规模达10.51亿」 answers 「多少人」: a measure word is often left out after 亿/万
        elif analysis.unit_kinds:
            # 「33万」「120万」 carry no unit: they may be the asked amount of any kind but a share.
            if f.kind in analysis.unit_kinds or (not f.unit and not set(analysis.unit_kinds) <= {"percent", "points"}):
                return True
        elif f.kind not in ("time",):
            return True
    return False


# ...but then the sentence must name the counted thing (ablation: no-counted-head).
COUNTED_HEAD = True


def _names_counted(analysis: QueryAnalysis, sentence: str | None) -> bool:
    """Does ``sentence`` name what the question's 「多少个…」 counts (true when it names nothing)?

    >>> from assistant.query import analyse
    >>> q = analyse("项目建成后能带动多少个就业岗位？")
    >>> _names_counted(q, "该项目是两个重点项目之一"), _names_counted(q, "可带动就业岗位300个"), _names_counted(q, None)
    (False, True, True)
    """
    if sentence is None or not COUNTED_HEAD or GENERAL_MEASURE_WORD not in analysis.units:
        return True
    head = counted_head(analysis.question)
    return not head or head in sentence


@lru_cache(maxsize=256)
def counted_head(question: str) -> str:
    """The head of what 「多少个…」 counts: the last two characters of the last noun before the
    clause ends (Chinese compounds are head-final: 工作岗位 → 岗位), or "".

    >>> counted_head("项目达产后能提供多少个就业岗位？"), counted_head("新增了多少个新工作岗位"), counted_head("有多少个？")
    ('岗位', '岗位', '')
    """
    m = re.search(rf"(?:多少|几){GENERAL_MEASURE_WORD}([^，,。；;？?！!、]*)", question)
    if not m:
        return ""
    nouns = [w for w, flag in Lexicon.empty().tagged(m.group(1)) if flag[:1] == "n" and len(w) >= 2]
    return nouns[-1][-2:] if nouns else ""


class _Typer:
    """What kinds of answer a piece of a passage holds (entities the question does not name)."""

    def __init__(self, analysis: QueryAnalysis, question: str) -> None:
        self.analysis = analysis
        self.question = question

    def kinds(self, text: str, ents: Sequence[tuple[str, str]]) -> dict[str, bool]:
        new = [(t, tag) for t, tag in ents if t not in self.question]
        tags = {tag for _, tag in new}
        figures = find_figures(text)
        periods = [p for p in find_periods(text) if p.text not in self.question]
        places = [m for m in gazetteer().find(text) if m.surface not in self.question]
        return {
            "person": "PER" in tags,
            "place": "LOC" in tags or bool(places),
            "org": "ORG" in tags,
            "time": "TIME" in tags or bool(periods),
            "proper": bool(tags & {"nz", "nw", "ORG", "PER"}),
            "figure": any(f.is_quantity for f in figures),
            "unit_figure": _unit_matches(self.analysis, [f for f in figures if f.key not in self.question]),
        }

    def match(self, k: dict[str, bool], text: str) -> float:
        kind = self.analysis.answer_kind
        if kind == "person":
            return 1.0 if k["person"] else 0.5 if k["org"] else 0.0  # 「谁供的稿」: 谁 asks for organisations too
        if kind == "place":
            return float(k["place"])
        if kind == "org":
            return float(k["org"] or k["proper"])
        if kind == "time":
            return float(k["time"])
        if kind == "number":
            return float(k["unit_figure"])
        if kind == "list":
            return float("、" in text or k["proper"])
        if kind == "entity":
            return float(k["proper"] or k["place"] or k["person"])
        return 0.0


def compute(ctx: FeatureContext, cands: Sequence[Candidate], passages: Sequence[Passage]) -> np.ndarray:
    """The feature matrix, one row per candidate, columns as ``FEATURES`` (NaN: not available)."""
    a = ctx.analysis
    X = np.full((len(cands), len(FEATURES)), np.nan, dtype=np.float32)
    if not cands:
        return X
    col = {name: i for i, name in enumerate(FEATURES)}
    kw = ctx.keywords
    total = sum(kw.values())
    rare = max(kw, key=lambda k: (kw[k], k)) if kw else ""
    # The question's three most specific words (「基金」「工业投资」): an answer usually says them.
    rare3 = [k for k in sorted(kw, key=lambda k: (-kw[k], k)) if not any(k in o and k != o for o in kw)][:3]
    question = a.question
    q_bigrams = _bigrams(a.search_text)
    q_chars = set(a.search_text)
    typer = _Typer(a, a.search_text)
    q = ctx.query_vector
    head = asked_head(own_text(a))
    top_score = max((p.hit.score for p in passages), default=0.0) or 1.0
    top_bm25 = max((p.hit.scores.get("bm25", 0.0) for p in passages), default=0.0) or 1.0

    # Per passage: e5 of each clause, of each sentence and of the passage; entity lists.
    clause_sims: list[np.ndarray | None] = []
    passage_info = []
    for p in passages:
        chunk = p.hit.chunk
        if q is not None and p.vectors is not None:
            sims = p.vectors @ q
            sims[np.linalg.norm(p.vectors, axis=1) < 1e-6] = np.nan
            clause_sims.append(sims)
        else:
            clause_sims.append(None)
        ents = [(chunk.text[s:e], tag, s, e) for s, e, tag in (p.annotation.entities if p.annotation else ())]
        scope = f"{chunk.city} {chunk.context}\n{chunk.text}"
        place_ok = float(all(_place_ok(p, pl) for pl in a.places)) if a.places else np.nan
        numbers_ok = float(all(supported(n, chunk.text) for n in a.numbers)) if a.numbers else np.nan
        terms_in = sum(t in scope for t in a.terms) / len(a.terms) if a.terms else np.nan
        passage_info.append((ents, _coverage(kw, total, _folded(scope)), place_ok, numbers_ok, terms_in))

    # Sentence-level aggregates per (hit, sentence).
    sent_text: dict[tuple[int, int], str] = {}
    sent_rows: dict[tuple[int, int], list[int]] = {}
    for c in cands:
        key = (c.hit, c.sentence)
        sent_text.setdefault(key, passages[c.hit].hit.chunk.text[c.sent_start : c.sent_end])
        if c.row >= 0:
            sent_rows.setdefault(key, []).append(c.row)
    sent_sim: dict[tuple[int, int], float] = {}
    for key, rows in sent_rows.items():
        p = passages[key[0]]
        if q is not None and p.vectors is not None:
            v = p.vectors[rows].mean(axis=0)
            norm = float(np.linalg.norm(v))
            sent_sim[key] = float(v @ q) / norm if norm > 1e-6 else np.nan
    passage_sim = []
    for p in passages:
        if q is not None and p.vectors is not None and len(p.vectors):
            v = p.vectors.mean(axis=0)
            norm = float(np.linalg.norm(v))
            passage_sim.append(float(v @ q) / norm if norm > 1e-6 else np.nan)
        else:
            passage_sim.append(p.hit.scores.get("dense", np.nan))

    texts = [passages[c.hit].hit.chunk.text[c.start : c.end] for c in cands]
    folded = [_folded(t) for t in texts]
    sent_folded = {key: _folded(f"{passages[key[0]].hit.chunk.item}\n{t}") for key, t in sent_text.items()}
    passage_folded = [_folded(f"{p.hit.chunk.context}\n{p.hit.chunk.text}") for p in passages]
    by_sentence: dict[tuple[int, int], list[int]] = {}
    for i, c in enumerate(cands):
        by_sentence.setdefault((c.hit, c.sentence), []).append(i)
    kinds = []
    for i, c in enumerate(cands):
        ents = passage_info[c.hit][0]
        kinds.append(typer.kinds(texts[i], [(t, tag) for t, tag, s, e in ents if s < c.end and e > c.start]))
    sent_match = {key: max(typer.match(kinds[i], texts[i]) for i in idx) for key, idx in by_sentence.items()}
    periods = {key: period_match(a, f"{passages[key[0]].hit.chunk.context}\n{t}") for key, t in sent_text.items()} if a.periods else {}
    # Clause positions of the rarest keyword in each passage, for the distance feature.
    rare_at: dict[int, list[int]] = {}
    for i, c in enumerate(cands):
        if rare and rare in folded[i]:
            rare_at.setdefault(c.hit, []).append(i)

    for i, c in enumerate(cands):
        p = passages[c.hit]
        chunk = p.hit.chunk
        key = (c.hit, c.sentence)
        text, sentence = texts[i], sent_text[key]
        idx = by_sentence[key]
        pos = idx.index(i)
        window = "".join(folded[j] for j in idx[max(0, pos - 1) : pos + 2])
        row = X[i]
        sims = clause_sims[c.hit]
        if sims is not None and c.row >= 0:
            row[col["e5_clause"]] = sims[c.row]
            neighbours = [sims[cands[j].row] for j in idx if j != i and abs(j - i) == 1 and cands[j].row >= 0]
            row[col["e5_neighbour"]] = max(neighbours) if neighbours else np.nan
        row[col["e5_sent"]] = sent_sim.get(key, np.nan)
        row[col["e5_passage"]] = passage_sim[c.hit]
        row[col["cov_clause"]] = _coverage(kw, total, folded[i])
        row[col["cov_window"]] = _coverage(kw, total, window)
        row[col["cov_sent"]] = _coverage(kw, total, sent_folded[key])
        row[col["cov_passage"]] = passage_info[c.hit][1]
        cb = _bigrams(text)
        row[col["bigram_clause"]] = len(cb & q_bigrams) / len(q_bigrams) if q_bigrams else 0.0
        row[col["bigram_sent"]] = len(_bigrams(sentence) & q_bigrams) / len(q_bigrams) if q_bigrams else 0.0
        chars = CJK_RE.findall(text)
        row[col["novelty"]] = sum(ch not in q_chars for ch in chars) / len(chars) if chars else 0.0
        row[col["rare_in_sent"]] = float(bool(rare) and rare in _folded(sentence))
        if rare3:
            row[col["rare3_sent"]] = sum(k in sent_folded[key] for k in rare3) / len(rare3)
            row[col["rare3_passage"]] = sum(k in passage_folded[c.hit] for k in rare3) / len(rare3)
        if rare_at.get(c.hit):
            row[col["term_dist"]] = min(min(abs(j - i) for j in rare_at[c.hit]), 10)
        row[col["clause_len"]] = len(text)
        row[col["clause_pos"]] = min(c.clause, 10)
        row[col["clause_last"]] = float(c.clause == c.n_clauses - 1)
        row[col["sent_pos"]] = min(c.sentence, 10)
        row[col["is_question"]] = float(sentence.rstrip("”’」）) ").endswith(("？", "?")))
        row[col["rank"]] = c.hit + 1
        row[col["fused_norm"]] = p.hit.score / top_score
        row[col["bm25_norm"]] = p.hit.scores.get("bm25", 0.0) / top_bm25
        row[col[f"ask_{a.answer_kind}"]] = 1.0
        k = kinds[i]
        for name in ("person", "place", "org", "time", "proper", "figure", "unit_figure"):
            row[col[f"has_{name}"]] = float(k[name])
        row[col["type_match"]] = typer.match(k, text)
        row[col["type_match_sent"]] = sent_match[key]
        neighbour_match = [typer.match(kinds[j], texts[j]) for j in idx if abs(j - i) == 1]
        row[col["type_match_neighbour"]] = max(neighbour_match) if neighbour_match else 0.0
        row[col["place_ok"]] = passage_info[c.hit][2]
        row[col["period_match"]] = periods.get(key, np.nan) if a.periods else np.nan
        row[col["numbers_ok"]] = passage_info[c.hit][3]
        if a.numbers:
            row[col["numbers_in_sent"]] = sum(supported(n, sentence) for n in a.numbers) / len(a.numbers)
        row[col["terms_in_passage"]] = passage_info[c.hit][4]
        if ctx.metric:
            row[col["metric_clause"]] = sum(m in folded[i] for m in ctx.metric) / len(ctx.metric)
            row[col["metric_window"]] = sum(m in window for m in ctx.metric) / len(ctx.metric)
        row[col["q_keywords"]] = len(kw)
        row[col["q_len"]] = len(question)
        if head:
            row[col["head_clause"]], row[col["head_instance"]] = _head_features(head, question, text)
    for name in ANSWER_KINDS:  # one-hot: the other kinds are 0, not unknown
        j = col[f"ask_{name}"]
        X[np.isnan(X[:, j]), j] = 0.0
    for gap, base in (("e5_clause_gap", "e5_clause"), ("e5_sent_gap", "e5_sent"), ("cov_clause_gap", "cov_clause"),
                      ("cov_sent_gap", "cov_sent")):
        values = X[:, col[base]]
        best = np.nanmax(values) if np.isfinite(values).any() else np.nan
        X[:, col[gap]] = values - best
    cov = X[:, col["cov_sent"]]
    X[:, col["best_cov_sent"]] = np.nanmax(cov) if np.isfinite(cov).any() else np.nan
    e5 = X[:, col["e5_clause"]]
    X[:, col["best_e5_clause"]] = np.nanmax(e5) if np.isfinite(e5).any() else np.nan
    return X


SUPPORT_TAGS = frozenset({"PER", "LOC", "ORG", "TIME", "nz", "nw"})
# benchmarks/ablations.py switches these off to measure them: voting by the asked type only, and
# counting other documents rather than other passages.
TYPED_SUPPORT = True
SUPPORT_BY_DOCUMENT = True
# What may vote for a clause, by the kind of answer asked: for 「谁…」 the people (and bodies) it
# names, not every name it shares with other passages (「安倍晋三」 is in all of them).
TYPED_SUPPORT_TAGS = {"person": frozenset({"PER", "ORG"}), "place": frozenset({"LOC"}),
                      "org": frozenset({"ORG", "nz", "nw"}), "time": frozenset({"TIME"}), "number": frozenset()}


def stated_times(text: str, question: str, since: bool = False, names: Sequence[tuple[int, int, str]] = ()) -> list:
    """The periods ``text`` states as times: not 「…以来」 (unless ``since``: the question asks when
    something started), and not a year naming an edition of what ``question`` asks about
    (``edition_asked``, with ``names`` as there), as the time constraint reads them.

    >>> t = "2022年世界互联网大会乌镇峰会将于11月9日举行，于2022年发布"
    >>> [p.text for p in stated_times(t, "乌镇峰会何时举行？")], [p.text for p in stated_times(t, "何时发布？")]
    (['11月9日', '2022年'], ['2022年', '11月9日', '2022年'])
    >>> [p.text for p in stated_times("重点抓好2022年以来签约项目", "")], [p.text for p in stated_times("2022年以来", "", since=True)]
    ([], ['2022年以来'])
    """
    return [p for p in find_periods(text)
            if (since or not p.since) and not (p.bare_year and edition_asked(text, p.end, question, names))]


NAME_TAGS = frozenset({"PER", "LOC"})
# A year before a person or a place names no edition of it (ablation: editions-of-people).
NAMES_END_EDITIONS = True


def names_in(entities, start: int = 0) -> list[tuple[int, int, str]]:
    """The people and places among a passage's LAC ``entities`` (``(start, end, tag)`` in the
    passage), shifted to a piece of it that begins at ``start``: for ``edition_asked``."""
    return [(s - start, e - start, tag) for s, e, tag in entities if tag in NAME_TAGS]


def edition_asked(text: str, end: int, question: str, names: Sequence[tuple[int, int, str]] = ()) -> bool:
    """Does the year ending at ``end`` name an edition of what ``question`` asks about?  Then it is
    part of the asked thing's name, no time stated about it: 「2022年世界互联网大会乌镇峰会举办情况」
    does not say when 「乌镇峰会」 is held.  A year before other nouns dates its clause
    (「2010年法国网球公开赛后，佩内塔首度跻身前十」 answers when she did).  People have no editions:
    the asked thing's name ends before a person (jieba's nr, or a PER of ``names``, the people and
    places a tagger found in ``text``: ``names_in``), and a place right after the year is where
    something happened then (「1258年高丽…」), while inside the name it is part of it (「…乌镇峰会」).

    >>> edition_asked("介绍2022年世界互联网大会乌镇峰会举办情况", 7, "乌镇峰会举办时间")
    True
    >>> edition_asked("佩内塔在2010年法国网球公开赛后首度跻身前十", 9, "佩内塔什么时候跻身前十？")
    False
    >>> t, q = "1932年富兰克林·德拉诺·罗斯福当选为总统", "富兰克林·德拉诺·罗斯福在哪一年当选美国总统?"
    >>> edition_asked(t, 5, q), edition_asked(t, 5, q, names=[(5, 17, "PER")])
    (True, False)
    >>> edition_asked("1284年元世祖再派镇南王", 5, "元世祖在哪一年南征占城?")
    False
    """
    if not names_edition(text, end):
        return False
    words = []
    at = end
    for word, flag in Lexicon.empty().tagged(text[end : end + 16]):
        named = [tag for s, e, tag in names if s < at + len(word) and at < e]
        if flag[:1] != "n" or (NAMES_END_EDITIONS and (flag.startswith("nr") or "PER" in named or (named and not words))):
            break
        words.append(word)
        at += len(word)
    return any(len(w) >= 2 and w in question for w in words)


def names_edition(text: str, end: int) -> bool:
    """Is the year ending at ``end`` followed by a noun it names an edition of (「2022年春运」)?  A
    noun of one character is no name (jieba tags the 经 of 「1992年经国务院批准」 a noun).

    >>> names_edition("2022年春运开始", 5), names_edition("1992年经国务院批准设立", 5)
    (True, False)
    """
    if not "\u4e00" <= text[end : end + 1] <= "\u9fff":
        return False
    tagged = Lexicon.empty().tagged(text[end : end + 6])
    return bool(tagged) and tagged[0][1][:1] == "n" and len(tagged[0][0]) >= 2


def support_things(ctx: FeatureContext, text: str, entities, start: int, end: int) -> set[str]:
    """What the clause ``text[start:end]`` says that could answer the question, for voting: its
    entities and figures the question does not name; for a typed question (谁, 哪里, 何时, 多少)
    only those of the asked type (a date for 何时, a figure of the asked unit for 多少).

    >>> from assistant.query import analyse
    >>> ctx = FeatureContext(analyse("艾尔登法环发售日期是哪天？"), {})
    >>> t = "艾尔登法环于2022年2月25日发售，售价298元。"
    >>> sorted(support_things(ctx, t, [], 0, len(t)))
    ['2022年2月25日']
    >>> sorted(support_things(FeatureContext(analyse("售价是多少元？"), {}), t, [], 0, len(t)))
    ['298元']
    """
    a = ctx.analysis
    asked = a.search_text
    clause = text[start:end]
    typed = TYPED_SUPPORT and a.answer_kind in TYPED_SUPPORT_TAGS
    tags = TYPED_SUPPORT_TAGS[a.answer_kind] if typed else SUPPORT_TAGS
    things = {text[s:e] for s, e, tag in entities if tag in tags and s < end and e > start}
    figures = [f for f in find_figures(clause) if f.is_quantity]
    if not typed:
        things |= {f.text for f in figures}
    elif a.answer_kind == "number":
        things |= {f.text for f in figures if _unit_matches(a, [f])}
    elif a.answer_kind == "time":
        things |= {p.text for p in stated_times(clause, a.question, names=names_in(entities, start))}
    return {t for t in things if len(t) >= 2 and t not in asked}


def answer_support(ctx: FeatureContext, cands: Sequence[Candidate], passages: Sequence[Passage],
                   voters: Sequence[Chunk] = ()) -> np.ndarray:
    """How many other retrieved documents state what a clause would answer (0–3, scaled to 0–1).

    The things a clause holds that the question does not say (``support_things``) are looked
    up in the other passages: news reports the same fact in several sources, so an answer
    repeated across passages is more likely the right one (multi-passage voting, as in DrQA).
    The selector is trained on single-paragraph reading data, where this signal does not exist,
    so it is added to its score with a weight calibrated on the dev sets (``BULLETIN_SUPPORT_WEIGHT``).
    ``voters``: further retrieved passages that only vote (``BULLETIN_SUPPORT_DEPTH``), not candidates.
    """
    def doc(chunk: Chunk) -> str:
        return chunk.document if SUPPORT_BY_DOCUMENT else chunk.id

    chunks = [p.hit.chunk for p in passages]
    seen = {c.id for c in chunks}
    texts = [(doc(c), c.text) for c in chunks + [v for v in voters if v.id not in seen]]
    out = np.zeros(len(cands), dtype=np.float32)
    for i, c in enumerate(cands):
        p = passages[c.hit]
        own = doc(p.hit.chunk)
        entities = p.annotation.entities if p.annotation else ()
        best = 0
        for thing in support_things(ctx, p.hit.chunk.text, entities, c.start, c.end):
            # Only other documents confirm: an article repeating its own figure is one source.
            best = max(best, len({src for src, other in texts if src != own and thing in other}))
            if best >= 3:
                break
        out[i] = min(best, 3) / 3
    return out


def _place_ok(passage: Passage, place) -> bool:
    """Does the passage's article name the asked place, or a place inside it?"""
    if passage.annotation is not None and passage.annotation.places:
        if any(code in passage.annotation.places for code in place.codes):
            return True
    return mentions(passage.hit.chunk, place)
