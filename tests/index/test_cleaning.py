"""index/cleaning.py: the pure repairs of PDF-extracted text, and their effect on the real seed."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest

from index.articles import split_paragraphs
from index.cleaning import (
    ends_sentence,
    fold_width,
    is_cjk,
    join_lines,
    normalize_spacing,
    split_sentences,
)
from tests.index._support import CJK_SPACE_CJK, SEED_TEXT

# --------------------------------------------------------------------------- join_lines


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("清徐老陈醋省", "级专业镇加快项目建设", "清徐老陈醋省级专业镇加快项目建设"),
        ("加大“标准地”出", "让力度，8 个工业类", "加大“标准地”出让力度，8 个工业类"),
        ("实现了“土地带标”", "“定标出让”。", "实现了“土地带标”“定标出让”。"),
        ("Taiyuan High-Tech", "Zone", "Taiyuan High-Tech Zone"),
        ("晶科能源年产 56", "GW 垂直一体化", "晶科能源年产 56GW 垂直一体化"),
        ("签约投资额", "24.07 亿元；", "签约投资额24.07 亿元；"),
        ("同比增长-", "2.6%，高于", "同比增长-2.6%，高于"),
        ("尾部空格   ", "   开头空格", "尾部空格开头空格"),
        ("", "只有右边", "只有右边"),
    ],
)
def test_join_lines(left: str, right: str, joined: str) -> None:
    assert join_lines(left, right) == joined


def test_join_lines_never_puts_a_space_between_cjk() -> None:
    lines = [ln.strip() for ln in SEED_TEXT.splitlines() if ln.strip()]
    for a, b in pairwise(lines):
        joined = join_lines(a, b)
        seam = joined[len(a) - 1 : len(a) + 1]
        assert not CJK_SPACE_CJK.search(seam), (a, b)
        assert joined.replace(" ", "") == (a + b).replace(" ", "")  # nothing invented, nothing lost


# --------------------------------------------------------------------------- normalize_spacing


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("用足用好 20 亿元科技创新、10 亿元人才发展", "用足用好20亿元科技创新、10亿元人才发展"),
        ("签约投资额24.07 亿元；开工项目 10 个", "签约投资额24.07亿元；开工项目10个"),
        ("完成 162.33 亿元，同比增长-2.6%，高于", "完成162.33亿元，同比增长-2.6%，高于"),
        ("年产 56 GW 垂直一体化", "年产56GW垂直一体化"),
        ("方山 100MW 光伏发电项目", "方山100MW光伏发电项目"),
        ("深化省校合作“12 大基地”建设", "深化省校合作“12大基地”建设"),
        ("共 3\u3000个、总投资\xa036.175 亿元", "共3个、总投资36.175亿元"),
        ("（ 一期 ）", "（一期）"),
        # Latin words keep their spaces; only the seam to CJK goes.
        ("Taiyuan High-Tech Zone 开发区", "Taiyuan High-Tech Zone开发区"),
        # A negative figure printed with spaces around its minus sign stays one figure.
        ("同比增长 -2.6%，高于", "同比增长-2.6%，高于"),
        ("同比增长 - 2.6%，高于", "同比增长-2.6%，高于"),
    ],
)
def test_normalize_spacing(raw: str, clean: str) -> None:
    assert normalize_spacing(raw)[0] == clean


@pytest.mark.parametrize(
    "raw",
    ["用足用好 20 亿元科技创新", "年产 56 GW 垂直", "同比增长 - 2.6%，高于", "Hello World 中国 2024 年", "  前后  "],
)
def test_normalize_spacing_offset_map_points_back_to_the_printed_text(raw: str) -> None:
    clean, offsets = normalize_spacing(raw)
    assert len(offsets) == len(clean)
    assert all(raw[j] == ch for ch, j in zip(clean, offsets, strict=True))
    assert offsets == sorted(set(offsets))  # strictly increasing: a span maps to a span
    # Only whitespace is ever removed.
    removed = set(range(len(raw))) - set(offsets)
    assert all(raw[j].isspace() for j in removed)


def test_normalize_spacing_on_the_whole_seed_removes_only_spaces() -> None:
    clean, _ = normalize_spacing(SEED_TEXT.replace("\n", ""))
    assert "20亿元科技创新" in clean and "20 亿元" not in clean
    assert "24.07亿元" in clean and "162.33亿元" in clean and "-2.6%" in clean and "56GW" in clean
    assert re.sub(r"\s", "", clean) == re.sub(r"\s", "", SEED_TEXT)


# --------------------------------------------------------------------------- fold_width / sentences


def test_fold_width_folds_digits_and_latin_but_keeps_cjk_punctuation() -> None:
    assert (
        fold_width("签约投资额２４．０７亿元，同比增长－２．６％；年产５６ＧＷ。")
        == "签约投资额24.07亿元，同比增长-2.6%；年产56GW。"
    )
    assert fold_width("（一期）：“三个一批”！？") == "（一期）：“三个一批”！？"
    assert len(fold_width("２４．０７亿元")) == len("２４．０７亿元")  # char for char: offsets stay valid


def test_is_cjk() -> None:
    assert [is_cjk(c) for c in "吕a，2镇"] == [True, False, False, False, True]
    assert not is_cjk("")


@pytest.mark.parametrize(
    ("text", "ends"),
    [
        ("形成新的经济增长点。", True),
        ("真正做到。”", True),
        ("【下一步工作举措】", True),
        ("清徐老陈醋省", False),
        ("实现了“土地带标”", False),
        ("签约投资额24.07", False),
        ("", False),
    ],
)
def test_ends_sentence(text: str, ends: bool) -> None:
    assert ends_sentence(text) is ends


def test_split_sentences_never_splits_a_figure() -> None:
    text = (
        "签约项目12个，签约投资额24.07亿元；开工项目10个，总投资12.12亿元。同比增长-2.6%，年产56GW！“三个一批”活动。”尾"
    )
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == [
        "签约项目12个，签约投资额24.07亿元；",
        "开工项目10个，总投资12.12亿元。",
        "同比增长-2.6%，年产56GW！",
        "“三个一批”活动。”",
        "尾",
    ]
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(b == a2 for (_, b), (a2, _) in pairwise(spans))  # contiguous, no gaps


# --------------------------------------------------------------------------- paragraphs of the seed


def test_seed_line_joins_repair_page_and_line_breaks() -> None:
    paragraphs, titles = split_paragraphs(SEED_TEXT)
    texts = [p for p, _, _ in paragraphs]
    body = "\n".join(texts)
    for joined in [
        "清徐老陈醋省级专业镇加快项目建设",
        "加大“标准地”出让力度",
        "实现了“土地带标”“定标出让”",
        "努力实现“一件事”全流程“最多跑一次”",
        "支持引导“链主”企业以利益共同体形式",
        "推动开发区由“政府运营型”向“企业服务型”转变",
        "实施科技型中小企业“成长”",
        "积极对接京津冀、长三角",
    ]:
        assert joined in body, joined
    for broken in ["清徐老陈醋省\n", "\n级专业镇", "出\n让力度", "\n让力度"]:
        assert broken not in body
    assert not any(t.startswith(("级专业镇", "让力度", "“定标出让”", "“链主”企业以")) for t in texts)
    assert not any(CJK_SPACE_CJK.search(t) for t in texts)
    assert titles == ["“项目建设向‘新’突破 改革能级持续提升”特刊"]
    assert not any("特刊" in t for t in texts)


def test_seed_paragraphs_lose_and_invent_no_text() -> None:
    paragraphs, titles = split_paragraphs(SEED_TEXT)
    got = re.sub(r"\s", "", "".join(p for p, _, _ in paragraphs) + "".join(titles))
    assert got == re.sub(r"\s", "", SEED_TEXT)


def test_seed_sections_are_heading_paragraphs() -> None:
    paragraphs, _ = split_paragraphs(SEED_TEXT)
    headings = [p for p, _, level in paragraphs if level == -1]
    assert headings == ["【工作成绩及亮点】", "【下一步工作举措】"] * 2
