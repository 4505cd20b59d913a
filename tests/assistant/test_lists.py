"""What a list answer looks like (``assistant.lists``): the kind asked for, and enumerations of it."""

from __future__ import annotations

import pytest

from assistant.lists import enumerates, kind_nouns


@pytest.mark.parametrize(("question", "head", "nouns"), [
    ("“科大硅谷”首批全球合伙人分为哪几类？", (), ("合伙人",)),
    ("包头提出建设的“两个稀土基地”分别是什么？", (), ("基地",)),
    ("肇庆这批“熟地”招商主要瞄准哪些产业？", ("产业",), ("产业",)),
    ("《好好说话》的主演有哪些？", (), ("主演",)),
    ("哪些国家参加了演习？", (), ()),  # nothing before the question word: no kind to look for
])
def test_the_kind_is_the_asked_head_else_the_last_noun_before_the_question_word(question, head, nouns) -> None:
    assert kind_nouns(question, head) == nouns


@pytest.mark.parametrize("sentence", [
    "共有创新单元合伙人16家、创新中心合伙人6家、基金合伙人3家。",
    "共有创新单元合伙人16家，创新中心合伙人6家；基金合伙人3家。",  # items across 「；」-separated clauses
    "聚焦新能源汽车及汽车零部件、新型储能、电子信息等合伙人类别。",  # 等 and the kind close the list
    "共有Innovation单元合伙人16家、AI中心合伙人6家。",  # 中英文 mixed names
])
def test_an_enumeration_of_the_asked_kind_is_found(sentence: str) -> None:
    assert enumerates(("合伙人",), "“科大硅谷”首批全球合伙人分为哪几类？", sentence)


@pytest.mark.parametrize("sentence", [
    "来自美国、日本及北京、上海、广州等地的25家全球合伙人携手抛出招才“橄榄枝”。",  # a list of places
    "创新单元合伙人16家。",  # one item
    "全球合伙人16家、全球合伙人6家。",  # the question's own phrase twice names no new kind
    "",
])
def test_a_list_of_other_things_or_a_single_item_is_no_enumeration(sentence: str) -> None:
    assert not enumerates(("合伙人",), "“科大硅谷”首批全球合伙人分为哪几类？", sentence)


def test_no_kind_means_no_enumeration() -> None:
    assert not enumerates((), "哪些国家参加了演习？", "中国、俄罗斯、印度等国家参加。")
