"""The one time parser: periods as spans, relative words against the document's year."""

from __future__ import annotations

import pytest

from index.periods import find_periods


@pytest.mark.parametrize(
    ("text", "first", "last", "year"),
    [
        ("2024年一季度", 1, 3, 2024),
        ("2023年上半年", 1, 6, 2023),
        ("前三季度", 1, 9, None),
        ("2023年1至7月", 1, 7, 2023),
        ("1—3月", 1, 3, None),
        ("截至2022年底", 12, 12, 2022),
        ("2015年", 1, 12, 2015),
        ("第四季度", 10, 12, None),
    ],
)
def test_period_spans(text: str, first: int, last: int, year: int | None) -> None:
    p = find_periods(text)[0]
    assert (p.first_month, p.last_month, p.year) == (first, last, year)


def test_relative_words_take_the_documents_year() -> None:
    this_year = find_periods("今年一季度")[0]
    assert this_year.span(2023) == ((2023, 1, 1), (2023, 3, 31))
    assert find_periods("去年")[0].span(2024) == ((2023, 1, 1), (2023, 12, 31))
    assert this_year.span(None) is None


def test_same_span_compares_months_and_known_years() -> None:
    q1, h1 = find_periods("一季度")[0], find_periods("上半年")[0]
    assert not q1.same_as(h1)
    assert q1.same_as(find_periods("2023年第一季度")[0], 2023)
    assert not q1.same_as(find_periods("2024年第一季度")[0], 2023)


def test_numbers_that_are_not_years_are_not_periods() -> None:
    assert find_periods("项目1922个，签约12个，20世纪90年代") == []


def test_a_year_of_history_is_a_year_but_a_longer_number_is_none() -> None:
    assert [(p.text, p.year) for p in find_periods("1388年元天元帝被杀害，1941年5月中条山战役")] == [
        ("1388年", 1388), ("1941年5月", 1941)]
    assert find_periods("距今21000年，有1500家企业") == []


@pytest.mark.parametrize(
    ("text", "year", "month", "day"),
    [
        ("二〇二三年七月十一日，项目开工", 2023, 7, 11),
        ("七月初十，平安自真定趁虚攻北平", None, 7, 10),
        ("十月廿一，入松亭关。", None, 10, 21),
        ("七月十一，攻破居庸关；", None, 7, 11),
        ("去年十二月，签约项目", None, 12, None),
    ],
)
def test_dates_in_chinese_numerals(text: str, year: int | None, month: int, day: int | None) -> None:
    p = find_periods(text)[0]
    assert (p.year, p.first_month, p.day) == (year, month, day)


def test_a_chinese_number_after_a_month_is_a_day_only_where_it_cannot_be_a_count() -> None:
    assert [(p.text, p.day) for p in find_periods("七月十五个项目开工，三个月后投产")] == [("七月", None)]


@pytest.mark.parametrize(
    ("text", "stated", "year", "month"),
    [
        ("民国十六年1月，蒋中正任命阎锡山为北路总司令", "民国十六年1月", 1927, 1),
        ("昭和四十九年10月，文艺春秋刊出报道", "昭和四十九年10月", 1974, 10),
        ("康熙二十三年设台湾府", "康熙二十三年", 1684, None),
        ("民国元年，临时政府成立", "民国元年", 1912, None),
        ("西元337年，君士坦丁大帝下令禁用", "西元337年", 337, None),
        ("最古老的星图出现在公元前1534年的古埃及", "公元前1534年", -1534, None),
    ],
)
def test_years_of_an_era_and_of_the_common_era(text: str, stated: str, year: int, month: int | None) -> None:
    p = find_periods(text)[0]
    assert (p.text, p.year) == (stated, year)
    assert (p.first_month if month else p.granularity) == (month or "year")


def test_a_year_an_era_does_not_have_or_a_bare_short_year_is_no_period() -> None:
    # 宣统 ended in its third year; a number of years without a prefix is a stretch of time.
    assert find_periods("宣统十年") == [] and find_periods("已有600年历史") == []
    # An era name inside another word is none: 「文明治理」 holds 明治, 「共同治理」 同治.
    assert find_periods("开展文明治理3年行动") == [] and find_periods("推进共同治理2年") == []
    assert [p.year for p in find_periods("清康熙二十三年设台湾府，明万历十年")] == [1684, 1582]
    assert find_periods("公元前221年")[0].span() is None  # no calendar days before the common era


def test_niandu_alone_is_no_period_but_a_year_before_it_is() -> None:
    assert [p.text for p in find_periods("年度投入财政资金2000余万元，年度考核指标")] == []
    assert [p.text for p in find_periods("2023年度投入财政资金")] == ["2023年度"]
    assert [(p.text, p.year_offset) for p in find_periods("本年度投入，上年度")] == [("本年度", 0), ("上年度", -1)]


def test_a_year_recalled_after_ji_is_no_period_of_the_sentence() -> None:
    """「继2021年之后，再度入围…并将获得5000万元」: the year after 继 is the earlier time it happened,
    as the base after 比 is; a year the sentence reports in is still one."""
    text = "绵阳市游仙区继2021年之后，再度入围重点开发区先进县，并将获得5000万元省级财政奖励。"
    assert [p.text for p in find_periods(text)] == []
    assert [p.text for p in find_periods("2022年继续入围，获得奖励")] == ["2022年"]
