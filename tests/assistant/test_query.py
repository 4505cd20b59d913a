"""``assistant.query``: places, figures, expected units, intents, periods and the English glossary.

Pure functions, so the checks run over many generated inputs (every city of the place
list, every glossary term, random figures) rather than a handful of eval questions.
"""

from __future__ import annotations

import random

import pytest

from assistant.query import _expected_units, analyse, find_figures, find_places, glossary, translate_terms
from index.articles import places

PLACES = places()
# Names that are also a province or a common word (index.articles.find_city requires 市 for them).
AMBIGUOUS = {"吉林", "朝阳", "北海", "白山", "通化"}
MUNICIPALITIES = {"北京", "天津", "上海", "重庆"}
REGIONS = {"内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门"}  # no 省 suffix
CITIES = sorted(PLACES["city"] - AMBIGUOUS)
PLACE_CONTEXTS = ("{}的开发区签约投资额是多少？", "今年以来，{}开发区深入贯彻落实", "{}经开区采用什么招商模式？", "关于{}，")


# --- places ------------------------------------------------------------------------------------
def test_every_city_is_normalised_to_its_shi_form_in_any_context() -> None:
    wrong = []
    for city in CITIES:
        for form in (city, city + "市"):
            for context in PLACE_CONTEXTS:
                text = context.format(form)
                if find_places(text) != (city + "市",):
                    wrong.append((text, find_places(text)))
    assert not wrong, wrong[:20]


def test_follow_up_phrasing_does_not_turn_na_plus_city_into_another_city() -> None:
    """「那曲靖呢？」 asks about 曲靖; the leading 那 of a follow-up is not the start of 那曲."""
    wrong = []
    for city in CITIES:
        for form in (city, city + "市"):
            text = f"那{form}呢？"
            if find_places(text) != (city + "市",):
                wrong.append((text, find_places(text)))
    assert not wrong, wrong


def test_counties_keep_their_short_name_with_or_without_suffix() -> None:
    wrong = []
    for county in sorted(PLACES["county"]):
        for text in (f"{county}开发区", f"{county}市的项目", f"{county}县呢", f"太原市{county}"):
            got = find_places(text)
            if county not in got or any(p.startswith(county) and p != county for p in got):
                wrong.append((text, got))
    assert not wrong, wrong[:20]


def test_city_and_county_in_one_question_are_both_found_in_order() -> None:
    assert find_places("吕梁和太原市的孝义经开区，大同呢") == ("吕梁市", "太原市", "孝义", "大同市")
    assert find_places("太原市清徐县老陈醋专业镇") == ("太原市", "清徐")
    assert find_places("吕梁市吕梁、文水等开发区") == ("吕梁市", "文水")  # a repeated place is listed once


@pytest.mark.parametrize("province", sorted(PLACES["province"] - MUNICIPALITIES - REGIONS - AMBIGUOUS))
def test_provinces_get_sheng(province: str) -> None:
    assert find_places(f"{province}开发区") == (province + "省",)
    assert find_places(f"{province}省开发区") == (province + "省",)


def test_municipalities_and_regions() -> None:
    for name in sorted(MUNICIPALITIES):
        assert find_places(f"{name}开发区") == (name + "市",)
        assert find_places(f"{name}市开发区") == (name + "市",)
    for name in sorted(REGIONS):
        assert find_places(f"{name}开发区") == (name,)
    assert find_places("市政府与天津市南开区签订战略合作协议") == ("天津市",)


def test_jilin_city_with_shi_is_the_city() -> None:
    assert find_places("吉林市开发区") == ("吉林市",)
    assert find_places("辽宁省朝阳市开发区") == ("辽宁省", "朝阳市")


def test_jilin_sheng_is_the_province() -> None:
    """「吉林」 is both a province and a city: with 省 it is the province, normalised like any other."""
    assert find_places("吉林省开发区工作简报") == ("吉林省",)


@pytest.mark.parametrize(
    "text",
    ["北京市朝阳区的开发区", "大力发展朝阳产业", "长白山脚下的旅游项目", "北海公园", "通化路"],
    ids=["beijing-chaoyang-district", "chaoyang-industry", "changbaishan", "beihai-park", "tonghua-road"],
)
def test_ambiguous_names_without_shi_are_not_taken_for_cities(text: str) -> None:
    """As in ``index.articles.find_city``: 吉林/朝阳/北海/白山/通化 are cities only when written with 市."""
    found = find_places(text)
    assert not any(p[:-1] in AMBIGUOUS and p.endswith("市") for p in found), found


