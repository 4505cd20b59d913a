"""Chinese tokenisation for keyword search: jieba with a user dictionary built
from the corpus (zones, companies, quoted terms) and aliases such as
经开区 ↔ 经济技术开发区.  Documents and queries go through the same ``tokenize``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from functools import lru_cache

from index.articles import places
from index.cleaning import CJK, fold_width

log = logging.getLogger(__name__)

# Canonical form ← variants; both sides index to the canonical token too.
ALIASES: dict[str, tuple[str, ...]] = {
    "经开区": ("经济技术开发区", "经济开发区"),
    "高新区": ("高新技术产业开发区", "高新技术开发区"),
    "开发区": ("开发园区",),
    "签约": ("签订", "签下"),
    "投资额": ("投资金额", "投资总额"),
    "规上": ("规模以上",),
    "技改": ("技术改造",),
    "亿元以上": ("过亿", "超亿", "上亿", "亿元及以上"),
}

STOPWORDS = frozenset(
    """的 了 和 与 及 等 是 在 对 为 以 将 把 被 并 或 也 都 就 而 之 其 该 这 那 有 着 于 从 向 由 由于
    吗 呢 啊 吧 呀 么 多少 什么 哪些 哪个 哪 怎么 怎样 如何 是否 请问 一下 请 问 几 情况 相关 关于 具体
    告诉 我 你 他 们 要 能 会 可以 一个 哪家 谁 多 少 啥 咋 了解 介绍 一共 共 总共 分别 主要 工作 今年 其中""".split()
)
_PUNCT = re.compile(rf"^[^0-9A-Za-z{CJK}]+$")
_QUOTED = re.compile(r"[“\"]([^”\"]{2,16})[”\"]")
_BOOK = re.compile(r"《([^》]{2,40})》")
_LIST = re.compile(rf"((?:[{CJK}A-Za-z0-9]{{2,14}}、)+[{CJK}A-Za-z0-9]{{2,14}})等")


@lru_cache(maxsize=8)
def _tokenizer(words: tuple[str, ...]):
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    base_total = tok.total
    for word in words:
        tok.add_word(word, freq=50_000)
    # add_word also raises the total frequency, which shifts every route score a little; a fixed
    # total keeps the cut of a text that contains none of the corpus terms independent of them,
    # so a re-index only retokenises the texts that contain an added or removed term.
    tok.total = base_total
    return tok


@lru_cache(maxsize=8)
def _place_zone_re(suffix_aliases: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    names = sorted(places()["city"] | places().get("county", frozenset()), key=len, reverse=True)
    variants = "|".join(re.escape(v) for v, _ in suffix_aliases)
    return re.compile(f"({'|'.join(map(re.escape, names))})[市县区]?({variants})")


@lru_cache(maxsize=8)
def _pos_tagger(words: tuple[str, ...]):
    """A POS tagger over the same dictionary (building one reads jieba's dictionary file: cache it)."""
    import jieba.posseg

    return jieba.posseg.POSTokenizer(_tokenizer(words))


def _zone_re() -> re.Pattern[str]:
    names = sorted(places()["city"] | places().get("county", frozenset()), key=len, reverse=True)
    head = "|".join(map(re.escape, names))
    # 「孝义经开区」「汾阳杏花村开发区」 are names; 「吕梁市开发区」 (a city's zones in general) is not.
    return re.compile(
        rf"(?:{head})(?:[县区]?(?:经济技术开发区|经开区|示范区|高新区)|[市县区]?(?:(?![市县区省])[{CJK}]){{1,4}}?(?:开发区|产业园区|产业园|专业镇))"
    )


def extract_terms(texts: Iterable[str]) -> set[str]:
    """Dictionary words found in corpus text: quoted terms, document names, zones, list items.

    >>> sorted(extract_terms(["孝义经开区实施“专业招商+全员招商”，推动惠科新材料、晋科半导体等项目"]))
    ['专业招商+全员招商', '孝义经开区', '晋科半导体']
    """
    zone_re = _zone_re()
    terms: set[str] = set()
    for text in texts:
        terms.update(m.group(1) for m in _QUOTED.finditer(text))
        terms.update(m.group(1) for m in _BOOK.finditer(text) if len(m.group(1)) <= 20)
        terms.update(m.group(0) for m in zone_re.finditer(text))
        for m in _LIST.finditer(text):
            items = m.group(1).split("、")
            terms.update(i for i in items[1:] if 2 <= len(i) <= 10)
    # Zone matches such as 「吕梁市与全省开发区」 span a conjunction: not a name.
    return {t for t in terms if not _PUNCT.match(t) and len(t) >= 2 and not re.search("[与和及的、等]", t)}


class Lexicon:
    """jieba tokeniser with corpus terms and aliases; serialisable with the index."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        place_words = {p + s for p in places()["city"] for s in ("", "市")} | set(places().get("county", ()))
        self.terms = frozenset(terms)
        self._entities: frozenset[str] | None = None
        self._words = tuple(sorted(self.terms | place_words | set(ALIASES) | {v for vs in ALIASES.values() for v in vs}))
        self._alias_of = {v: k for k, vs in ALIASES.items() for v in vs}
        self._city_short = {p + "市": p for p in places()["city"]}
        self._suffix_aliases = sorted(
            ((v, k) for k, vs in ALIASES.items() for v in vs if k.endswith("区")), key=lambda vk: -len(vk[0])
        )

    @property
    def entities(self) -> frozenset[str]:
        """Corpus terms that name something specific (三个一批, 孝义经开区, 晋科半导体).

        Terms that are ordinary words of jieba's general dictionary (项目, 土地, 新能源) are
        left out: they are searched, but never required of an answer.
        """
        if self._entities is None:
            general = _tokenizer(()).FREQ
            self._entities = frozenset(t for t in self.terms if not general.get(t))
        return self._entities

    @classmethod
    def empty(cls) -> Lexicon:
        return _empty_lexicon()

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Lexicon:
        return cls(extract_terms(texts))

    def to_json(self) -> str:
        return json.dumps(sorted(self.terms), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> Lexicon:
        return cls(json.loads(data))

    def words(self, text: str) -> list[str]:
        """jieba words of ``text`` (precise mode), punctuation dropped, stopwords kept."""
        text = fold_width(text).lower()
        return [w for w in _tokenizer(self._words).cut(text, HMM=True) if w.strip() and not _PUNCT.match(w)]

    def nouns(self, text: str) -> set[str]:
        """Noun-like words of ``text`` (jieba POS n*, proper names, unknown words), and their sub-words."""
        text = fold_width(text).lower()
        tagger = _pos_tagger(self._words)
        words = {w for w, flag in tagger.cut(text) if flag[:1] in ("n", "x", "e", "j") and w.strip() and not _PUNCT.match(w)}
        return words | {t for w in words for t in self.tokenize(w) if t in w}

    def tokenize(self, text: str) -> list[str]:
        """Search tokens: words, their sub-words (jieba search mode) and alias canonical forms.

        >>> Lexicon.empty().tokenize("吕梁经济技术开发区的签约投资额")
        ['吕梁', '经济', '技术', '开发', '开发区', '经开区', '签约', '投资', '投资额', '吕梁经开区']
        >>> Lexicon.empty().tokenize("孝义经济技术开发区")[-2:]
        ['经开区', '孝义经开区']
        """
        text = fold_width(text).lower()
        out: list[str] = []
        for word in _tokenizer(self._words).cut_for_search(text, HMM=True):
            if not word.strip() or _PUNCT.match(word) or word in STOPWORDS:
                continue
            canonical = self._alias_of.get(word)
            if canonical:
                out.append(canonical)
                continue
            out.append(word)
            for variant, canon in self._suffix_aliases:
                # 「孝义经济技术开发区」 also indexes as 「孝义经开区」 and 「经开区」.
                if word.endswith(variant) and word != variant:
                    out += [word[: -len(variant)] + canon, canon]
                    break
            short = self._city_short.get(word)
            if short:
                out.append(short)
        # A place followed by a long zone name that jieba cut apart (「吕梁」「经济技术开发区」):
        # index the short name too, so it meets 「吕梁经开区」 in documents.
        for m in _place_zone_re(tuple(self._suffix_aliases)).finditer(text):
            out.append(m.group(1) + dict(self._suffix_aliases)[m.group(2)])
        return out


@lru_cache(maxsize=1)
def _empty_lexicon() -> Lexicon:
    return Lexicon()
