"""The asked head: which words ask for a kind, and which hold the same character but do not.
The words are data (``assistant/data/question_words.tsv`` [which], [not-which], [which-filler])."""

from __future__ import annotations

import pytest

from assistant.features import asked_head


@pytest.mark.parametrize(
    ("question", "head"),
    [
        ("吕梁市用的是什么调度办法？", ("调度", "办法")),  # full-width ？
        ("该园区属于哪一类开发区？", ("开发区",)),  # 一 + measure word
        ("有哪些重点项目投资超过24.07亿元？", ("重点项目", "投资")),  # at most two nouns
        ("签约了啥项目？", ("项目",)),
        ("何种制度令人世代守护北疆?", ("制度",)),
        ("这种材料是什么样子？", ("样子",)),  # 样 begins a noun here: not a filler
        ("有什么样的AI能力？", ()),  # 中英文: a Latin word names no Chinese kind the clause could hold
    ],
)
def test_the_noun_after_a_which_word_is_the_asked_kind(question: str, head: tuple[str, ...]) -> None:
    assert asked_head(question) == head


@pytest.mark.parametrize("question", ["如何提升56GW光伏产能？", "为何增速为-2.6%？", "任何企业都可以申报吗？", "几何图形有多少种？"])
def test_how_why_and_any_ask_no_kind(question: str) -> None:
    assert asked_head(question) == ()


def test_the_last_which_word_decides() -> None:
    assert asked_head("如何评价哪家企业的哪种产品？") == ("产品",)
