"""Query analysis for Chinese factual questions about bulletins.

Finds what a question is about (places, corpus terms, quoted terms), what kind
of answer it wants (a figure of some unit, a list, a date, a description) and
which period it asks about (2024年, 一季度, 今年).  Pure functions over text
and the corpus lexicon; no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from index.articles import places
from index.cleaning import fold_width

# --- figures --------------------------------------------------------------

# Units a bulletin states figures in, longest first so 「个百分点」 wins over 「个」.
UNITS = (
    "个百分点", "亿千瓦时", "万千瓦", "千瓦时", "亿美元", "万美元", "亿元", "万元", "千元", "元",
    "万吨", "吨", "万平方米", "平方米", "平方公里", "万亩", "亩", "公里", "千米", "米",
    "GW", "MW", "kW", "KW", "千瓦", "%", "％", "倍", "成",
    "万亿美元", "亿欧元", "万欧元", "欧元", "亿英镑", "英镑", "美元", "亿日元", "日元", "万人次", "人次",
    "万人", "万户", "个", "家", "名", "人", "户", "项", "条", "台", "套", "批", "次", "所", "座", "辆",
    "场", "期", "件", "栋", "大基地", "大", "年", "月", "日", "天", "号",
)
_NUM = r"[-+−]?\d+(?:[.,]\d+)*"
_UNIT_ALT = "|".join(map(re.escape, UNITS))
# A unit that starts like a multiplier (千瓦, 亿美元, 万吨) wins over the bare multiplier.
FIGURE_RE = re.compile(rf"({_NUM})\s*(?:({_UNIT_ALT})|(万亿|亿|万|千)\s*({_UNIT_ALT})?)?")
CN_NUMERALS = "零一二两三四五六七八九十百千"

MONEY = ("亿元", "万元", "元", "万亿元", "万亿", "亿", "万", "亿美元", "万美元", "美元", "万亿美元", "亿欧元",
         "万欧元", "欧元", "亿英镑", "英镑", "亿日元", "日元")
PEOPLE = ("名", "人", "万人", "人次", "万人次", "万", "亿")

# Words that reveal what unit a figure question expects.
UNIT_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("个百分点", ("个百分点",)),
    ("百分点", ("个百分点",)),
    ("增速", ("%", "个百分点")),
    ("增长", ("%", "个百分点", "亿元", "万元")),
    ("同比", ("%", "个百分点")),
    ("比重", ("%",)),
    ("占比", ("%",)),
    ("比例", ("%",)),
    ("投资", MONEY),
    ("金额", MONEY),
    ("资金", MONEY),
    ("多少钱", MONEY),
    ("补贴", MONEY),
    ("奖励", MONEY),
    ("贴息", MONEY),
    ("补助", MONEY),
    ("注册资本", MONEY),
    ("就业", PEOPLE),
    ("罚", MONEY),
    ("收入", MONEY),
    ("收益", MONEY),
    ("判", ("年", "个月")),
    ("刑", ("年", "个月")),
    ("多少人", PEOPLE),
    ("人数", PEOPLE),
    ("几个亿", ("亿元",)),
    ("亿元", ("亿元",)),
    ("万元", ("万元",)),
    ("增加值", ("亿元", "万元")),
    ("产值", ("亿元", "万元")),
    ("营收", ("亿元", "万元")),
    ("收入", ("亿元", "万元")),
    ("产能", ("GW", "MW", "万吨", "吨", "台", "套", "千瓦", "万千瓦")),
    ("年产", ("GW", "MW", "万吨", "吨", "台", "套", "千瓦", "万千瓦", "件")),
    ("GW", ("GW",)),
    ("MW", ("MW",)),
    ("装机", ("GW", "MW", "万千瓦", "千瓦")),
    ("吨", ("万吨", "吨")),
    ("发电量", ("亿千瓦时", "千瓦时", "万千瓦时")),
    ("多少大", ("大", "大基地")),
    ("面积", ("亩", "万亩", "平方米", "万平方米", "平方公里")),
    ("亩", ("亩", "万亩")),
    ("台", ("台",)),
    ("辆", ("辆",)),
    ("套", ("套",)),
    ("座", ("座",)),
    ("所", ("所",)),
    ("栋", ("栋",)),
    ("批", ("批",)),
    ("次", ("次", "人次", "万人次")),
    ("家", ("家",)),
    ("户", ("户",)),
    ("名", ("名", "人")),
    ("人才", ("名", "人")),
    ("人", PEOPLE),
    ("条", ("条",)),
    ("项", ("项", "个")),
    ("个", ("个", "项", "家", "大", "万", "亿")),
    ("几大", ("大", "大基地")),
)
FIGURE_WORDS = ("多少", "几个", "几家", "几项", "几条", "几名", "几台", "几大", "几", "规模", "投资额", "增速",
                "年产", "产能", "金额", "数量", "总投资", "how many", "how much", "number of", "多大", "多高")
LIST_WORDS = ("哪些", "哪几", "有哪", "包括哪", "都有", "列举", "分别是", "which", "what are", "list")
DATE_WORDS = ("什么时候", "何时", "哪天", "哪一天", "几月", "几日", "几号", "日期", "时间", "when", "哪年", "哪一年")
# 「哪个开发区」「哪家单位」: the answer must name an entity of that kind.
WHICH_RE = re.compile(r"(?:哪个|哪家|哪一个|哪一家|哪座|什么)(开发区|经开区|园区|城市|市|县|区|单位|部门|企业|公司|机构|地方|地区)")
WHO_WORDS = ("谁", "哪个单位", "哪家单位", "供稿", "who")

PERIODS = ("一季度", "二季度", "三季度", "四季度", "上半年", "下半年", "前三季度", "全年", "年内", "今年", "去年", "明年",
           "1-3月", "1—3月", "1至3月")
PERIOD_ALIASES = {"第一季度": "一季度", "第二季度": "二季度", "第三季度": "三季度", "第四季度": "四季度", "Q1": "一季度",
                  "Q2": "二季度", "Q3": "三季度", "Q4": "四季度", "first quarter": "一季度", "second quarter": "二季度",
                  "1-3月": "一季度", "1—3月": "一季度", "1至3月": "一季度"}
# Colloquial verbs → the bulletins' words (「这次签了多少钱」 asks for 签约投资额).
COLLOQUIAL = (("签了", "签约"), ("签下", "签约"), ("签的", "签约"), ("投了", "投资"), ("投入了", "投资"),
              ("开了工", "开工"), ("投了产", "投产"))
# A Latin word in a Chinese question (GDP, PMI): a term the evidence must contain.
LATIN_WORD_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,}(?![A-Za-z0-9])")
UNIT_WORDS = frozenset({"gw", "mw", "kw", "gwh", "mwh", "kwh"})
PER_RE = re.compile(r"每([亩台户人个家辆套吨件平方米]{1,3}?)(?=[^亩台户人个家辆套吨件]|$)")
COMPARISON_RE = re.compile(
    r"(?:超过|超|大于|高于|低于|小于|少于|不低于|不少于|不超过|至少|逾|多于)\s*[-\d.]+\s*(?:万亿|亿|万|千)?[^\s\d，。？?、]{0,3}"
    r"|[-\d.]+\s*(?:万亿|亿|万|千)?[^\s\d，。？?、]{0,3}?(?:以上|以下|左右|多)"
)
YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\s*年|(?!\d))")


@dataclass(frozen=True)
class QueryAnalysis:
    question: str
    search_text: str
    places: tuple[str, ...] = ()  # normalised: 吕梁市, 孝义, 天津市 …
    terms: tuple[str, ...] = ()  # corpus dictionary terms and quoted terms found in the question
    figure_intent: bool = False
    units: tuple[str, ...] = ()
    list_intent: bool = False
    date_intent: bool = False
    who_intent: bool = False
    years: tuple[int, ...] = ()
    periods: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()  # figures stated in the question (e.g. 5亿元)
    latin: tuple[str, ...] = ()  # Latin words of a Chinese question with no glossary entry (GDP)
    per: tuple[str, ...] = ()  # 「每亩…多少」: the figure must be stated per 亩
    which: str = ""  # kind of entity asked for by 哪个/哪家 (开发区, 市, 单位…)
    english: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def kind(self) -> str:
        if self.date_intent and not self.figure_intent:
            return "date"
        if self.figure_intent:
            return "figure"
        if self.list_intent:
            return "list"
        return "describe"


@lru_cache(maxsize=1)
def glossary() -> tuple[tuple[str, str], ...]:
    """English → Chinese terms of the bulletin domain, longest English first."""
    rows = []
    text = resources.files("assistant").joinpath("data/glossary_en_zh.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            en, zh = line.split("\t", 1)
            rows.append((en.strip().lower(), zh.strip()))
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


# City names that are also common words or districts elsewhere: a city only when written with 市.
AMBIGUOUS_CITIES = frozenset({"吉林", "朝阳", "北海", "白山", "通化"})


@lru_cache(maxsize=1)
def _place_re() -> re.Pattern[str]:
    p = places()
    names = sorted(p["city"] | p.get("county", frozenset()) | p["province"], key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, names)) + ")(市|省|县|区)?")


def find_places(text: str) -> tuple[str, ...]:
    """Places named in ``text``; cities normalised to ``XX市``.

    >>> find_places("吕梁和太原市的孝义经开区，大同呢")
    ('吕梁市', '太原市', '孝义', '大同市')
    >>> find_places("吉林省开发区"), find_places("北京市朝阳区"), find_places("那曲靖呢？")
    (('吉林省',), ('北京市',), ('曲靖市',))
    """
    p = places()
    out: list[str] = []
    m0 = re.match(r"(那么|那)", text)
    if m0 and _place_re().match(text, m0.end()):
        text = text[m0.end() :]  # 「那曲靖呢」 asks about 曲靖, not 那曲
    for m in _place_re().finditer(text):
        name, suffix = m.group(1), m.group(2) or ""
        if name in p["province"] and (suffix == "省" or name not in p["city"]):
            norm = name + ("" if name in ("内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门") else "省")
        elif name in AMBIGUOUS_CITIES and suffix != "市":
            continue  # 朝阳区, 北海公园, 长白山: not the city unless written with 市
        elif name in p["city"]:
            norm = name + "市"
        else:
            norm = name
        if norm not in out:
            out.append(norm)
    return tuple(out)


def find_figures(text: str) -> list[tuple[str, str]]:
    """(number, unit) pairs in ``text``; the unit includes a 亿/万 multiplier.

    >>> find_figures("签约投资额24.07亿元，同比增长-2.6%，高于7.3个百分点，年产56GW，装机5千瓦，12亿")
    [('24.07', '亿元'), ('-2.6', '%'), ('7.3', '个百分点'), ('56', 'GW'), ('5', '千瓦'), ('12', '亿')]
    """
    out = []
    for m in FIGURE_RE.finditer(fold_width(text)):
        number = m.group(1)
        unit = m.group(2) or (m.group(3) or "") + (m.group(4) or "")
        out.append((number.replace("−", "-"), unit.replace("％", "%")))
    return out


_ASK_RE = re.compile(r"多少|几|how many|how much|规模|多大|多高", re.I)


def _expected_units(question: str) -> tuple[str, ...]:
    """Units the asked figure may have, from the hint word nearest the question word.

    >>> _expected_units("吕梁市人才公寓建设投资多少？")[:1], _expected_units("引进了多少名高层次人才")
    (('亿元',), ('名', '人'))
    >>> _expected_units("太原工业转型升级资金有几个亿？"), _expected_units("比全市平均增速高多少个百分点？")
    (('亿元',), ('个百分点',))
    >>> _expected_units("方山光伏发电项目规模多大？"), _expected_units("落地项目每亩土地补贴多少？")[:1]
    ((), ('亿元',))
    """
    asks = [m.start() for m in _ASK_RE.finditer(question)]
    found: list[tuple[int, str, tuple[str, ...]]] = []
    for hint, hinted in UNIT_HINTS:
        for m in re.finditer(re.escape(hint), question):
            found.append((m.start(), hint, hinted))
    if not found:
        return ()
    if asks:
        # A unit right after the question word (多少名, 几家) decides, the longest hint first
        # (多少个百分点 → 个百分点, not 个); else the nearest hint before the question word.
        ask = asks[-1]
        after = [f for f in found if ask <= f[0] <= ask + 3]
        # Before the question word a one-character measure word counts only as 「每亩」「每台」:
        # elsewhere 「项」「台」 are part of a noun (「方山光伏发电项目规模多大」 asks for no 项).
        before = [f for f in found if f[0] < ask and (len(f[1]) > 1 or question[f[0] - 1 : f[0]] == "每")]
        later = [f for f in found if f[0] > ask and len(f[1]) > 1]
        if not (after or before or later):
            return ()
        chosen = (
            min(after, key=lambda f: (f[0], -len(f[1])))
            if after
            else (max(before, key=lambda f: (f[0], len(f[1]))) if before else min(later))
        )
        return chosen[2]
    units: list[str] = []
    for _, _, hinted in sorted(found):
        units += [u for u in hinted if u not in units]
    return tuple(units)


_SUB_ASK_RE = re.compile(r"多少|几[个家项条名台大]?|哪些|哪几|哪个|哪家|什么|是否|谁", re.I)


def split_compound(question: str) -> list[str]:
    """The sub-questions of a compound question, each ending with its own question word.

    Clauses without a question word join the next one that has one; a question with fewer
    than two asking clauses is returned whole.

    >>> split_compound("吕梁的运营公司有几家，平台公司完成投资多少？")
    ['吕梁的运营公司有几家', '平台公司完成投资多少']
    >>> split_compound("一季度，吕梁开发区规上工业增加值是多少？")
    ['一季度，吕梁开发区规上工业增加值是多少？']
    >>> split_compound("上海中来方山光伏发电项目的规模和投资额是多少？")
    ['上海中来方山光伏发电项目的规模和投资额是多少？']
    """
    segments = [s for s in re.split(r"(?<=[，,；;？?])", question) if s.strip("，,；;？? ")]
    asking = [bool(_SUB_ASK_RE.search(s)) and len(re.findall("[\u4e00-\u9fff]", s)) >= 4 for s in segments]
    if sum(asking) < 2:
        return [question]
    out: list[str] = []
    pending = ""
    for segment, asks in zip(segments, asking, strict=True):
        pending += segment
        if asks:
            out.append(pending.strip().rstrip("，,；;？? "))
            pending = ""
    if pending and out:
        out[-1] += pending.rstrip("，,；;？? ")
    return out


def analyse(question: str, lexicon_terms: frozenset[str] | set[str] = frozenset()) -> QueryAnalysis:
    """Analyse a (condensed) question.

    >>> a = analyse("吕梁市“三个一批”活动签约投资额是多少？", {"三个一批"})
    >>> a.places, a.terms, a.figure_intent, a.units[:3]
    (('吕梁市',), ('三个一批',), True, ('亿元', '万元', '元'))
    >>> analyse("2024年一季度吕梁有哪些项目？").years, analyse("一季度吕梁有哪些项目？").periods
    ((2024,), ('一季度',))
    """
    text = fold_width(question).strip()
    lowered = text.lower()
    english = sum(c.isascii() and c.isalpha() for c in text) > 0.5 * max(1, sum(not c.isspace() for c in text))
    translated = translate_terms(text) if any(c.isascii() and c.isalpha() for c in text) else ""
    colloquial = " ".join(canon for word, canon in COLLOQUIAL if word in text and canon not in text)
    translated = f"{translated} {colloquial}".strip()
    search_text = f"{text} {translated}".strip() if translated else text
    combined = f"{text} {translated}"

    # Quoted Chinese terms are constraints; an English quote ("three batches") is not.
    quoted = [q for q in re.findall(r"[“\"]([^”\"]{2,20})[”\"]", text) if re.search("[\u4e00-\u9fff]", q)]
    terms = [t for t in sorted(lexicon_terms, key=len, reverse=True) if len(t) >= 2 and t in combined]
    # Keep the longest: drop a term contained in a longer one already kept.
    kept: list[str] = []
    for t in quoted + terms:
        if t not in kept and not any(t in k for k in kept):
            kept.append(t)

    periods: list[str] = []
    for alias, canon in PERIOD_ALIASES.items():
        if alias.lower() in lowered and canon not in periods:
            periods.append(canon)
    for p in sorted(PERIODS, key=len, reverse=True):
        # 「前三季度」 is not also 「三季度」.
        if p in combined and PERIOD_ALIASES.get(p, p) not in periods and not any(p in q for q in periods):
            periods.append(p)

    units = _expected_units(combined)
    # 「超过4亿元」「3个以上」 are bounds, not figures the evidence must state.
    exact = COMPARISON_RE.sub(" ", text)
    numbers = tuple(f"{n}{u}" for n, u in find_figures(exact) if u and not u.startswith(("年", "月", "日")))
    # 几月几日/几号 ask for a date, not a count.
    undated = re.sub(r"几月|几日|几号|几点", "", lowered)
    figure_intent = any(w in undated for w in FIGURE_WORDS) or bool(re.search(rf"几[{CN_NUMERALS}]?[个家项条名台大]", text))
    asks_count = re.search(r"多少|(?<!哪)几[个家名项条台]|how many|how much", lowered)
    list_intent = any(w in lowered for w in LIST_WORDS) and not asks_count
    if list_intent and figure_intent and not asks_count:
        figure_intent = False  # 「哪几个专业镇」 asks for names, not a count
    which = WHICH_RE.search(text)
    glossed = {en for en, _ in glossary()}
    latin = () if english else tuple(
        dict.fromkeys(w for w in LATIN_WORD_RE.findall(text) if w.lower() not in glossed and w.lower() not in UNIT_WORDS)
    )
    return QueryAnalysis(
        question=question,
        search_text=search_text,
        places=find_places(combined),
        terms=tuple(kept),
        figure_intent=figure_intent,
        units=units if figure_intent else (),
        list_intent=list_intent,
        date_intent=any(w in lowered for w in DATE_WORDS),
        which=which.group(1) if which else "",
        who_intent=any(w in lowered for w in WHO_WORDS),
        years=tuple(sorted({int(y) for y in YEAR_RE.findall(combined)})),
        periods=tuple(periods),
        numbers=numbers,
        latin=latin,
        per=tuple(dict.fromkeys(PER_RE.findall(text))) if figure_intent else (),
        english=english,
    )
