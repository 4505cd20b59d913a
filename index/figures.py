"""The one figure parser: numbers with their multiplier and unit, as printed and normalised.

Query analysis (which unit a question asks for), the answerer (does a clause state a figure of
that unit), verification (is every figure of an answer in a cited passage) and the figure table
all read figures through this module.  Units and multipliers are data
(``index/data/units.tsv``, each with its provenance), not constants spread over modules.

A figure is ``number [余|多] [multiplier] [余|多] [unit]``; a unit that starts like a
multiplier (千瓦, 千米) wins over the multiplier.  Chinese numerals (十二个, 两家) count too.

>>> [(f.text, f.kind, f.value) for f in find_figures("签约投资额24.07亿元，增长-2.6%，年产56GW，2000余万元，十二个")]
[('24.07亿元', 'money', 2407000000.0), ('-2.6%', 'percent', -2.6), ('56GW', 'power', 56000000.0), ('2000余万元', 'money', 20000000.0), ('十二个', 'count', 12.0)]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from index.cleaning import fold_width
from index.datafiles import read_tsv

DATA_FILE = "data/units.tsv"
CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
# Kinds that name a point in time rather than a quantity: not an answer to 「多少」 unless asked.
DATE_KINDS = frozenset({"date"})


@dataclass(frozen=True)
class Unit:
    name: str
    kind: str
    base: str
    factor: float
    provenance: str


@dataclass(frozen=True)
class Figure:
    text: str  # as printed (width-folded): 24.07亿元
    start: int
    end: int
    number: str  # Arabic digits: 24.07
    multiplier: str  # 亿, 万, "" …
    unit: str  # 元, %, 个 … ("" for a bare number)
    kind: str  # money, percent, count, power … ("number" for a bare number)
    base: str  # the unit the value is expressed in: 元, 千瓦 …
    value: float  # number × multiplier × unit factor
    approx: str = ""  # 余 / 多 (「40余家」)
    ordinal: bool = False  # 第21名

    @property
    def key(self) -> str:
        """Number, multiplier and unit without spacing or approximation marks: 2000万元."""
        return f"{self.number}{self.multiplier}{self.unit}"

    @property
    def is_quantity(self) -> bool:
        """A figure with a unit or a multiplier that is not a calendar date (7月11日)."""
        return bool(self.unit or self.multiplier) and self.kind not in DATE_KINDS


@dataclass(frozen=True)
class _Units:
    units: dict[str, Unit]
    multipliers: dict[str, float]
    pattern: re.Pattern[str]


@lru_cache(maxsize=1)
def units() -> _Units:
    table: dict[str, Unit] = {}
    multipliers: dict[str, float] = {}
    for section, cols in read_tsv("index", DATA_FILE, 5):
        name, kind, base, factor, provenance = cols
        if section == "multiplier":
            multipliers[name] = float(factor)
        else:
            table[name] = Unit(name, kind, base, float(factor), provenance)
    unit_alt = "|".join(map(re.escape, sorted(table, key=len, reverse=True)))
    mult_alt = "|".join(map(re.escape, sorted(multipliers, key=len, reverse=True)))
    cn = "零〇一二两三四五六七八九十百千"
    number = rf"(?P<num>[-+−]?\d+(?:,\d{{3}})*(?:\.\d+)?)|(?P<cn>[{cn}]+)"
    pattern = re.compile(
        rf"(?P<ord>第)?(?:{number})\s*(?P<ap1>余|多)?\s*"
        rf"(?:(?P<unit1>{unit_alt})|(?P<mult>{mult_alt})\s*(?P<ap2>余|多)?\s*(?P<unit2>{unit_alt})?)?"
    )
    return _Units(table, multipliers, pattern)


# A fraction in words (五分之一, 百分之三十, 千分之五, 3分之2): a share, read as a percentage.
FRACTION_RE = re.compile(r"(?P<den>[一二两三四五六七八九十百千万]+|\d+)分之(?P<fnum>\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+)")


def _fraction(m: re.Match[str]) -> float | None:
    """The percentage a ``FRACTION_RE`` match states, or None when it is no fraction.

    >>> [round(_fraction(FRACTION_RE.search(t)), 2) for t in ("五分之一", "百分之三十", "千分之五", "3分之2", "百分之5.2")]
    [20.0, 30.0, 0.5, 66.67, 5.2]
    """
    den_text, raw = m.group("den"), m.group("fnum")
    den = int(den_text) if den_text.isdigit() else 10000 if den_text == "万" else cn_number(den_text)
    num = float(raw) if raw[0].isdigit() else cn_number(raw)
    if not den or num is None:
        return None
    return num / den * 100


def cn_number(text: str) -> int | None:
    """Value of a Chinese numeral up to the thousands.

    >>> cn_number("十二"), cn_number("三十七"), cn_number("两"), cn_number("一百零五"), cn_number("百")
    (12, 37, 2, 105, 100)
    """
    total, digit = 0, None
    for ch in text:
        if ch in CN_DIGITS:
            digit = CN_DIGITS[ch]
        elif ch in CN_UNITS:
            total += (1 if digit is None else digit) * CN_UNITS[ch]
            digit = None
        else:
            return None
    return total + (digit or 0)


def find_figures(text: str) -> list[Figure]:
    """Every figure in ``text``; offsets index ``text`` (widths are folded first: same length).

    A Chinese numeral counts only with a unit (「三是」 is not a figure, nor the article 「一批」);
    a bare Arabic number is kept with kind ``number``.

    >>> [(f.key, f.kind) for f in find_figures("第21名，3500万吨以上，1.05亿，7.3个百分点，5千瓦，2023年7月11日")]
    [('21名', 'count'), ('3500万吨', 'mass'), ('1.05亿', 'number'), ('7.3个百分点', 'points'), ('5千瓦', 'power'), ('2023年', 'time'), ('7月', 'date'), ('11日', 'date')]
    >>> [f.key for f in find_figures("三是紧盯营商环境，一批项目，“三个一批”活动")], find_figures("第21名")[0].ordinal
    ([], True)
    """
    u = units()
    folded = fold_width(text)
    out: list[Figure] = []
    pending: set[int] = set()  # starts of leading Chinese-numeral parts (两亿 of 两亿三千万元)
    fractions = [(m, v) for m in FRACTION_RE.finditer(folded) if (v := _fraction(m)) is not None]
    for m, value in fractions:
        number = f"{value:.2f}".rstrip("0").rstrip(".")
        out.append(Figure(text=m.group(), start=m.start(), end=m.end(), number=number, multiplier="", unit="%",
                          kind="percent", base="%", value=float(number)))
    for m in u.pattern.finditer(folded):
        if any(f.start() <= m.start() < f.end() for f, _v in fractions):
            continue  # the numerator of 「百分之5.2」 is part of the fraction
        unit = m.group("unit1") or m.group("unit2") or ""
        mult = m.group("mult") or ""
        leading = False  # 「两亿三千万元」: a Chinese numeral with a multiplier only, kept if a smaller part follows
        if m.group("cn") is not None:
            value = cn_number(m.group("cn"))
            leading = bool(mult) and not unit and value is not None and value > 0
            # 「一批项目」「一家企业」: a lone 一 is an article, not a figure; 「“三个一批”」 is a name.
            if not leading and (value is None or not unit or m.group("cn") == "一"
                                or u.units[unit].kind not in ("count", "time", "money")
                                or folded.count("“", 0, m.start()) > folded.count("”", 0, m.start())):
                continue
            number = str(value)
        else:
            number = m.group("num").replace(",", "").replace("−", "-")
        if unit in ("%", "％"):
            unit = "%"
        info = u.units.get(unit)
        factor = u.multipliers.get(mult, 1.0) * (info.factor if info else 1.0)
        end = m.end()
        while end > m.start() and folded[end - 1].isspace():
            end -= 1
        out.append(
            Figure(
                text=folded[m.start("ord") if m.group("ord") else m.start() : end],
                start=m.start(),
                end=end,
                number=number,
                multiplier=mult,
                unit=unit,
                kind=info.kind if info else "number",
                base=info.base if info else "",
                value=float(number) * factor,
                approx=m.group("ap1") or m.group("ap2") or "",
                ordinal=bool(m.group("ord")),
            )
        )
        if leading:
            pending.add(out[-1].start)
    out = _join_compounds(out, folded) if COMPOUND_NUMERALS else out
    out = [f for f in out if f.start not in pending or f.unit]  # a leading part that found no rest
    return sorted(out, key=lambda f: f.start) if fractions else out


# Join a compound numeral's parts (benchmarks/RESULTS.md, 2026-12-07: compound numerals).
COMPOUND_NUMERALS = True


def _join_compounds(figures: list[Figure], folded: str) -> list[Figure]:
    """「3亿5000万元」「2万5千元」「两亿三千万元」: a number with a multiplier and no unit, followed
    at once by a smaller part, is one figure (3.5亿元), as Chinese writes big numbers from the
    largest part down.  The part must fit below the multiplier before it (5000万 < 1亿).

    >>> [(f.text, f.key, f.value) for f in find_figures("总投资3亿5000万元，2万5千人，-3亿5000万元，两亿三千万元")]
    [('3亿5000万元', '3.5亿元', 350000000.0), ('2万5千人', '2.5万人', 25000.0), ('-3亿5000万元', '-3.5亿元', -350000000.0), ('两亿三千万元', '2.3亿元', 230000000.0)]
    >>> [f.text for f in find_figures("3亿、5000万元，1.2亿3000万，1万2，2万2023年，1亿1234万5678年前")]
    ['3亿', '5000万元', '1.2亿', '3000万', '1万', '2', '2万', '2023年', '1亿1234万', '5678年']
    """
    u = units()
    out: list[Figure] = []
    for f in figures:
        prev = out[-1] if out else None
        # The parts: a whole number before (1.2亿3000万 is two figures), and after it a part with a
        # multiplier or a unit of an amount (「2万2023年」 is a count and a year; 「1万2」 is left alone).
        if (prev is not None and prev.multiplier and not prev.unit and not prev.approx and not prev.ordinal
                and prev.number.lstrip("-").isdigit() and f.start == prev.end and f.number.isdigit() and not f.ordinal
                and (f.multiplier or (f.unit and f.kind not in ("time", *DATE_KINDS)))):
            top = u.multipliers[prev.multiplier]
            rest = float(f.number) * u.multipliers.get(f.multiplier, 1.0)
            if rest < top:
                total = float(prev.number) * top + (-rest if prev.number.startswith("-") else rest)
                number = f"{total / top:.10f}".rstrip("0").rstrip(".")
                info = u.units.get(f.unit)
                out[-1] = replace(f, text=folded[prev.start : f.end], start=prev.start, number=number,
                                  multiplier=prev.multiplier, value=total * (info.factor if info else 1.0))
                continue
        out.append(f)
    return out


def same_figure(a: Figure, b: Figure) -> bool:
    """Do two figures state the same quantity?  Equal keys, or equal values in the same base unit
    (5亿元 and 50000万元), never a number inside another (7个 vs 47个 vs 7.3个).

    >>> f = lambda s: find_figures(s)[0]
    >>> same_figure(f("5亿元"), f("50000万元")), same_figure(f("7个"), f("47个")), same_figure(f("7个"), f("7.3个"))
    (True, False, False)
    >>> same_figure(f("7个"), f("7个百分点")), same_figure(f("24.07亿元"), f("24.07 亿元"))
    (False, True)
    """
    if a.key == b.key:
        return True
    if not a.unit and a.multiplier and (a.number, a.multiplier) == (b.number, b.multiplier):
        return True  # 「999亿」 abbreviates 「999亿元」
    if not (a.unit or a.multiplier) or a.kind != b.kind or a.base != b.base:
        return False
    return math.isclose(a.value, b.value, rel_tol=1e-9, abs_tol=1e-9)


def supported(figure: str | Figure, passage: str) -> bool:
    """Is ``figure`` stated in ``passage`` (as a whole number, ``same_figure``)?

    >>> supported("7个", "有47个项目"), supported("47个", "有47个项目"), supported("800套", "建设人才公寓800 套")
    (False, True, True)
    """
    if isinstance(figure, str):
        found = find_figures(figure)
        if not found:
            return figure in fold_width(passage)
        figure = found[0]
    return any(same_figure(figure, other) for other in find_figures(passage))


def quantities(text: str) -> list[Figure]:
    """The figures of ``text`` that a verifier checks: quantities (with a unit or multiplier, not a
    calendar date or year) and bare numbers of two or more digits.

    >>> [f.key for f in quantities("2023年7月11日签约12个项目，共3期，44家，总额1.05亿，历时3年")]
    ['12个', '3期', '44家', '1.05亿', '3年']
    """
    return [f for f in find_figures(text) if (f.is_quantity and not is_year(f))
            or (f.kind == "number" and len(f.number.lstrip("-+").split(".")[0]) >= 2 and not is_year(f))]


def is_year(f: Figure) -> bool:
    """2023年 (or a bare 2023 right before 年/-): a calendar year, not a quantity."""
    return f.unit in ("年", "") and not f.multiplier and f.number.isdigit() and 1900 <= int(f.number) <= 2100


@lru_cache(maxsize=1)
def _bound_words() -> dict[str, tuple[str, ...]]:
    rows = read_tsv("index", "data/metric_words.tsv", 2)
    return {s: tuple(sorted((w for sec, (w, _p) in rows if sec == s), key=len, reverse=True)) for s in ("over", "under", "about")}


def bound(text: str, f: Figure) -> str:
    """How ``f`` (found in ``text``) bounds the true value: "over" (逾285亿元, 40余家), "under"
    (近700亿元), "about" (约120亿元, 120亿元左右) or "" for a figure stated exactly.

    >>> [bound(t, find_figures(t)[0]) for t in ("签约总金额逾285亿元", "投资近700亿元", "约120亿元", "40余家", "12个左右", "达285.49亿元")]
    ['over', 'under', 'about', 'over', 'about', '']
    """
    if f.approx:
        return "over"
    words = _bound_words()
    for kind in ("over", "under", "about"):
        if text.endswith(words[kind], 0, f.start) or (kind == "about" and text.startswith(words[kind], f.end)):
            return kind
    return ""


def refines(exact: Figure, rough: Figure, how: str, slack: float = 0.1) -> bool:
    """Could ``exact`` be the value ``rough`` states roughly (``how``: over, under, about)?  The same
    base unit, within ``slack`` of it, on the side the bound allows, and more precise.

    >>> r, e = find_figures("285亿元")[0], find_figures("285.49亿元")[0]
    >>> refines(e, r, "over"), refines(e, r, "under"), refines(find_figures("687亿元")[0], find_figures("700亿元")[0], "under")
    (True, False, True)
    """
    if not how or exact.base != rough.base or not rough.value or exact.value == rough.value:
        return False
    if abs(exact.value - rough.value) > slack * abs(rough.value):
        return False
    return (how == "over" and exact.value >= rough.value) or (how == "under" and exact.value <= rough.value) or how == "about"