def test_no_places_in_text_without_any() -> None:
    for text in ("全市开发区", "签约投资额是多少？", "What is the growth rate?", ""):
        assert find_places(text) == ()


# --- figures -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("签约投资额24.07亿元，同比增长-2.6%，高于7.3个百分点，年产56GW",
         [("24.07", "亿元"), ("-2.6", "%"), ("7.3", "个百分点"), ("56", "GW")]),
        ("签约投资额 24.07 亿元；开工项目 10 个", [("24.07", "亿元"), ("10", "个")]),
        ("同比增长−2.6％", [("-2.6", "%")]),
        ("２４.０７亿元", [("24.07", "亿元")]),
        ("年产15万吨电机壳体铸件", [("15", "万吨")]),
        ("投资3.5亿元的上海中来智慧新能源方山100MW光伏发电项目", [("3.5", "亿元"), ("100", "MW")]),
        ("完成基础设施建设投资0.64亿元，招引项目10个、总投资36.175亿元",
         [("0.64", "亿元"), ("10", "个"), ("36.175", "亿元")]),
        ("约999亿", [("999", "亿")]),
    ],
)
def test_find_figures_examples(text: str, expected: list[tuple[str, str]]) -> None:
    assert find_figures(text) == expected


UNIT_SAMPLE = ("亿元", "万元", "元", "%", "个百分点", "GW", "MW", "万吨", "吨", "万千瓦", "亿千瓦时", "平方公里", "万亩",
               "亩", "个", "家", "名", "户", "项", "条", "台", "倍")


def test_random_figures_are_never_split_and_keep_their_sign() -> None:
    rng = random.Random(20240)
    for _ in range(400):
        integer = str(rng.randint(0, 99999))
        number = integer + (f".{rng.randint(0, 999):0{rng.randint(1, 3)}d}" if rng.random() < 0.6 else "")
        sign = rng.choice(["", "", "-", "−", "+"])
        unit = rng.choice(UNIT_SAMPLE)
        space = rng.choice(["", " "])
        text = f"一季度，全市开发区完成{sign}{number}{space}{unit}，其他"
        expected_number = ("-" if sign in "-−" and sign else sign) + number
        assert find_figures(text)[0] == (expected_number, unit), text


def test_full_width_digits_give_the_same_figures() -> None:
    table = str.maketrans("0123456789.%", "０１２３４５６７８９．％")
    rng = random.Random(7)
    for _ in range(100):
        number = f"{rng.randint(1, 999)}.{rng.randint(1, 99)}"
        unit = rng.choice(["亿元", "%", "个百分点", "万吨"])
        ascii_text = f"签约投资额{number}{unit}"
        assert find_figures(ascii_text.translate(table)) == find_figures(ascii_text) == [(number, unit)]


@pytest.mark.parametrize("unit", ["千瓦", "千瓦时", "亿美元", "万美元"], ids=["kW", "kWh", "100M-USD", "10k-USD"])
def test_units_beginning_with_a_multiplier_character_are_kept_whole(unit: str) -> None:
    """UNITS lists 千瓦/千瓦时/亿美元/万美元, so 「5千瓦」 is (5, 千瓦), not (5, 千)."""
    assert find_figures(f"装机5{unit}，") == [("5", unit)]


def test_years_and_dates_are_figures_with_date_units() -> None:
    assert find_figures("2024年，吕梁市") == [("2024", "年")]
    assert analyse("2024年吕梁签约了多少个项目？").numbers == ()  # a year is not a stated figure


def test_numbers_stated_in_the_question() -> None:
    assert analyse("其中投资5亿元的是哪些项目？").numbers == ("5亿元",)
    assert analyse("投资3.5亿元的那个光伏项目是哪家的？").numbers == ("3.5亿元",)


# --- expected units ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("吕梁开发区引进了多少名高层次人才？", "名"),
        ("吕梁开发区一共成立了多少家运营公司？", "家"),
        ("苏州氢澜科技年产多少台发动机？", "台"),
        ("晶科能源项目年产多少GW？", "GW"),
        ("投资多少亿元？", "亿元"),
        ("太原工业转型升级资金有几个亿？", "亿元"),
        ("吕梁“三个一批”里投资亿元以上的项目有多少个？", "个"),
        ("标准化厂房面积多少亩？", "亩"),
        ("江苏玄智年产多少万吨铸件？", "万吨"),
    ],
)
def test_a_unit_right_after_the_question_word_decides(question: str, first: str) -> None:
    assert _expected_units(question)[:1] == (first,)


