"""``assistant.verify``: every figure of an answer must be in a passage it cites."""

from __future__ import annotations

import random

import pytest

from assistant.verify import FLAG, figures, normalise, supported, verify

PASSAGES = {
    1: "开工项目10个，总投资12.12亿元；投产项目10个，总投资11.78亿元。",
    2: "本次“三个一批”活动，签约项目12个，签约投资额24.07亿元。",
    3: "一季度，全市8个工业类开发区规上工业增加值完成162.33亿元，同比增长-2.6%，高于全市平均增速7.3个百分点。",
    4: "重点针对47户未复工复产企业，逐户研判；市场化选聘高级管理人才7名。",
    5: "支持晶科能源年产56GW垂直一体化大基地加快投产；签约苏州氢澜科技年产1,000台氢燃料电池发动机。",
}
# (figure as an answer may write it, the passage that holds it)
HELD = [("12.12亿元", 1), ("11.78亿元", 1), ("10个", 1), ("12个", 2), ("24.07亿元", 2), ("8个", 3), ("162.33亿元", 3),
        ("-2.6%", 3), ("7.3个百分点", 3), ("47户", 4), ("7名", 4), ("56GW", 5), ("1000台", 5)]
FULL_WIDTH = str.maketrans("0123456789.%-", "０１２３４５６７８９．％－")


# --- normalisation and figures ---------------------------------------------------------------------
def test_normalise_folds_width_and_drops_spaces_inside_figures() -> None:
    assert normalise("签约投资额 ２４.０７ 亿元，1,000 台，增长−2.6 %") == "签约投资额24.07亿元，1000台，增长-2.6%"


@pytest.mark.parametrize(("figure", "holder"), HELD)
def test_figures_with_spaces_or_full_width_digits_are_the_same_figure(figure: str, holder: int) -> None:
    number, unit = figure[: len(figure.rstrip("亿元个百分点户名GW台%"))], figure[len(figure.rstrip("亿元个百分点户名GW台%")):]
    for written in (figure, f"{number} {unit}", f"{number}  {unit}", figure.translate(FULL_WIDTH),
                    f"{number.translate(FULL_WIDTH)} {unit}"):
        assert figures(f"据简报，{written}，") == [figure], written
        assert supported(figure, PASSAGES[holder]) and supported(figure, written)


def test_figures_in_order_and_never_split() -> None:
    assert figures("签约投资额24.07 亿元，同比增长-2.6%，高于7.3个百分点，年产56GW，2024年，约999亿") == [
        "24.07亿元", "-2.6%", "7.3个百分点", "56GW", "999亿"]
    rng = random.Random(3)
    for _ in range(300):
        number = f"{rng.randint(0, 9999)}.{rng.randint(0, 99):02d}"
        assert figures(f"完成{number}亿元，") == [f"{number}亿元"]


def test_years_and_dates_are_not_figures() -> None:
    assert figures("2024年3月5日，吕梁市与天津市南开区签订协议") == []


# --- the whole-number rule ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("figure", "passage", "expected"),
    [
        ("7个", "有47个项目", False),
        ("47个", "有47个项目", True),
        ("7个", "高于全市平均增速7.3个百分点", False),
        ("7.3个百分点", "高于全市平均增速7.3个百分点", True),
        ("7个", "共7个", True),
        ("3个", "实施项目3个以上", True),
        ("2.12亿元", "总投资12.12亿元", False),
        ("12.1亿元", "总投资12.12亿元", False),
        ("24亿元", "签约投资额24.07亿元", False),
        ("0.64亿元", "投资10.64亿元", False),
        ("2.6%", "同比增长12.6%", False),
        ("-2.6%", "同比增长2.6%", False),
        ("999亿", "约999亿元", True),
        ("99亿", "约999亿元", False),
        ("24.07亿元", "签约投资额 ２４.０７ 亿元", True),
        ("1000台", "年产1,000台", True),
    ],
)
def test_supported_is_a_whole_number_match(figure: str, passage: str, expected: bool) -> None:
    assert supported(figure, passage) is expected


def test_every_figure_is_supported_by_its_own_passage_and_by_no_other_that_lacks_it() -> None:
    for figure, n in HELD:
        assert supported(figure, PASSAGES[n]), figure
        for m, passage in PASSAGES.items():
            if m != n and figure not in normalise(passage):
                assert not supported(figure, passage), (figure, m)


