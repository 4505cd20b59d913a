"""index/articles.py (through the loader): the seed split into articles, sections, items, offsets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.articles import ITEM_RE, Bulletin, find_city, parse_bulletin
from index.chunking import chunk_bulletin
from index.loaders import load_file, load_manifest
from tests.conftest import ROOT, SEED
from tests.index._support import CJK_SPACE_CJK, SEED_NAME, SEED_TEXT

ISSUE_TITLE = "“项目建设向‘新’突破 改革能级持续提升”特刊"


@pytest.fixture(scope="module")
def seed() -> Bulletin:
    return load_file(SEED, SEED_NAME, load_manifest(ROOT / "corpus").get(SEED_NAME))


@pytest.fixture(scope="module")
def seed_raw() -> Bulletin:
    """The seed parsed without the manifest: everything derived from the text."""
    return parse_bulletin(SEED_TEXT, SEED_NAME)


def _para_with(bulletin: Bulletin, needle: str):
    found = [(a, p) for a in bulletin.articles for p in a.paragraphs if needle in p.text]
    assert len(found) == 1, f"{needle!r} is in {len(found)} paragraphs"
    return found[0]


# --------------------------------------------------------------------------- articles


@pytest.mark.parametrize("fixture", ["seed", "seed_raw"])
def test_seed_has_exactly_two_articles_taiyuan_then_lvliang(fixture: str, request: pytest.FixtureRequest) -> None:
    bulletin = request.getfixturevalue(fixture)
    assert [a.city for a in bulletin.articles] == ["太原市", "吕梁市"]
    assert [a.index for a in bulletin.articles] == [0, 1]
    assert bulletin.articles[0].lead.startswith("太原市按照省委、省政府部署要求")
    assert bulletin.articles[1].lead.startswith("今年以来，吕梁市深入贯彻落实")
    assert bulletin.warnings == []


def test_manifest_titles_apply_and_derived_titles_come_from_the_lead(seed: Bulletin, seed_raw: Bulletin) -> None:
    assert seed.articles[1].title == "吕梁市：以“三个一批”活动为抓手，推动开发区工业投资稳步增长"
    assert seed_raw.articles[1].title.startswith("今年以来，吕梁市深入贯彻落实")
    assert len(seed_raw.articles[1].title) <= 32


def test_supplier_line_is_metadata_not_body(seed: Bulletin, seed_raw: Bulletin) -> None:
    for bulletin in (seed, seed_raw):
        taiyuan, lvliang = bulletin.articles
        assert lvliang.source_unit == "吕梁市商务局"
        assert taiyuan.source_unit == ""
        for article in bulletin.articles:
            assert "供稿" not in article.text
            assert "吕梁市商务局" not in article.text
        # The last body paragraph ends where the printed sentence ends.
        assert lvliang.paragraphs[-1].text.endswith("帮助企业解决融资难问题。")
        assert lvliang.paragraphs[-1].original.endswith("帮助企业解决融资难问题。")


def test_running_title_is_the_issue_title_not_body_text(seed: Bulletin, seed_raw: Bulletin) -> None:
    assert seed_raw.issue_title == ISSUE_TITLE
    assert seed.issue_title == ISSUE_TITLE
    for article in seed_raw.articles:
        assert "特刊" not in article.text
        assert "改革能级持续提升" not in article.text


# --------------------------------------------------------------------------- repairs


def test_broken_words_are_rejoined_in_clean_and_original_text(seed: Bulletin) -> None:
    article, para = _para_with(seed, "清徐老陈醋省级专业镇")
    assert article.city == "太原市"
    assert "清徐老陈醋省级专业镇" in para.original
    article, para = _para_with(seed, "加大“标准地”出让力度")
    assert article.city == "吕梁市"
    assert "出让力度" in para.original
    for article in seed.articles:
        for p in article.paragraphs:
            assert not p.text.endswith(("清徐老陈醋省", "出")), p.text[-20:]
            assert not p.text.startswith(("级专业镇", "让力度"))
            assert not CJK_SPACE_CJK.search(p.text), p.text
            assert not CJK_SPACE_CJK.search(p.original), p.original  # joins never add a space


def test_figure_spacing_is_cleaned_but_original_keeps_the_printed_spacing(seed: Bulletin) -> None:
    _, para = _para_with(seed, "用足用好20亿元科技创新")
    assert "20 亿元" not in para.text
    assert "用足用好 20 亿元科技创" in para.original
    start = para.text.index("20亿元科技创新")
    assert para.original_span(start, start + len("20亿元科技创新")) == "20 亿元科技创新"

    _, para = _para_with(seed, "签约投资额24.07亿元")
    start = para.text.index("24.07亿元")
    assert para.original_span(start, start + len("24.07亿元")) == "24.07 亿元"

    chunk = next(c for c in chunk_bulletin(seed, 200) if "用足用好20亿元" in c.text)
    assert "用足用好 20 亿元" in chunk.original
    assert chunk.original.replace(" ", "") == chunk.text.replace(" ", "")


def test_every_paragraph_original_maps_onto_its_text(seed: Bulletin) -> None:
    for article in seed.articles:
        for p in article.paragraphs:
            assert len(p.offset_map) == len(p.text)
            assert "".join(p.original[j] for j in p.offset_map) == p.text
            assert p.original_span(0, len(p.text)).replace(" ", "") == p.original.strip().replace(" ", "")


# --------------------------------------------------------------------------- structure


def test_offsets_index_the_article_text(seed: Bulletin) -> None:
    for article in seed.articles:
        text = article.text
        previous_end = -1
        for p in article.paragraphs:
            assert text[p.start : p.end] == p.text
            assert p.start == previous_end + 1  # one "\n" between paragraphs
            previous_end = p.end
        assert previous_end == len(text)


def test_section_headings_and_items(seed: Bulletin) -> None:
    for article in seed.articles:
        headings = [p.text for p in article.paragraphs if p.is_heading]
        assert headings == ["【工作成绩及亮点】", "【下一步工作举措】"]
        lead = article.paragraphs[0]
        assert not lead.is_heading and lead.section == "" and lead.item == ""
        for p in article.paragraphs:
            if p.is_heading:
                continue
            if ITEM_RE.match(p.text) and p.section:
                assert p.text.startswith(p.item.rstrip("…")), "an item paragraph names its own heading"

    article, para = _para_with(seed, "签约投资额24.07亿元")
    assert (article.city, para.section) == ("吕梁市", "工作成绩及亮点")
    assert para.item.startswith("二是滚动开展“三个一批”活动")

    article, para = _para_with(seed, "清徐老陈醋省级专业镇")
    assert (article.city, para.section) == ("太原市", "工作成绩及亮点")
    assert para.item == "一是构建现代化产业体系，筑牢高质量发展硬支撑"  # a continuation paragraph keeps its item

    article, para = _para_with(seed, "年产56GW垂直一体化")
    assert (article.city, para.section, para.item) == ("太原市", "下一步工作举措", "三是强化“链长”统筹作用")

    # A nested 「一是…」 inside an item paragraph does not start a new item.
    article, para = _para_with(seed, "逐月调度指标完成情况")
    assert (article.city, para.section, para.item) == ("吕梁市", "下一步工作举措", "一是紧盯考核指标抓推进")


def test_lvliang_items_in_order(seed: Bulletin) -> None:
    lvliang = seed.articles[1]
    items = [p.item for p in lvliang.paragraphs if p.section == "工作成绩及亮点" and not p.is_heading]
    assert [i[:2] for i in items] == ["一是", "二是", "三是", "四是", "五是", "六是"]
    assert all(len(i) <= 40 for i in items)


def test_figures_survive_cleaning(seed: Bulletin) -> None:
    text = "\n".join(a.text for a in seed.articles)
    for figure in [
        "24.07亿元",
        "12.12亿元",
        "11.78亿元",
        "162.33亿元",
        "-2.6%",
        "56GW",
        "100MW",
        "36.175亿元",
        "0.64亿元",
    ]:
        assert figure in text, figure
    assert not re.search(r"\d \d", text)


# --------------------------------------------------------------------------- synthetic inputs


def test_markdown_headings_become_article_titles(tmp_path: Path) -> None:
    md = tmp_path / "两市简报.md"
    md.write_text(
        "# 晋中市：以“三个一批”活动为抓手\n\n"
        "今年以来，晋中市开发区签约项目12个，签约投资额24.07亿元，同比增长-2.6%。\n\n"
        "### 工作成绩及亮点\n\n"
        "一是推进晶科能源年产56GW垂直一体化项目。项目总投资30亿元，年内投产。\n\n"
        "## 长治市：推动开发区高质量发展\n\n"
        "长治市开发区一季度规上工业增加值完成162.33亿元。\n",
        encoding="utf-8",
    )
    bulletin = load_file(md, md.name)
    assert [a.title for a in bulletin.articles] == ["晋中市：以“三个一批”活动为抓手", "长治市：推动开发区高质量发展"]
    assert [a.city for a in bulletin.articles] == ["晋中市", "长治市"]
    jinzhong = bulletin.articles[0]
    assert not any("#" in p.text for a in bulletin.articles for p in a.paragraphs)
    item = next(p for p in jinzhong.paragraphs if "56GW" in p.text)
    assert (item.section, item.item) == ("工作成绩及亮点", "一是推进晶科能源年产56GW垂直一体化项目")


def test_markdown_heading_without_body_makes_no_empty_article(tmp_path: Path) -> None:
    md = tmp_path / "x.md"
    md.write_text("# 开发区工作简报\n\n## 大同市：项目建设\n\n大同市签约项目5个，投资额8.5亿元。\n", encoding="utf-8")
    bulletin = load_file(md, md.name)
    assert [a.title for a in bulletin.articles] == ["大同市：项目建设"]
    assert bulletin.issue_title == "开发区工作简报"  # a running-title heading names the issue, without its "#"


def test_one_paragraph_per_line_text_is_not_glued(tmp_path: Path) -> None:
    lines = [
        "晋中市开发区工作情况",
        "今年以来，晋中市开发区签约项目12个，签约投资额24.07亿元，同比增长-2.6%。",
        "一季度，全市8个工业类开发区规上工业增加值完成162.33亿元，高于全市平均增速7.3个百分点。",
        "【工作成绩及亮点】",
        "一是加快项目建设，推动晶科能源年产56GW垂直一体化大基地加快投产。",
        "二是优化营商环境：",
        "推行“承诺制+标准地+全代办”改革，实现企业开工前“零审批”，立项备案项目53个。",
        "三是强化要素保障。开发区13个平台公司完成基础设施建设投资0.64亿元。",
    ]
    path = tmp_path / "每行一段.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bulletin = load_file(path, path.name)
    assert len(bulletin.articles) == 1
    got = [p.text for p in bulletin.articles[0].paragraphs]
    assert got == lines


def test_wrapped_short_lines_still_join(tmp_path: Path) -> None:
    raw = "今年以来，吕梁市深入贯彻落实省委省政府有关\n开发区决策部署，聚焦目标，推动开发区工业投\n资稳步增长，签约投资额24.07 亿元。\n"
    bulletin = parse_bulletin(raw, "x.txt")
    assert [p.text for p in bulletin.articles[0].paragraphs] == [
        "今年以来，吕梁市深入贯彻落实省委省政府有关开发区决策部署，聚焦目标，推动开发区工业投资稳步增长，签约投资额24.07亿元。"
    ]


def test_empty_text_has_no_articles() -> None:
    bulletin = parse_bulletin("\n\n   \n", "blank.txt")
    assert bulletin.articles == []
    assert bulletin.warnings == ["no body text found"]


@pytest.mark.parametrize(
    ("text", "city"),
    [
        ("今年以来，吕梁市深入贯彻落实", "吕梁市"),
        ("太原高新区按照部署", "太原市"),
        ("全市开发区", ""),
        ("吉林省开发区", ""),
    ],
)
def test_find_city(text: str, city: str) -> None:
    assert find_city(text) == city