def test_percentage_points_right_after_the_question_word() -> None:
    """「高多少个百分点」 asks for 个百分点, not for a count of 个."""
    assert _expected_units("比全市平均增速高多少个百分点？")[:1] == ("个百分点",)


HINTS = {"投资": "亿元", "增速": "%", "人才": "名", "产能": "GW", "面积": "亩", "占比": "%", "发电量": "亿千瓦时"}


def test_the_hint_nearest_before_the_question_word_wins() -> None:
    wrong = []
    for far, near in ((a, b) for a in HINTS for b in HINTS if HINTS[a] != HINTS[b]):
        for template in ("吕梁{far}项目的{near}是多少？", "{far}方面，{near}有多少", "太原市{far}和{near}规模多大？"):
            question = template.format(far=far, near=near)
            got = _expected_units(question)
            if got[:1] != (HINTS[near],):
                wrong.append((question, got))
    assert not wrong, wrong[:20]


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("吕梁市人才公寓建设投资多少？", "亿元"),
        ("吕梁开发区一季度规上工业增加值增速是多少？", "%"),
        ("吕梁开发区一季度工业投资增速是多少？", "%"),
        ("规上工业增加值同比增长多少？", "%"),
        ("战略性新兴产业项目投资金额多少？", "亿元"),
    ],
)
def test_nearest_hint_examples(question: str, first: str) -> None:
    assert _expected_units(question)[:1] == (first,)


@pytest.mark.parametrize(
    "question",
    ["方山光伏发电项目规模多大？", "平台公司招引项目总规模多大？", "专家团队规模多大？", "运营平台的规模多大"],
)
def test_a_measure_word_inside_a_noun_is_no_unit(question: str) -> None:
    """「项目」「平台」「专家」 contain 项/台/家 but ask for no count of them."""
    assert not {"项", "台", "家"} & set(_expected_units(question))


@pytest.mark.parametrize(
    ("question", "per"),
    [("落地项目每亩土地补贴多少？", ("亩",)), ("每亩地价是多少", ("亩",)), ("每台设备补贴多少元", ("台",)),
     ("每个项目平均投资多少", ("个",)), ("吕梁签约投资额是多少", ())],
)
def test_a_per_unit_question_names_its_unit(question: str, per: tuple[str, ...]) -> None:
    """「每亩…多少」 needs a figure stated per 亩; a bare total does not answer it."""
    assert analyse(question).per == per


def test_a_measure_word_inside_a_noun_after_the_question_word_is_no_unit() -> None:
    """English questions are searched with 「多少 高层次 人才」: its 次 is not the unit asked."""
    assert "次" not in _expected_units("多少 高层次 人才 吕梁市")


def test_no_units_without_a_figure_question() -> None:
    assert _expected_units("太原有哪些专业镇？") == ()
    assert analyse("太原构建现代化产业体系，主攻方向是什么？").units == ()


# --- kinds of question ---------------------------------------------------------------------------
THINGS = ("专业镇", "开发区", "项目", "企业", "中试基地", "产业链")


@pytest.mark.parametrize("thing", THINGS)
def test_which_ones_is_a_list_and_how_many_is_a_count(thing: str) -> None:
    for question in (f"太原有哪几个{thing}？", f"太原有哪些{thing}？", f"太原的{thing}都有哪些？", f"列举太原的{thing}"):
        a = analyse(question)
        assert (a.kind, a.list_intent, a.figure_intent) == ("list", True, False), question
    for question in (f"太原有多少个{thing}？", f"太原有几个{thing}？", f"太原一共有多少{thing}？",
                     f"太原有哪些{thing}，一共多少个？"):  # a count asked beside 哪些 is still a count
        a = analyse(question)
        assert (a.kind, a.figure_intent, a.list_intent) == ("figure", True, False), question


@pytest.mark.parametrize(
    "question",
    ["吕梁市政府什么时候与南开区签订协议？", "吕梁市政府何时与南开区签订协议？", "吕梁市政府哪天与南开区签订协议？",
     "吕梁是哪一年开展“三个一批”活动的？", "签约的日期是？", "When did Lvliang sign the agreement?"],
)
def test_date_questions(question: str) -> None:
    a = analyse(question)
    assert a.date_intent and a.kind == "date", a


