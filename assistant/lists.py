"""What a list question's answer looks like: an enumeration of things of the asked kind.

「…主要集中在哪四个领域？」 is answered by 「智能网联汽车领域27.4亿元；智能建造领域12.9亿元；…」, not by
the lead sentence that names the total; 「…分为哪几类？」 by 「共有创新单元合伙人16家、创新中心合伙人6家、
基金合伙人3家」.  The selector, trained on reading-comprehension data whose answers are single spans,
learned no use for such a signal (an enumeration feature fitted as its residual took a negative
weight: ``benchmarks/RESULTS.md``), so the answerer uses it after the selector: when the chosen
sentence enumerates nothing of the asked kind, the best-scored sentence that does joins the answer.
"""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.features import _HEAD_POS, CJK_RE, STOPWORDS, _question_tokens
from assistant.query import _question_words_in
from index.cleaning import fold_width
from index.datafiles import read_tsv
from index.figure_table import LIST_JOINERS
from index.lexicon import Lexicon

# An enumeration's items: clauses of a 「；」-separated list, or pieces of one clause separated by
# 「、」 or a coordinator (「A、B和C」).
_SEGMENTS = re.compile("[；;。！？!?]")
_CLAUSES = re.compile("[，,：:；;。！？!?]")
_ITEMS = re.compile(f"[{LIST_JOINERS}]")
# 「新型储能、电子信息等产业」「锦波生物等技术领先企业」: a list closed by 等 and a phrase naming the
# kind of its items.
_ETC_RE = re.compile("等([\u4e00-\u9fff]{1,8})")


def kind_nouns(question: str, head: tuple[str, ...] = ()) -> tuple[str, ...]:
    """What the items of a list answer are instances of: the asked head's words (「哪四个领域」 →
    领域), else the last common noun of two characters or more before the question word (「两个稀土
    基地”分别是什么」 → 基地).

    >>> kind_nouns("“科大硅谷”首批全球合伙人分为哪几类？"), kind_nouns("包头提出建设的“两个稀土基地”分别是什么？")
    (('合伙人',), ('基地',))
    >>> kind_nouns("集中在哪四个领域？", ("领域",)), kind_nouns("哪些国家参加了演习")
    (('领域',), ())
    """
    if head:
        return head
    asks = _question_words_in(fold_width(question).lower())  # question_words.tsv
    if not asks:
        return ()
    skip = _question_tokens() | STOPWORDS
    nouns = [w for w, flag in Lexicon.empty().tagged(question[: max(start for start, _end, _kind in asks)])
             if flag in _HEAD_POS and len(w) >= 2 and w not in skip]
    return tuple(nouns[-1:])


