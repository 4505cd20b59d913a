"""``assistant.query``: places, answer kinds, expected units, periods and the English glossary.

Pure functions, so the checks run over many generated inputs (every city of the national
gazetteer, every glossary term) rather than a handful of eval questions.
"""

from __future__ import annotations

import pytest

from assistant.query import analyse, answer_kind, expected_units, find_places, glossary, translate_terms
from index.gazetteer import gazetteer

G = gazetteer()
CITIES = sorted((p for p in G.places.values() if p.level == "city" and p.match == "short"), key=lambda p: p.code)
PLACE_CONTEXTS = ("{}的开发区签约投资额是多少？", "今年以来，{}开发区深入贯彻落实", "{}经开区采用什么招商模式？", "关于{}，")


def codes(text: str) -> list[tuple[str, ...]]:
    return [p.codes for p in find_places(text)]


# --- places ------------------------------------------------------------------------------------
def test_every_city_of_china_is_found_by_either_name_in_any_context() -> None:
    wrong = []
    for city in CITIES:
        for form in {city.name, city.short}:
            for context in PLACE_CONTEXTS:
                text = context.format(form)
                found = codes(text)
                if not found or city.code not in found[0]:
                    wrong.append((text, [p.name for p in find_places(text)]))
    assert len(wrong) <= 0.01 * len(CITIES) * len(PLACE_CONTEXTS), wrong[:20]


def test_follow_up_na_does_not_start_a_place_name() -> None:
    """「那曲靖呢？」 asks about 曲靖; the leading 那 of a follow-up is not the start of 那曲."""
    assert [p.name for p in find_places("那曲靖呢？")] == ["曲靖"]
    assert [p.name for p in find_places("那曲市呢？")] == ["那曲市"]


def test_counties_of_any_province() -> None:
    assert [p.name for p in find_places("陕西宝鸡眉县的签约额")] == ["陕西", "宝鸡", "眉县"]
    assert [p.name for p in find_places("襄阳市襄州区新增市场主体")] == ["襄阳市", "襄州区"]


def test_no_places_in_text_without_any() -> None:
    for text in ("签约投资额是多少？", "合作共赢的项目有哪些", "重大安全风险防控项目"):
        assert find_places(text) == (), text


# --- answer kinds and units -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("谁枪击了安倍晋三？", "person"),
        ("首趟RCEP班列的起点？", "place"),
        ("专板由哪家机构负责具体运营？", "org"),
        ("行动方案是哪天出台的？", "time"),
        ("萧山经开区是哪一年经国务院批准设立的？", "time"),
        ("共有多少家浙江企业上榜？", "number"),
        ("印控克什米尔地区寺庙踩踏事故死亡人数", "number"),
        ("太原有哪些专业镇？", "list"),
        ("哪几个专业镇加快项目建设？", "list"),
        ("投资5亿元的项目有哪两个？", "list"),  # 哪 + a numeral asks for names
        ("有几个专业镇？", "number"),
        ("吕梁市是怎么优化营商环境的？", "how"),
        ("主攻方向是什么？", "entity"),
        ("和几位合伙人成立了什么公司？", "org"),
    ],
)
def test_answer_kinds(question: str, kind: str) -> None:
    assert answer_kind(question) == kind


@pytest.mark.parametrize(
    ("question", "units", "kinds"),
    [
        ("有多少家企业上榜？", ("家",), ()),
        ("比全市平均增速高多少个百分点？", ("个百分点",), ()),
        ("总投资是多少亿元？", ("元",), ()),
        ("人才公寓建设投资多少？", (), ("money",)),
        ("规上工业增加值同比增长多少？", (), ("percent", "points", "money")),
        ("一共帮企业省下了多少初始成本？", (), ("money",)),
        ("项目规模多大？", (), ()),
        ("2022年全年技术合同成交额是多少？", (), ("money",)),  # an amount (额) of money
        ("从签约到开工用了多长时间？", (), ("time",)),  # a duration: 5个月, not 120亿元
    ],
)
def test_expected_units(question: str, units: tuple, kinds: tuple) -> None:
    assert expected_units(question) == (units, kinds)


