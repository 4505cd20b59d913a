"""What a list answer looks like (``assistant.lists``): the kind asked for, and enumerations of it."""

from __future__ import annotations

import pytest

from assistant.lists import enumerates, kind_nouns, predicate_words


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


@pytest.mark.parametrize(("nouns", "question", "sentence"), [
    # introduced by the kind and a colon (full-width or ASCII) or 包括
    (("部分",), "南阳华侨城项目一期由哪几个部分组成？", "其中一期占地760亩，分五个组成部分：水公园、嘉年华乐园、主题酒店和大型停车场。"),
    (("部分",), "项目一期由哪几个部分组成？", "一期分三个部分:水公园、AI展馆和停车场。"),
    (("领域",), "主要布局哪些领域？", "重点布局的领域包括新能源、新材料、生物医药等。"),
    # the items do what the question asks of them
    (("单位",), "推进会上，哪几家单位作了表态发言？", "长沙片区、湘潭经开区、常德高新区分别作表态发言。"),
    (("企业",), "有哪几家企业与英山进行了项目签约？", "当天，美利信控股有限公司、湖北辰美中药有限公司与英山进行项目签约。"),
])
def test_a_list_introduced_by_the_kind_or_doing_what_is_asked_is_an_enumeration(nouns, question, sentence) -> None:
    assert enumerates(nouns, question, sentence)


@pytest.mark.parametrize(("nouns", "question", "sentence"), [
    (("单位",), "推进会上，哪几家单位作了表态发言？", "推进会在长沙、湘潭两地举行。"),  # a list, but not of who spoke
    (("单位",), "推进会上，哪几家单位作了表态发言？", "长沙片区作表态发言。"),  # one item
    (("部分",), "项目一期由哪几个部分组成？", "一期分五个组成部分：详见附件。"),  # a colon, but no list after it
])
def test_a_list_neither_introduced_nor_doing_what_is_asked_is_none(nouns, question, sentence) -> None:
    assert not enumerates(nouns, question, sentence)


def test_introduced_lists_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    sentence = "长沙片区、湘潭经开区、常德高新区分别作表态发言。"
    monkeypatch.setattr("assistant.lists.LIST_INTRODUCED", False)
    assert not enumerates(("单位",), "推进会上，哪几家单位作了表态发言？", sentence)


def test_the_predicate_is_what_the_question_says_after_its_question_word() -> None:
    assert predicate_words("推进会上，哪几家单位作了表态发言？", ("单位",)) == ("表态", "发言")
    assert predicate_words("哪些国家参加了2023年的演习？", ("国家",)) == ("参加", "演习")
    assert predicate_words("没有疑问词的一句话。") == ()
