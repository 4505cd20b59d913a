"""Document dates: manifest, header, text, file time — and the issue label."""

from __future__ import annotations

from index.articles import parse_bulletin


def test_news_header_gives_the_date_and_leaves_the_body() -> None:
    b = parse_bulletin("2023-08-16 18:24:57，正文：萧山经开区签约项目12个，总投资24.07亿元。", "a.txt")
    assert (b.date, b.date_source) == ("2023-08-16", "header")
    assert b.articles[0].text.startswith("萧山经开区")


def test_a_header_line_gives_date_and_issue() -> None:
    raw = "开发区工作简报\n2024年第5期\n2024年5月20日\n\n吕梁市一季度签约项目12个。\n"
    b = parse_bulletin(raw, "b.txt")
    assert (b.date, b.issue) == ("2024-05-20", "2024年第5期")
    assert "2024年5月20日" not in b.articles[0].text


def test_without_a_header_the_latest_stated_month() -> None:
    b = parse_bulletin("2023年12月签约，2024年3月开工，项目建设加快推进。", "c.txt")
    assert (b.date, b.date_source) == ("2024-03-01", "text")


def test_numbers_in_a_header_line_are_not_glued() -> None:
    b = parse_bulletin("2023-07-12 19:59，正文：1、中国上市公司500强发布。", "d.txt")
    assert "1219" not in b.articles[0].text
