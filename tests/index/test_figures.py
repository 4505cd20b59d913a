"""The one figure parser: units from data, values, whole-number matching."""

from __future__ import annotations

import pytest

from index.figures import find_figures, quantities, same_figure, supported, units


@pytest.mark.parametrize(
    ("text", "key", "kind", "value"),
    [
        ("签约投资额24.07亿元", "24.07亿元", "money", 2.407e9),
        ("同比增长-2.6%", "-2.6%", "percent", -2.6),
        ("增长５．２％", "5.2%", "percent", 5.2),  # full-width digits and ％
        ("年产56GW垂直一体化", "56GW", "power", 5.6e7),
        ("高于全省7.3个百分点", "7.3个百分点", "points", 7.3),
        ("年货运周转能力3500万吨以上", "3500万吨", "mass", 3.5e7),
        ("建设人才公寓800 套", "800套", "count", 800),
        ("投资总额达到102.4亿美元", "102.4亿美元", "money", 1.024e10),
        ("交易价值近700亿美金", "700亿美金", "money", 7e10),  # 美金: 美元 in everyday usage
        ("供应工矿仓储用地106宗", "106宗", "count", 106),
        ("拿出2000余万元", "2000万元", "money", 2e7),
        ("贷款余额2.5万亿元", "2.5万亿元", "money", 2.5e12),
        ("Apple投资1,000亿元", "1000亿元", "money", 1e11),
        # SI units (GB 3100): 千 starts the unit, it multiplies no number (「330千伏」 is no 330,000)
        ("玉树果洛二回330千伏线路工程", "330千伏", "voltage", 3.3e5),
        ("新建220kV变电站", "220kV", "voltage", 2.2e5),
        ("主变容量2×180兆伏安", "180兆伏安", "apparent power", 1.8e5),
        ("设计压力15兆帕", "15兆帕", "pressure", 1.5e7),
        ("AI服务器配32GB内存", "32GB", "data", 3.2e10),
    ],
)
def test_figures_parse_number_multiplier_unit(text: str, key: str, kind: str, value: float) -> None:
    f = next(f for f in find_figures(text) if f.is_quantity)
    assert (f.key, f.kind) == (key, kind)
    assert f.value == pytest.approx(value)


def test_offsets_point_at_the_printed_figure() -> None:
    text = "本次活动，签约项目12个，签约投资额24.07亿元；"
    spans = [text[f.start : f.end] for f in find_figures(text)]
    assert spans == ["12个", "24.07亿元"]


def test_whole_numbers_only() -> None:
    assert not supported("7个", "有47个项目")
    assert not supported("7个", "增长7.3个百分点")
    assert not supported("4亿元", "投资14亿元")
    assert supported("44家", "共有44家浙江企业上榜")


def test_equal_values_in_other_multipliers_are_the_same_figure() -> None:
    a, b = find_figures("5亿元")[0], find_figures("50000万元")[0]
    assert same_figure(a, b)
    assert not same_figure(find_figures("5亿元")[0], find_figures("5亿美元")[0])
    assert same_figure(find_figures("5亿美金")[0], find_figures("5亿美元")[0])


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("总投资3亿5000万元，", "3.5亿元", 3.5e8),
        ("引进人才2万5千人", "2.5万人", 2.5e4),
        ("两亿三千万元", "2.3亿元", 2.3e8),
        ("预算2亿4940万日圆", "2.494亿日圆", 2.494e8),
        ("同比下降-1亿2000万美元", "-1.2亿美元", -1.2e8),
    ],
)
def test_a_compound_numeral_is_one_figure(text: str, key: str, value: float) -> None:
    [f] = [f for f in find_figures(text) if f.is_quantity]
    assert f.key == key and f.value == pytest.approx(value)


def test_a_compound_numeral_verifies_its_decimal_form_and_no_part_of_it() -> None:
    """An answer's 3.5亿元 is the passage's 3亿5000万元; its 5000万元 is not a figure the passage states."""
    passage = "项目总投资3亿5000万元，"
    assert supported("3.5亿元", passage) and supported("35000万元", passage)
    assert not supported("5000万元", passage) and not supported("3亿元", passage)


def test_parts_that_do_not_make_one_numeral_stay_apart() -> None:
    texts = [f.text for f in find_figures("3亿、5000万元；1.2亿3000万；2万2023年")]
    assert texts == ["3亿", "5000万元", "1.2亿", "3000万", "2万", "2023年"]


def test_every_unit_of_the_data_file_is_read_and_checked() -> None:
    for name, unit in units().units.items():
        found = find_figures(f"共12{name}，")
        assert found and found[0].unit in (name, "%"), name
        assert unit.provenance, f"{name} has no provenance"


def test_chinese_numerals_count_with_a_unit_but_not_as_articles() -> None:
    assert [f.key for f in find_figures("培育九条产业链，两家企业")] == ["9条", "2家"]
    assert find_figures("一批项目，三是加快建设") == []


def test_quantities_skip_calendar_dates_and_single_digits() -> None:
    assert [f.key for f in quantities("7月11日签约3个项目，共3期，总额2.5亿")] == ["3个", "3期", "2.5亿"]


def test_fractions_in_words_are_shares_as_percentages() -> None:
    found = find_figures("流域面积仅占全省的五分之一，增长百分之5.2，企业达12个")
    assert [(f.text, f.kind, f.key) for f in found] == [("五分之一", "percent", "20%"), ("百分之5.2", "percent", "5.2%"),
                                                        ("12个", "count", "12个")]
    # An answer's 「20%」 is verified by a passage's 「五分之一」, and the other way round.
    assert supported("20%", "约占五分之一") and supported("三分之二", "占比三分之二以上")
    assert supported("5.2%", "增长百分之5.2") and not supported("25%", "约占五分之一")
