"""Structure questions (「太原市下一步工作举措有哪些？」): which questions are taken for them,
and the answer listing a section's items, each cited to the passage where it starts."""

from __future__ import annotations

import re

import pytest

from assistant import outline
from assistant.chain import BulletinAssistant
from index.types import Chunk

TAIYUAN_NEXT = ["一是强化企业创新主体地位", "二是营造一流创新生态环境", "三是强化“链长”统筹作用"]
LVLIANG_NEXT = ["一是紧盯考核指标抓推进", "二是紧盯项目建设抓进度", "三是紧盯营商环境抓优化"]


@pytest.fixture(scope="module")
def assistant(seed_index) -> BulletinAssistant:
    settings, index = seed_index
    return BulletinAssistant(settings, index=index)


def _items(text: str) -> list[str]:
    return re.findall(r"([一二三四五六七八九十]是[^\[；。]+)\[\d+\]", text)


def test_outlines_of_the_seed_follow_reading_order(assistant: BulletinAssistant) -> None:
    found = {(o.city, o.section): [i.heading for i in o.items] for o in outline.outlines(assistant.index.chunks.values())}
    assert found[("太原市", "下一步工作举措")] == TAIYUAN_NEXT
    assert found[("吕梁市", "下一步工作举措")] == LVLIANG_NEXT
    assert len(found[("吕梁市", "工作成绩及亮点")]) == 6
    assert [h[:2] for h in found[("太原市", "工作成绩及亮点")]] == ["一是", "二是", "三是"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("太原市下一步工作举措有哪些？", TAIYUAN_NEXT),
        ("吕梁下一步工作举措有哪三条？", LVLIANG_NEXT),
        ("吕梁开发区下一步打算怎么做", LVLIANG_NEXT),
        ("太原下一步工作举措有几条", TAIYUAN_NEXT),
        ("下一步工作举措有哪些", TAIYUAN_NEXT + LVLIANG_NEXT),
    ],
)
def test_a_section_question_lists_its_items_with_one_citation_each(
    assistant: BulletinAssistant, question: str, expected: list[str]
) -> None:
    answer = assistant.ask(question)
    assert not answer.refused and _items(answer.text) == expected, answer.text
    assert len(answer.citations) == len(expected)
    for heading, citation in zip(expected, answer.citations, strict=True):
        assert citation.text.startswith(heading)  # the passage where the item starts
        assert citation.section.startswith("下一步工作举措 · ")
    assert not answer.unsupported_figures


def test_an_ordinal_picks_one_item_with_its_opening_sentence(assistant: BulletinAssistant) -> None:
    answer = assistant.ask("吕梁市工作成绩及亮点的第二条是什么？")
    heading = "二是滚动开展“三个一批”活动，夯实产业项目量质提升"
    assert answer.text.startswith(f"吕梁市“工作成绩及亮点”：{heading}：2024年"), answer.text
    assert len(answer.citations) == 1
    detail = answer.text.split(f"{heading}：", 1)[1].split("[1]")[0]
    assert detail and detail in answer.citations[0].text  # quoted as printed
    assert not answer.unsupported_figures


def test_the_city_filter_applies(assistant: BulletinAssistant) -> None:
    answer = assistant.ask("下一步工作举措有哪些", city="吕梁市")
    assert _items(answer.text) == LVLIANG_NEXT


@pytest.mark.parametrize(
    "question",
    [
        "太原下一步在人才方面有哪些举措？",  # 人才: a specific topic inside the section
        "吕梁“三个一批”下一步怎么推进",  # a quoted term
        "太原下一步科技创新资金有多少？",  # a figure
        "吕梁采取了哪些举措促进项目落地",  # 举措 alone names no section
        "大同市下一步工作举措有哪些",  # a city without such a section
    ],
)
def test_more_specific_questions_are_not_structure_questions(assistant: BulletinAssistant, question: str) -> None:
    answer = assistant.ask(question)
    assert "“下一步工作举措”：" not in answer.text, answer.text


def test_match_is_strict_about_leftover_words() -> None:
    chunks = [
        Chunk(id=f"c{i}", text=f"{h}。", source="s", city="太原市", section="下一步工作举措", item=h, start=i)
        for i, h in enumerate(TAIYUAN_NEXT)
    ]
    found = outline.outlines(chunks)

    def tokenize(text: str) -> list[str]:
        return [w for w in ("下一步", "工作", "举措", "人才", "太原") if w in text]

    assert outline.match("太原下一步工作举措", ["太原", "下一步", "工作", "举措"], ["太原市"], found, tokenize)
    assert outline.match("太原下一步人才举措", ["太原", "下一步", "人才", "举措"], ["太原市"], found, tokenize) is None
    assert outline.match("吕梁下一步工作举措", ["吕梁", "下一步"], ["吕梁市"], found, tokenize) is None
    assert outline.match("人才工作", ["人才"], [], found, tokenize) is None