def test_a_per_unit_question_names_its_unit() -> None:
    assert analyse("落地项目每亩土地补贴多少？").per == ("亩",)
    assert analyse("每辆车价值多少？").per[:1] == ("辆",)


# --- periods -------------------------------------------------------------------------------------
def test_periods_of_a_question_are_spans() -> None:
    [p] = analyse("2024年一季度吕梁规上工业增加值完成多少？").periods
    assert (p.year, p.first_month, p.last_month) == (2024, 1, 3)
    assert analyse("2024年一季度吕梁有哪些项目？").years == (2024,)
    [q] = analyse("今年上半年新设立外商投资企业多少家？").periods
    assert (q.year, q.year_offset, q.last_month) == (None, 0, 6)


# --- English and mixed questions -----------------------------------------------------------------
def test_every_glossary_term_translates_when_it_stands_alone() -> None:
    wrong = []
    for en, zh in glossary():
        for text in (f"Tell me about {en} please", f"{en.upper()}?", f"({en})", f"吕梁的{en}是多少"):
            if zh not in translate_terms(text).split():
                wrong.append((text, translate_terms(text)))
    assert not wrong, wrong[:20]


def test_glossary_words_inside_longer_words_do_not_translate() -> None:
    """Whole words only: 「JinkoSolar」 is 晶科能源, never 光伏; 「reinvestment」 is not 投资."""
    wrong = []
    for en, _ in glossary():
        if " " in en or "-" in en:
            continue
        for text in (f"zz{en}zz", f"x{en}", f"{en}y"):
            if translate_terms(text):
                wrong.append((text, translate_terms(text)))
    assert not wrong, wrong[:20]


@pytest.mark.parametrize(
    ("question", "present", "absent"),
    [
        ("What is JinkoSolar's capacity?", {"晶科能源", "产能"}, {"光伏"}),
        ("jinkosolar vertically integrated base", {"晶科能源", "垂直一体化", "基地"}, {"光伏"}),
        ("solar projects in Lvliang", {"光伏", "项目", "吕梁市"}, set()),
        ("keynote speech", set(), {"重点"}),
        ("reinvestment plans", set(), {"投资"}),
        ("How much investment was signed in Lüliang's three batches campaign?",
         {"多少", "投资", "签约", "吕梁市", "三个一批"}, set()),
    ],
)
def test_translation_examples(question: str, present: set[str], absent: set[str]) -> None:
    words = set(translate_terms(question).split())
    assert present <= words and not (absent & words), words


def test_english_questions_are_searched_with_chinese_words() -> None:
    a = analyse("How many projects were signed in Lvliang?")
    assert a.english and a.place_names == ("吕梁市",) and a.figure_intent
    assert "项目" in a.search_text and "签约" in a.search_text and a.search_text.startswith("How many")
    mixed = analyse("吕梁平台公司 Q1 招引项目的 total investment 是多少？")
    assert not mixed.english and [p.text for p in mixed.periods] == ["Q1"] and "投资" in mixed.search_text
    assert analyse("吕梁签约了多少个项目？").search_text == "吕梁签约了多少个项目？"  # nothing added to Chinese


def test_an_english_what_is_the_total_asks_for_a_figure() -> None:
    """「what was the total X」 asks an amount, as 「how much」 does, not for a thing (「what」 → 什么)."""
    q = "In Lüliang's campaign, how many projects were signed and what was the total signed investment?"
    assert analyse(q).answer_kind == "number"
    assert analyse("What is the annual capacity of JinkoSolar's base?").answer_kind == "entity"


def test_terms_keep_the_longest_and_quoted_chinese_terms() -> None:
    a = analyse("吕梁市“三个一批”活动签约投资额是多少？", {"三个一批", "一批", "签约投资额"})
    assert a.terms[0] == "三个一批" and "一批" not in a.terms and "签约投资额" in a.terms
    assert analyse('What about the "three batches" campaign?').terms == ()  # an English quote is no constraint


