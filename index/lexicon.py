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

from index.cleaning import CJK, fold_width
from index.datafiles import read_tsv
from index.gazetteer import gazetteer, place_words

log = logging.getLogger(__name__)



@lru_cache(maxsize=1)
def aliases() -> dict[str, tuple[str, ...]]:
    """Canonical form ← variants (``index/data/aliases.tsv``); both sides index to the canonical token too."""
    return {canon: tuple(v.split(",")) for _, (canon, v, _p) in read_tsv("index", "data/aliases.tsv", 3)}


# Zone suffixes after a place name that make a zone's name (孝义经开区, 萧山经济技术开发区).
ZONE_SUFFIXES = place_words("zone_suffix")
_ZONE_SUFFIX_RE = re.compile("|".join(map(re.escape, ZONE_SUFFIXES)))


STOPWORDS = frozenset(w for _, (w, _p) in read_tsv("index", "data/stopwords.tsv", 2))
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


def in_dictionary(word: str) -> bool:
    """Is ``word`` a word of jieba's own dictionary (not a new word it guessed, such as a brand)?
    Its table also holds every word's prefixes, with frequency 0: those are no words.

    >>> in_dictionary("新能源"), in_dictionary("氢澜")
    (True, False)
    """
    return _tokenizer(()).FREQ.get(word, 0) > 0


def _place_before(text: str, end: int) -> tuple[int, str] | None:
    """A city or county name ending at ``end`` (optionally followed by 市/县/区): (its start, its name).
    Zones are named after cities and counties, so a province (「山西省深化开发区…」) is not one."""
    g = gazetteer()
    heads = [end, end - 1] if end > 0 and text[end - 1] in "市县区" else [end]
    for head in heads:  # 「兴县经开区」: 兴县 is the name; 「孝义市经开区」: 孝义 is
        for length in range(min(8, head), 1, -1):
            name = text[head - length : head]
            found = g.find(name)
            if name in g.names and found and any(g.place(c).level != "province" for c in found[0].codes):
                return head - length, name
    return None


@lru_cache(maxsize=8)
def _pos_tagger(words: tuple[str, ...]):
    """A POS tagger over the same dictionary (building one reads jieba's dictionary file: cache it)."""
    import jieba.posseg

    return jieba.posseg.POSTokenizer(_tokenizer(words))


def zone_names(text: str) -> list[str]:
    """Zone names: a gazetteer place, at most four more characters, a zone suffix.

    >>> zone_names("孝义经开区和上海湾区高新技术产业开发区，吕梁市与全省开发区，吕梁市开发区")
    ['孝义经开区', '上海湾区高新技术产业开发区']
    """
    out = []
    for m in _ZONE_SUFFIX_RE.finditer(text):
        for gap in range(0, 5):
            found = _place_before(text, m.start() - gap)
            if found is None:
                continue
            start, _name = found
            middle = text[m.start() - gap : m.start()]
            # 「吕梁市开发区」 means a city's zones in general, not one zone's name.
            written = text[start : m.start()]
            g = gazetteer()
            general = gap == 0 and written.endswith("市") and any(
                g.place(c).level == "city" for m2 in g.find(written) for c in m2.codes)
            if not general and re.fullmatch(f"[{CJK}]*", middle) and not re.search("[与和及的、等省]", middle):
                out.append(text[start : m.end()])
            break
    return out


def extract_terms(texts: Iterable[str]) -> set[str]:
    """Dictionary words found in corpus text: quoted terms, document names, zones, list items.

    >>> sorted(extract_terms(["孝义经开区实施“专业招商+全员招商”，推动惠科新材料、晋科半导体等项目"]))
    ['专业招商+全员招商', '孝义经开区', '晋科半导体']
    """
    terms: set[str] = set()
    for text in texts:
        terms.update(m.group(1) for m in _QUOTED.finditer(text))
        terms.update(m.group(1) for m in _BOOK.finditer(text) if len(m.group(1)) <= 20)
        terms.update(zone_names(text))
        for m in _LIST.finditer(text):
            items = m.group(1).split("、")
            terms.update(i for i in items[1:] if 2 <= len(i) <= 10)
    # Zone matches such as 「吕梁市与全省开发区」 span a conjunction: not a name.
    return {t for t in terms if not _PUNCT.match(t) and len(t) >= 2 and not re.search("[与和及的、等]", t)}


class Lexicon:
    """jieba tokeniser with corpus terms and aliases; serialisable with the index."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self.terms = frozenset(terms)
        self._entities: frozenset[str] | None = None
        alias_table = aliases()
        self._words = tuple(sorted(self.terms | _place_words() | set(alias_table) | {v for vs in alias_table.values() for v in vs}))
        self._alias_of = {v: k for k, vs in alias_table.items() for v in vs}
        self._city_short = _city_short()
        self._suffix_aliases = sorted(
            ((v, k) for k, vs in alias_table.items() for v in vs if k.endswith("区")), key=lambda vk: -len(vk[0])
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

    def is_zone(self, word: str) -> bool:
        """A zone word (经开区, 新区) or a zone's name (孝义经开区): a place, not part of a metric's name.

        >>> Lexicon.empty().is_zone("经开区"), Lexicon.empty().is_zone("孝义经开区"), Lexicon.empty().is_zone("投资")
        (True, True, False)
        """
        return any(word.endswith(s) for s in ZONE_SUFFIXES) and (word in ZONE_SUFFIXES or bool(zone_names(word))
                                                                 or word in self.terms)

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

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """(word, jieba part of speech) of ``text`` in order (widths folded, lower-cased)."""
        text = fold_width(text).lower()
        return [(w, flag) for w, flag in _pos_tagger(self._words).cut(text) if w.strip()]

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
        for variant, canon in self._suffix_aliases:
            start = text.find(variant)
            while start >= 0:
                found = _place_before(text, start)
                if found:
                    out.append(found[1] + canon)
                start = text.find(variant, start + len(variant))
        return out


@lru_cache(maxsize=1)
def _place_words() -> frozenset[str]:
    """Place names jieba must keep whole: every full name, and the short names of cities and provinces
    (a county's short name may sit inside another word, so it is not forced on the tokeniser)."""
    g = gazetteer()
    full = {p.name for p in g.places.values() if p.match != "none"}
    shorts = {p.short for p in g.places.values() if p.level != "county" and p.match == "short"}
    return frozenset(full | shorts)


@lru_cache(maxsize=1)
def _city_short() -> dict[str, str]:
    """苏州市 → 苏州: a city's full name also indexes as its short name."""
    return {p.name: p.short for p in gazetteer().places.values() if p.level == "city" and p.short != p.name}


@lru_cache(maxsize=1)
def _empty_lexicon() -> Lexicon:
    return Lexicon()