# --- verify --------------------------------------------------------------------------------------------
def test_supported_answers_pass_unchanged() -> None:
    for figure, n in HELD:
        text = f"据简报，数字为{figure}[{n}]。"
        v = verify(text, PASSAGES)
        assert (v.text, v.unsupported, v.moved_markers, v.cited) == (text, [], [], [n]), figure


def test_answers_without_figures_pass_untouched() -> None:
    for text in ("太原市以制造业振兴为主攻方向[1]。", "做到企业开工前“零审批”[2]；实行双承诺管理[3]。",
                 "2024年，吕梁市开展“三个一批”活动[2]。", "没有引用的回答。"):
        v = verify(text, PASSAGES)
        assert (v.text, v.unsupported, v.moved_markers) == (text, [], [])


def test_unsupported_figures_are_flagged_right_after_the_figure_and_listed() -> None:
    rng = random.Random(11)
    for figure, n in HELD:
        wrong = figure.replace(figure.lstrip("-")[0], str((int(figure.lstrip("-")[0]) + rng.randint(1, 8)) % 10), 1)
        assume_absent = all(not supported(wrong, p) for p in PASSAGES.values())
        if not assume_absent:
            continue
        v = verify(f"据简报，数字为{wrong}[{n}]。", PASSAGES)
        assert v.unsupported == [wrong], (figure, wrong, v)
        assert f"{wrong}{FLAG}[{n}]" in v.text, v.text


def test_unsupported_figure_written_with_spaces_is_flagged_after_it() -> None:
    v = verify("签约投资额 25.07 亿元，签约项目12个[2]。", PASSAGES)
    assert v.unsupported == ["25.07亿元"]
    assert v.text == f"签约投资额 25.07 亿元{FLAG}，签约项目12个[2]。"


def test_bare_yi_figure_is_checked_too() -> None:
    v = verify("签约投资额约999亿[2]。", PASSAGES)
    assert v.unsupported == ["999亿"] and f"999亿{FLAG}" in v.text
    assert verify("约999亿[1]。", {1: "总投资约999亿，"}).unsupported == []


def test_a_figure_with_no_marker_at_all_is_unsupported() -> None:
    v = verify("签约投资额24.07亿元。", PASSAGES)
    assert v.unsupported == ["24.07亿元"] and v.cited == []


def test_a_marker_to_an_unknown_passage_is_dropped_and_its_figure_flagged() -> None:
    v = verify("开工项目10个[9]。", PASSAGES)
    assert v.text == f"开工项目10个{FLAG}。" and v.unsupported == ["10个"] and v.cited == []


def test_a_wrong_marker_moves_to_the_cited_passage_holding_the_figure() -> None:
    v = verify("签约投资额24.07亿元[1]。开工项目10个，总投资12.12亿元[2]。", PASSAGES)
    assert v.text == "签约投资额24.07亿元[2]。开工项目10个，总投资12.12亿元[1]。"
    assert v.moved_markers == [(1, 2), (2, 1)] and v.unsupported == [] and v.cited == [2, 1]


def test_markers_move_for_every_pair_of_cited_passages() -> None:
    for figure, n in HELD:
        for m in PASSAGES:
            if m == n or supported(figure, PASSAGES[m]):
                continue
            # Both passages are cited, the figure's sentence points at the wrong one.
            v = verify(f"数字为{figure}[{m}]。另见[{n}]。", PASSAGES)
            assert v.text.startswith(f"数字为{figure}[{n}]。"), (figure, m, v.text)
            assert (m, n) in v.moved_markers and v.unsupported == []


def test_a_marker_is_not_moved_to_a_passage_that_is_not_cited() -> None:
    """Only cited passages are candidates: the figure stays flagged instead of citing something new."""
    v = verify("签约投资额24.07亿元[1]。", PASSAGES)
    assert v.unsupported == ["24.07亿元"] and v.moved_markers == [] and v.cited == [1]


def test_several_markers_on_one_sentence() -> None:
    v = verify("签约项目12个，开工项目10个[2][1]。", PASSAGES)
    assert v.unsupported == [] and v.cited == [2, 1] and v.text == "签约项目12个，开工项目10个[2][1]。"