# --- colloquial and Latin words --------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "word"), [("吕梁这次签了多少钱的项目？", "签约"), ("开工的项目一共投了多少", "投资"),
                                                    ("铁西区今年上半年外资实际用了多少？", "利用")])
def test_colloquial_verbs_add_the_bulletin_word_to_the_search(question: str, word: str) -> None:
    analysis = analyse(question)
    assert word in analysis.search_text and analysis.search_text.startswith(question)


@pytest.mark.parametrize(
    ("question", "latin"),
    [
        ("太原市的GDP是多少", ("GDP",)),
        ("吕梁开发区的PMI和CPI分别是多少", ("PMI", "CPI")),
        ("晶科能源年产56GW，装机5MW", ()),  # units
        ("吕梁开发区 Q1 规上工业增加值 YoY 增速", ()),  # Q1 is a period, YoY is in the glossary
        ("How many projects were signed in Lüliang?", ()),  # an English question is translated instead
    ],
)
def test_latin_words_of_a_chinese_question(question: str, latin: tuple[str, ...]) -> None:
    assert analyse(question).latin == latin


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("吕梁的运营公司有几家，平台公司投资多少？", ["吕梁的运营公司有几家", "平台公司投资多少"]),
        ("三个一批里吕梁开工了几个项目？总投资多少？", ["三个一批里吕梁开工了几个项目", "总投资多少"]),
        ("一季度，吕梁规上工业增加值是多少？", ["一季度，吕梁规上工业增加值是多少？"]),  # one question word
        ("吕梁和太原分别有哪些开发区？", ["吕梁和太原分别有哪些开发区？"]),
        ("有调区意向的开发区有几个？扩区呢？", ["有调区意向的开发区有几个？扩区呢？"]),  # 扩区呢 asks nothing itself
        # A clause ending in a locative frames the question (几 there is "several", 几内亚 a name).
        ("在近几年中，哪个开发区签约投资额最高？", ["在近几年中，哪个开发区签约投资额最高？"]),
        ("新几内亚的气候除了东南沿海之外，属于哪一种气候？", ["新几内亚的气候除了东南沿海之外，属于哪一种气候？"]),
        # Two asks in a series (、) are two questions; a series of verbs before one ask is one.
        ("2014年新建的九年一贯制学校，投资多少、占地多少亩？", ["2014年新建的九年一贯制学校，投资多少", "占地多少亩"]),
        ("方山光伏项目装机多大、投资多少？", ["方山光伏项目装机多大", "投资多少"]),
        ("吕梁签约、开工和投产的项目一共多少个？", ["吕梁签约、开工和投产的项目一共多少个？"]),
    ],
)
def test_split_compound(question: str, parts: list[str]) -> None:
    from assistant.query import split_compound

    assert split_compound(question) == parts


@pytest.mark.parametrize(
    ("question", "numbers"),
    [
        ("其中投资5亿元的是哪些？", ("5亿元",)),
        ("投资5 亿元的项目", ("5亿元",)),
        ("增资4亿美元扩大在华业务的韩国企业是哪家？", ("4亿美元",)),
        ("投资超过4亿元的项目有哪些", ()),  # a bound, not a figure the evidence must state
        ("投资3亿元以上的项目", ()),
        ("招引项目不少于3个的开发区", ()),
    ],
)
def test_only_exact_figures_of_the_question_are_constraints(question: str, numbers: tuple[str, ...]) -> None:
    assert analyse(question).numbers == numbers


@pytest.mark.parametrize(("question", "kind"), [
    ("吕梁为什么要开展“三个一批”活动？", "why"),  # 什么 inside 为什么 is no question word of its own
    ("“三大计划”分别是什么？", "list"),  # the bare 什么 after 分别是 is part of it
    ("CVPR2022在哪举办", "place"),
    ("签约项目和总投资分别是多少？", "number"),
    ("采取了什么措施？", "how"),
])
def test_a_question_word_inside_or_after_another_is_part_of_it(question: str, kind: str) -> None:
    assert answer_kind(question) == kind