def predicate_words(question: str, nouns: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The content words a list question says of its items after its question word (「哪几家单位作了
    表态发言」 → 表态, 发言): what a sentence listing the answer says of them too.

    >>> predicate_words("有哪几家企业与英山进行了项目签约？", ("企业",))
    ('英山', '进行', '项目', '签约')
    >>> predicate_words("南阳华侨城项目一期由哪几个部分组成？", ("部分",))
    ('组成',)
    """
    lowered = fold_width(question).lower()
    asks = _question_words_in(lowered)
    if not asks:
        return ()
    rest = question[max(end for _start, end, _kind in asks):]
    skip = _question_tokens() | STOPWORDS | set(nouns)
    return tuple(dict.fromkeys(w for w, flag in Lexicon.empty().tagged(rest)
                               if flag[:1] in ("n", "v") and len(w) >= 2 and w not in skip))


def enumerates(nouns: tuple[str, ...], question: str, sentence: str) -> bool:
    """Does ``sentence`` list two or more things of the kind a list question asks for?  Either two
    of its items (split at 、 ； 和 及 与) each name an instance of one of ``nouns`` (a character the
    question does not put there stands before it: 「创新单元合伙人」), or a list is closed by 「等」 and
    one of them (「新型储能、电子信息等产业」).  A list of other things is none.

    >>> q = "“科大硅谷”首批全球合伙人分为哪几类？"
    >>> enumerates(("合伙人",), q, "共有创新单元合伙人16家、创新中心合伙人6家、基金合伙人3家。")
    True
    >>> enumerates(("合伙人",), q, "来自美国、日本及北京、上海、广州等地的25家全球合伙人携手抛出招才“橄榄枝”。")
    False
    >>> enumerates(("产业",), "熟地招商主要瞄准哪些产业？", "聚焦新能源汽车及汽车零部件、新型储能、电子信息等产业，着力吸引")
    True
    >>> enumerates(("基地",), "“两个稀土基地”分别是什么？", "打造全国最大的稀土新材料基地和全球领先的稀土应用基地。")
    True

    The items of one list stand in one clause, or in the clauses of a 「；」-separated list:

    >>> enumerates(("领域",), "集中在哪四个领域？", "智能网联汽车领域27.4亿元，占比43.99%；智能建造领域12.9亿元，占比20.70%")
    True
    >>> enumerates(("产业",), "主要瞄准哪些产业？", "肇庆新能源汽车及汽车零部件产业发展势头强劲，小鹏汽车、宁德时代等龙头项目相继建成投产，配套产业链不断延伸")
    False
    """
    if not nouns:
        return False
    if LIST_INTRODUCED and _introduced(nouns, question, sentence):
        return True

    def names(item: str) -> bool:
        for noun in nouns:
            at = item.find(noun)
            if at > 0 and CJK_RE.match(item[at - 1]) and item[at - 1 : at + len(noun)] not in question:
                return True
        return False

    segments = _SEGMENTS.split(sentence)
    if sum(names(s) for s in segments) >= 2:
        return True
    for clause in _CLAUSES.split(sentence):
        if "、" in clause and any(n in m.group(1) for m in _ETC_RE.finditer(clause) for n in nouns):
            return True
        if sum(names(item) for item in _ITEMS.split(clause)) >= 2:
            return True
    return False


# A list of the asked kind is also one that the sentence introduces by that kind (「分五个组成部分：A、
# B、C」), or whose items do what the question asks of them (「A、B、C分别作表态发言」 for 「哪几家单位作
# 了表态发言」) (ablation: no-introduced-lists).
LIST_INTRODUCED = True


@lru_cache(maxsize=1)
def _intro_re() -> str:
    """Up to six characters after the kind, then a word that introduces a list (``list_words.tsv``)."""
    words = sorted((w for _section, (w, _provenance) in read_tsv("assistant", "data/list_words.tsv", 2)), key=len, reverse=True)
    return "[^，,。；;]{0,6}?(?:" + "|".join(re.escape(w) for w in words) + ")"


def _introduced(nouns: tuple[str, ...], question: str, sentence: str) -> bool:
    """Does ``sentence`` hold a 「、」 list of two or more items that it introduces by one of ``nouns``
    (「分五个组成部分：水公园、嘉年华乐园…」), or in a clause that says all the question's predicate
    words (``predicate_words``) of them?

    >>> _introduced(("部分",), "南阳华侨城项目一期由哪几个部分组成？", "其中一期占地面积760亩，分五个组成部分：水公园、嘉年华乐园、主题商业街区、主题酒店和大型停车场。")
    True
    >>> q = "工作推进会上，哪几家单位作了表态发言？"
    >>> _introduced(("单位",), q, "湖南自贸试验区长沙片区、湘潭经济技术开发区、常德高新技术产业开发区分别作表态发言。")
    True
    >>> _introduced(("单位",), q, "7月26日，湖南自贸试验区协同联动区工作推进会在长沙、湘潭举行。")
    False
    """
    for noun in nouns:
        for m in re.finditer(re.escape(noun) + _intro_re(), sentence):
            listed = _CLAUSES.split(sentence[m.end():].lstrip("：:"), maxsplit=1)[0]
            if _list_items(listed) >= 2:
                return True
    said = predicate_words(question, nouns)
    if not said:
        return False
    return any(_list_items(clause) >= 2 and all(w in clause for w in said) for clause in _CLAUSES.split(sentence))


def _list_items(clause: str) -> int:
    """Items of two or more Chinese characters joined by 「、」 (and a closing 和/及) in ``clause``; 0
    without a 「、」."""
    if "、" not in clause:
        return 0
    return sum(len(CJK_RE.findall(item)) >= 2 for item in _ITEMS.split(clause))
