"""The one time parser: the periods a text states (2024年一季度, 今年上半年, 1至7月, 8月13日), as spans.

Relative words resolve against the document's year, not today's: 今年 in a bulletin of
2023 is 2023, and 一季度 without a year is the first quarter of the document's year.  With no
document year, a period keeps its months and compares on them alone.  The words and their
months are data (``index/data/periods.tsv``).

>>> [(p.text, p.span(2023)) for p in find_periods("今年一季度增长12%，2022年1至7月供应106宗，截至2022年底")]
[('今年一季度', ((2023, 1, 1), (2023, 3, 31))), ('2022年1至7月', ((2022, 1, 1), (2022, 7, 31))), ('2022年底', ((2022, 12, 1), (2022, 12, 31)))]
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from functools import lru_cache

from index.cleaning import fold_width
from index.datafiles import read_tsv
from index.figures import CN_DIGITS, cn_number

DATA_FILE = "data/periods.tsv"
ERA_FILE = "data/eras.tsv"
# The prefixes that make a number of any length a year (ablation: no-era-years).
COMMON_ERA = "公元|西元"
# A year is four digits before 年, from 1000 to 2999: reports cite history too (「1388年」「1941年」),
# not only the 1900s and 2000s (ablation: modern-years-only).
YEAR = r"[12]\d{3}"
# Dates written in Chinese numerals (二〇二三年七月十一日, 七月初十, 十月廿一): a year of four digits
# 〇-九, a month 一 to 十二, a day 一 to 卅一 (the traditional 初/廿/卅 too).  A day with no 日 counts
# only where it cannot be a count: after 初/廿/卅, or right before punctuation.
YEAR_CN = r"[一二][〇零一二三四五六七八九]{3}"
MONTH_CN = r"十[一二]?|[一二三四五六七八九]"
DAY_CN = r"初(?:十|[一二三四五六七八九])|[二三]十[一二三四五六七八九]?|廿[一二三四五六七八九]?|卅一?|十[一二三四五六七八九]?|[一二三四五六七八九]"
# A day inside an asked span is when, within it, not another period (benchmarks/ablations.py
# switches it off to measure it).
DAY_WITHIN_SPAN = True
# A period after 比/较 is a comparison's base, not a period reported on (ablation: no-comparison-base).
COMPARISON_BASE = True
Day = tuple[int, int, int]


@dataclass(frozen=True)
class Period:
    text: str
    start: int
    end: int
    first_month: int
    last_month: int
    year: int | None = None  # stated: 2024年…
    year_offset: int | None = None  # relative: 今年 0, 去年 -1
    day: int | None = None  # 8月13日
    since: bool = False  # 「…以来」「…至今」: from the period on
    until: bool = False  # 「截至…」: up to the period's end
    bare_year: bool = False  # just a year (2024年, 今年): a whole year only by default, not a stated 全年

    def conflicts(self, other: Period, base_year: int | None = None, other_base: int | None = None) -> bool:
        """Does ``other`` state a different period where this one is asked?  Another span stated by
        a period word (上半年 for 一季度, 全年 for 一季度), or another year; a bare year says nothing
        about the months, and 「…以来」 spans include what they start from.

        >>> q1 = find_periods("一季度")[0]
        >>> [q1.conflicts(p) for p in find_periods("上半年，全年，2024年，2017年以来")]
        [True, True, False, False]
        >>> find_periods("2021年")[0].conflicts(find_periods("2020年")[0]), find_periods("2021年")[0].conflicts(find_periods("上半年")[0])
        (True, False)
        >>> aug = find_periods("2023年8月")[0]
        >>> aug.conflicts(find_periods("8月7日")[0], 2023, 2023), aug.conflicts(find_periods("7月30日")[0], 2023, 2023)
        (False, True)
        """
        if other.since or self.same_as(other, base_year, other_base):
            return False
        mine, theirs = self.year_in(base_year), other.year_in(other_base)
        if mine is not None and theirs is not None and mine != theirs and (self.year is not None or other.year is not None):
            return True
        if other.bare_year or self.bare_year:
            return False
        if (DAY_WITHIN_SPAN and other.day is not None and self.day is None
                and self.first_month <= other.first_month <= self.last_month):
            return False  # a day inside the asked span (「8月7日，举办签约仪式」 for 「2023年8月…签约仪式」) is when, within it
        return (self.first_month, self.last_month, self.day) != (other.first_month, other.last_month, other.day)

    @property
    def granularity(self) -> str:
        """day | month | months | part (a quarter, a half) | year."""
        if self.day is not None:
            return "day"
        if self.first_month == self.last_month:
            return "month"
        if (self.first_month, self.last_month) == (1, 12):
            return "year"
        return "part"

    def year_in(self, base_year: int | None) -> int | None:
        if self.year is not None:
            return self.year
        if base_year is None:
            return None
        return base_year + (self.year_offset or 0)

    def span(self, base_year: int | None = None) -> tuple[Day, Day] | None:
        """First and last day, or None when the year is unknown."""
        year = self.year_in(base_year)
        if year is None or year < 1:
            return None  # before the common era (公元前221年): no calendar days to compare
        if self.day is not None:
            return (year, self.first_month, self.day), (year, self.first_month, self.day)
        last = calendar.monthrange(year, self.last_month)[1]
        return (year, self.first_month, 1), (year, self.last_month, last)

    def same_as(self, other: Period, base_year: int | None = None, other_base: int | None = None) -> bool:
        """Do both name the same span?  Years count only when both are known.

        >>> a, b, c = find_periods("今年一季度")[0], find_periods("2023年第一季度")[0], find_periods("上半年")[0]
        >>> a.same_as(b, 2023), a.same_as(b, 2024), a.same_as(c, 2023, 2023), a.same_as(b)
        (True, False, False, True)
        """
        if (self.first_month, self.last_month, self.day) != (other.first_month, other.last_month, other.day):
            return False
        mine, theirs = self.year_in(base_year), other.year_in(other_base)
        return mine is None or theirs is None or mine == theirs


@lru_cache(maxsize=1)
def _words() -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
    periods: dict[str, tuple[int, int]] = {}
    years: dict[str, int] = {}
    for section, (word, first, last, offset, _provenance) in read_tsv("index", DATA_FILE, 5):
        if section == "year":
            years[word] = int(offset)
        elif section == "period":
            periods[word] = (int(first), int(last))
    return periods, years


@lru_cache(maxsize=1)
def _eras() -> dict[str, tuple[int, int | None]]:
    """Era name → (first year, last year or None while still counted), from ``data/eras.tsv``."""
    return {era: (int(first), None if last == "-" else int(last))
            for _section, (era, first, last, _provenance) in read_tsv("index", ERA_FILE, 4)}


def _era_prefixes() -> tuple[str, ...]:
    return (*_eras(), *COMMON_ERA.split("|"))


@lru_cache(maxsize=1)
def _era_re() -> re.Pattern[str]:
    """Any era name or common-era prefix (one scan of a text: a loop of ``in`` tests costs 4× more)."""
    return re.compile("|".join(map(re.escape, _era_prefixes())))


def era_year(era: str, number: str) -> int | None:
    """The Gregorian year of year ``number`` (Arabic, Chinese numerals, or 元) of ``era``, or None
    when the era has no such year.

    >>> era_year("民国", "十六"), era_year("昭和", "四十九"), era_year("康熙", "元"), era_year("宣统", "十")
    (1927, 1974, 1662, None)
    """
    first, last = _eras()[era]
    n = 1 if number == "元" else int(number) if number.isdigit() else cn_number(number)
    if not n:
        return None
    year = first + n - 1
    return year if last is None or year <= last else None


def _ends_word(text: str, end: int, window: int = 4) -> bool:
    """Does a word end at offset ``end`` of ``text`` (jieba's cut of the characters around it)?  An
    era name inside another word (the 明治 of 「文明治理」, the 同治 of 「共同治理」) is none.

    >>> _ends_word("清康熙二十三年", 3), _ends_word("开展文明治理3年行动", 5), _ends_word("组阁。\\n昭和五十五年", 6)
    (True, False, True)
    """
    from index.lexicon import Lexicon

    start = max(0, end - window)
    at = start
    for word, _flag in Lexicon.empty().tagged(text[start : end + window]):
        found = text.find(word, at)  # the tagger drops spaces and line breaks: find each word
        at = (found if found >= 0 else at) + len(word)
        if at >= end:
            return at == end
    return True


@lru_cache(maxsize=4)
def _section_words(section: str) -> tuple[str, ...]:
    """The words of one section of ``periods.tsv`` that are no period themselves ([comparison], [dateline])."""
    return tuple(w for sec, (w, *_rest) in read_tsv("index", DATA_FILE, 5) if sec == section)


def is_deictic(span: str) -> bool:
    """Does a time expression place its time relative to the text or speaker (「目前」「随后」「近年来」),
    or measure a stretch of time (「半年」), rather than name one on the calendar or in history
    (「康熙年间」「东汉时期」)?

    >>> is_deictic("目前"), is_deictic("近年来"), is_deictic("康熙年间"), is_deictic("清末民初")
    (True, True, False, False)
    """
    return any(w in span for w in _section_words("deictic"))


def is_dateline(text: str, end: int) -> bool:
    """Does the date ending at ``end`` open a news dateline (「中新网7月28日电」), dating the report
    rather than what it reports?

    >>> is_dateline("中新网7月28日电 今年上半年", 8), is_dateline("7月28日，全市签约", 5)
    (True, False)
    """
    return bool(dateline_word(text, end))


def dateline_word(text: str, at: int) -> str:
    """The dateline word (电, 讯: periods.tsv [dateline]) at ``at``, or ""."""
    return next((w for w in _section_words("dateline") if text.startswith(w, at)), "")


def is_base(text: str, start: int) -> bool:
    """Does the period at ``start`` follow a comparison word, as the base the figure is compared
    with (「比上年同期增长39%」), so that the text gives no figure of that period?

    >>> is_base("比上年同期增长39%", 1), is_base("较 2022年增长", 2), is_base("2023年产值比2022年", 0), is_base("2023年产值比2022年", 8)
    (True, True, False, True)
    """
    words = _section_words("comparison")
    if not COMPARISON_BASE or not words:
        return False
    before = text[max(0, start - max(map(len, words)) - 2) : start].rstrip()  # a short window: no copy of a long text
    return any(before.endswith(w) for w in words)


@lru_cache(maxsize=2)
def _pattern(eras: bool = False) -> re.Pattern[str]:
    """The period pattern; with ``eras``, years of an era and of the common era too (a text naming
    none is read without them: their alternatives cost a fifth of the parser's time)."""
    periods, years = _words()
    word = "|".join(map(re.escape, sorted(periods, key=len, reverse=True)))
    rel = "|".join(map(re.escape, sorted(years, key=len, reverse=True)))
    dash = r"\s*(?:至|到|-|—|–|~|－)\s*"
    # Every part of the pattern is optional, so it is tried at each character: a lookahead for the
    # characters a period can start with lets the others fail at once (about 7× faster).
    starts = set("0123456789截到") | set("〇零一二三四五六七八九十廿卅")
    starts |= {w[0] for w in [*periods, *years, *(_era_prefixes() if eras else ())]}
    first = "".join(sorted(re.escape(c) for c in starts))
    named = "|".join(map(re.escape, sorted(_eras(), key=len, reverse=True)))
    # An era's year (民国十六年, 昭和49年) or a year of the common era, before it too (公元前221年,
    # 西元337年): any number of digits, as the prefix says it is a year.
    era = (rf"|(?P<era>{named})(?P<en>元|\d{{1,3}}|[一二三四五六七八九十]{{1,4}})\s*年(?!代)"
           rf"|(?P<ad>{COMMON_ERA})(?P<bc>前)?(?P<ya>\d{{1,4}})\s*年(?!代)") if eras else ""
    return re.compile(
        rf"(?=[{first}])"
        rf"(?P<until>截至|截止到?|到)?\s*"
        rf"(?:(?<!\d)(?P<y>{YEAR})\s*年度?(?P<edge>底|末|初)?(?!代)|(?<![〇零一二三四五六七八九十])(?P<yc>{YEAR_CN})年"
        rf"{era}|(?P<rel>{rel}))?\s*"
        rf"(?:(?P<word>{word})|(?P<m1>1[0-2]|0?[1-9]){dash}(?P<m2>1[0-2]|0?[1-9])\s*月份?"
        rf"|(?P<m>1[0-2]|0?[1-9])\s*月份?(?:(?P<d>3[01]|[12]\d|0?[1-9])\s*[日号])?"
        rf"|(?<![〇零一二三四五六七八九十百千万几])(?P<mc>{MONTH_CN})月(?:(?P<dc>{DAY_CN})(?P<dmark>[日号])?)?)?"
        rf"(?P<since>以来|至今)?"
    )


def _cn_year(digits: str) -> int:
    """「二〇二三」 → 2023 (digit by digit).

    >>> _cn_year("二〇二三"), _cn_year("一九九六")
    (2023, 1996)
    """
    return int("".join(str(CN_DIGITS[c]) for c in digits))


def _cn_day(text: str) -> int:
    """A month or day in Chinese numerals, the traditional 初/廿/卅 included.

    >>> [_cn_day(t) for t in ("初十", "十一", "廿一", "二十三", "卅一", "七", "十")]
    [10, 11, 21, 23, 31, 7, 10]
    """
    value = cn_number(text.removeprefix("初").replace("廿", "二十").replace("卅", "三十"))
    assert value is not None, text  # the pattern only lets numerals through
    return value


_NO_ERA: dict[str, str | None] = {}


def find_periods(text: str, bases: bool = False) -> list[Period]:
    """Periods stated in ``text``, left to right; a bare year (2022年) is a whole-year period, and
    the base of a comparison (比上年同期, 较2022年) is none unless ``bases`` (every period word).

    >>> [(p.text, p.granularity, p.year, p.year_offset) for p in find_periods("2023年上半年，去年，8月13日，2017年以来，1-3月")]
    [('2023年上半年', 'part', 2023, None), ('去年', 'year', None, -1), ('8月13日', 'day', None, None), ('2017年以来', 'year', 2017, None), ('1-3月', 'part', None, None)]
    >>> find_periods("项目1922个，20世纪90年代"), find_periods("截至2023年6月末")[0].until
    ([], True)
    >>> [p.text for p in find_periods("今年上半年，吞吐量比上年同期增长39%，较2022年全年")]
    ['今年上半年']
    """
    periods, years = _words()
    folded = fold_width(text)
    out: list[Period] = []
    named_era = bool(_era_re().search(folded))
    groups = ("y", "yc", "era", "ad", "rel", "word", "m1", "m", "mc") if named_era else ("y", "yc", "rel", "word", "m1", "m", "mc")
    for m in _pattern(named_era).finditer(folded):
        # The era groups exist only in the pattern for texts naming an era (a dict per match costs a fifth).
        era = m.groupdict() if named_era else _NO_ERA
        year = int(m.group("y")) if m.group("y") else _cn_year(m.group("yc")) if m.group("yc") else None
        if era.get("era"):
            year = era_year(era["era"], era["en"])
            if year is None or not _ends_word(folded, m.end("era")):
                continue  # 「宣统十年」: no such year; 「文明治理3年」: no 明治 but 治理
        elif era.get("ya"):
            year = -int(era["ya"]) if era["bc"] else int(era["ya"])
        offset = years.get(m.group("rel") or "")
        day = int(m.group("d")) if m.group("d") else None
        b, since = m.end(), bool(m.group("since"))
        if m.group("dc"):
            day = _cn_day(m.group("dc"))
            after = folded[m.end("dc") : m.end("dc") + 1]
            if (not m.group("dmark") and not since and m.group("dc")[0] not in "初廿卅"
                    and after and after not in "，,。；;、：:！？!? \n"):
                day, b = None, m.start("dc")  # 「七月十五个项目」: a count, not the 15th
        if m.group("word"):
            first, last = periods[m.group("word")]
        elif m.group("m1"):
            first, last = int(m.group("m1")), int(m.group("m2"))
            if first > last:
                continue
        elif m.group("m"):
            first = last = int(m.group("m"))
        elif m.group("mc"):
            first = last = _cn_day(m.group("mc"))
        elif m.group("edge"):
            first = last = 1 if m.group("edge") == "初" else 12
        elif year is not None or offset is not None:
            first, last = 1, 12
        else:
            continue
        a = min(m.start(g) for g in groups if m.group(g))
        if not bases and is_base(folded, a):
            continue  # 「比上年同期增长39%」 reports the change, no figure of 上年
        out.append(
            Period(
                text=folded[a:b].strip(),
                start=a,
                end=b,
                first_month=first,
                last_month=last,
                year=year,
                year_offset=offset,
                day=day,
                since=since,
                until=bool(m.group("until")) and m.group("until").startswith("截"),
                bare_year=not (m.group("word") or m.group("m1") or m.group("m") or m.group("mc") or m.group("edge")),
            )
        )
    return out


def governing_period(text: str, sent_start: int) -> list[Period]:
    """The span a sentence with no period of its own is reported in: the last span (a quarter, a
    half, months, a stated whole year) set off as a topic earlier in its passage, opening a clause
    and followed by a comma.  Reports open a paragraph with it (「上半年，…。全区完成规模以上工业总
    产值109.6亿元」).  A day or a month (when something happened), a bare year and 「…以来」 govern
    nothing.

    >>> t = "在一季度良好开局的基础上，上半年，平谷区GDP实现206.7亿元。特色农牧产品生产向好。全区完成规模以上工业总产值109.6亿元。"
    >>> [p.text for p in governing_period(t, t.index("全区"))], governing_period(t, 0)
    (['上半年'], [])
    >>> t = "8月7日，举办签约仪式。签约项目12个。"
    >>> governing_period(t, t.index("签约项目"))
    []
    """
    return [q for q in topics(text) if q.end < sent_start][-1:]


@lru_cache(maxsize=512)
def topics(text: str) -> tuple[Period, ...]:
    """The spans ``text`` sets off as topics (see ``governing_period``), once per article: every
    candidate clause of a period question asks."""
    return tuple(q for q in find_periods(text) if sets_off(text, q))


def sets_off(text: str, q: Period) -> bool:
    """Does ``text`` set the span ``q`` off as a topic: opening a clause, followed by a comma, a
    quarter, a half, months or a stated whole year (not a day, a bare year or 「…以来」)?

    >>> t = "上半年，全省实施项目1922个。8月7日，举办签约仪式。"
    >>> [(p.text, sets_off(t, p)) for p in find_periods(t)]
    [('上半年', True), ('8月7日', False)]
    """
    return (text[q.end : q.end + 1] in ("，", ",") and (q.start == 0 or text[q.start - 1] in "。！？!?；;，, \n")
            and q.granularity in ("part", "year") and not q.bare_year and not q.since and q.day is None)