@pytest.mark.parametrize(
    "question",
    ["吕梁市政府几月几日与南开区签订协议？", "战略合作协议是几号签的？", "战略合作协议是几月份签的？"],
    ids=["ji-yue-ji-ri", "ji-hao", "ji-yue-fen"],
)
def test_date_questions_with_ji_are_dates_not_figures(question: str) -> None:
    """「几月几日」「几号」 ask for a date: answering them needs a date, not a figure with a unit."""
    a = analyse(question)
    assert a.date_intent and a.kind == "date", a


@pytest.mark.parametrize(
    ("question", "which"),
    [("哪个开发区采用订单式招商模式？", "开发区"), ("“管运分离”改革在哪一个经开区先行试点？", "经开区"),
     ("太原那篇稿件的供稿单位是哪家单位？", "单位"), ("这是哪座城市的做法？", "城市"),
     ("由什么部门审核备案？", "部门"), ("吕梁市政府跟哪个区签了协议？", "区")],
)
def test_which_entity(question: str, which: str) -> None:
    assert analyse(question).which == which


def test_no_which_entity_for_other_questions() -> None:
    for question in ("太原有哪些专业镇？", "签约投资额是多少？", "吕梁经开区采用什么招商模式？"):
        assert analyse(question).which == ""


def test_who_intent() -> None:
    assert analyse("吕梁那篇稿子是谁供的稿？").who_intent
    assert analyse("Who supplied the Lüliang article?").who_intent
    assert not analyse("吕梁签约了多少个项目？").who_intent


# --- years and periods ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "years"),
    [("2021年吕梁签约投资额？", (2021,)), ("吕梁 2024 年提质升级行动方案", (2024,)), ("2024吕梁签约", (2024,)),
     ("2019年和2022年相比", (2019, 2022)), ("签约项目12个，24.07亿元", ()), ("年产1000台", ()), ("编号20245个", ())],
)
def test_years(question: str, years: tuple[int, ...]) -> None:
    assert analyse(question).years == years


@pytest.mark.parametrize(
    ("question", "period"),
    [("一季度吕梁增加值多少？", "一季度"), ("第一季度吕梁增加值多少？", "一季度"), ("吕梁Q1增加值多少？", "一季度"),
     ("吕梁q1增加值多少？", "一季度"), ("吕梁1-3月增加值多少？", "一季度"), ("吕梁1至3月增加值多少？", "一季度"),
     ("first quarter output of Lvliang", "一季度"), ("第二季度吕梁增加值", "二季度"), ("Q3吕梁增加值", "三季度"),
     ("第四季度吕梁增加值", "四季度"), ("上半年吕梁增加值", "上半年"), ("全年投资达到多少？", "全年"),
     ("今年吕梁新增工业用地怎么出让？", "今年")],
)
def test_periods_are_canonical(question: str, period: str) -> None:
    assert analyse(question).periods == (period,)


def test_a_cumulative_period_is_one_period() -> None:
    """「前三季度」 (Q1–Q3) is not also 「三季度」 (Q3 alone)."""
    assert analyse("吕梁前三季度规上工业增加值完成多少？").periods == ("前三季度",)


def test_year_and_period_together() -> None:
    a = analyse("2024年一季度吕梁规上工业增加值完成多少？")
    assert (a.years, a.periods) == ((2024,), ("一季度",))


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
    assert a.english and a.places == ("吕梁市",) and a.figure_intent
    assert "项目" in a.search_text and "签约" in a.search_text and a.search_text.startswith("How many")
    mixed = analyse("吕梁平台公司 Q1 招引项目的 total investment 是多少？")
    assert not mixed.english and mixed.periods == ("一季度",) and "投资" in mixed.search_text
    assert analyse("吕梁签约了多少个项目？").search_text == "吕梁签约了多少个项目？"  # nothing added to Chinese


def test_terms_keep_the_longest_and_quoted_chinese_terms() -> None:
    a = analyse("吕梁市“三个一批”活动签约投资额是多少？", {"三个一批", "一批", "签约投资额"})
    assert a.terms[0] == "三个一批" and "一批" not in a.terms and "签约投资额" in a.terms
    assert analyse('What about the "three batches" campaign?').terms == ()  # an English quote is no constraint


# --- colloquial and Latin words --------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "word"), [("吕梁这次签了多少钱的项目？", "签约"), ("开工的项目一共投了多少", "投资")])
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
        ("投资超过4亿元的项目有哪些", ()),  # a bound, not a figure the evidence must state
        ("投资3亿元以上的项目", ()),
        ("招引项目不少于3个的开发区", ()),
    ],
)
def test_only_exact_figures_of_the_question_are_constraints(question: str, numbers: tuple[str, ...]) -> None:
    assert analyse(question).numbers == numbers
