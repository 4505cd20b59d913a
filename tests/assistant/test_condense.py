"""``assistant.condense``: follow-up questions resolved against the chat history, without an LLM."""

from __future__ import annotations

import json
import re

import pytest

from assistant.condense import Condensed, _periods, condense, find_places, is_follow_up
from tests.conftest import ROOT

TERMS = frozenset({"三个一批", "专业镇", "双承诺", "标准地", "晋创谷"})
QUESTIONS = [json.loads(line) for line in (ROOT / "evals/datasets/bulletins_qa.jsonl").read_text(encoding="utf-8").splitlines()]
STANDALONE = [q["question"] for q in QUESTIONS if not q.get("history")]
# Standalone dataset questions about exactly one of the two corpus cities (吕梁 / 太原).
ONE_CITY = [q for q in STANDALONE if tuple(p.rstrip("市") for p in find_places(q)) in (("吕梁",), ("太原",))]
NEW_CITIES = ("大同", "长治", "晋中", "朔州", "忻州", "临汾", "运城", "阳泉", "晋城")


def swapped(previous: str, new: str) -> str:
    """``previous`` about 吕梁/太原 rewritten to ``new`` (short form stays short, 市 form stays 市)."""
    return re.sub(r"(吕梁|太原)(市?)", lambda m: new + m.group(2), previous)


def test_no_history_leaves_the_question_alone() -> None:
    for question in [*STANDALONE, "那太原呢？", "那开工了多少个？", "同比增长多少？"]:
        for history in ([], None, [""], ["   "]):
            assert condense(question, history, TERMS) == Condensed(question)


def test_na_city_ne_swaps_the_place_into_the_previous_question() -> None:
    assert ONE_CITY, "the dataset should hold single-city questions"
    wrong = []
    for i, previous in enumerate(ONE_CITY):
        new = NEW_CITIES[i % len(NEW_CITIES)]
        for follow_up in (f"那{new}呢？", f"{new}呢", f"那么{new}呢?", f"那{new}的情况呢？"):
            got = condense(follow_up, [previous], TERMS)
            if got != Condensed(swapped(previous, new)):
                wrong.append((previous, follow_up, got))
    assert not wrong, wrong[:10]


def test_swapped_question_is_about_the_new_place_only() -> None:
    for i, previous in enumerate(ONE_CITY):
        new = NEW_CITIES[i % len(NEW_CITIES)]
        assert [p.rstrip("市") for p in find_places(condense(f"那{new}呢？", [previous], TERMS).full)] == [new]


@pytest.mark.parametrize("template", ["那{}市呢？", "{}市呢？"], ids=["na-X-shi-ne", "X-shi-ne"])
def test_na_city_with_shi_ne_swaps_the_place_too(template: str) -> None:
    """「那太原市呢？」 is the same follow-up as 「那太原呢？」."""
    wrong = []
    for i, previous in enumerate(ONE_CITY):
        new = NEW_CITIES[i % len(NEW_CITIES)]
        got = condense(template.format(new), [previous], TERMS)
        if got != Condensed(swapped(previous, new)):
            wrong.append((previous, template.format(new), got))
    assert not wrong, wrong[:5]


PREVIOUS = (
    "吕梁市“三个一批”活动签约了多少个项目？",
    "2024年吕梁“三个一批”开工项目总投资多少？",
    "吕梁一季度8个工业类开发区规上工业增加值完成多少？",
    "太原市“晋创谷”先行区先行选择多少个项目？",
    "吕梁市一季度有多少个立项备案项目？",
)
FOLLOW_UPS = ("那开工了多少个？", "同比增长多少？", "其中实行承诺制办理的有几个？", "它们分别是哪些？", "那投产呢？")


@pytest.mark.parametrize("previous", PREVIOUS)
def test_follow_ups_carry_place_terms_period_and_year_as_context(previous: str) -> None:
    for follow_up in FOLLOW_UPS:
        got = condense(follow_up, [previous], TERMS)
        context = got.context
        assert got.question.startswith(follow_up.rstrip("？呢")), got
        for place in find_places(previous):
            assert place in context, (follow_up, got)
        for term in TERMS:
            if term in previous:
                assert f"“{term}”" in context, (follow_up, got)
        for period in _periods(previous):
            assert period in context, (follow_up, got)
        for year in re.findall(r"(20\d\d)年", previous):
            assert f"{year}年" in context, (follow_up, got)
        assert got.full.endswith(got.question) and got.full.startswith(context)


def test_carried_context_excludes_what_the_follow_up_already_says() -> None:
    got = condense("那“三个一批”开工了多少个？", ["吕梁市“三个一批”活动签约了多少个项目？"], TERMS)
    assert "三个一批" not in got.context and "吕梁市" in got.context


def test_a_follow_up_without_a_question_word_inherits_the_previous_ones() -> None:
    assert condense("那投产呢？", ["吕梁“三个一批”开工项目总投资多少？"], TERMS).question == "那投产是多少？"
    assert condense("那电机专业镇呢？", ["太原半导体专业镇重点加快哪些项目？"], frozenset()).question == "那电机专业镇有哪些？"
    # It asks what the question before asked, of every kind (assistant/data/question_words.tsv [ask]).
    assert condense("已经竣工的呢？", ["对还没竣工投产的项目，太原采取什么措施？"]).question == "已经竣工的有什么措施？"
    assert condense("那二期呢？", ["太原经开区一期项目由谁投资建设？"]).question == "那二期是谁？"


@pytest.mark.parametrize(
    ("follow_up", "stale"),
    [("那上半年呢？", "一季度"), ("那2023年呢？", "2024年")],
    ids=["own-period", "own-year"],
)
def test_a_follow_up_with_its_own_period_does_not_carry_the_old_one(follow_up: str, stale: str) -> None:
    """Like 「那太原呢？」 replaces the place, 「那上半年呢？」 replaces the period: the old one must not
    stay in the context (it would make the answerer demand both periods at once)."""
    got = condense(follow_up, ["2024年吕梁市一季度规上工业增加值完成多少？"], TERMS)
    assert stale not in got.full, got


def test_a_question_with_its_own_place_or_term_is_not_a_follow_up() -> None:
    own_subject = [q for q in STANDALONE if (find_places(q) or any(t in q for t in TERMS))]
    assert len(own_subject) > 50
    for i, question in enumerate(own_subject):
        if re.match(r"^(那么|那|其中|它们|它|这些|这个|该|此|还有|另外|同时)", question):
            continue
        previous = own_subject[(i + 7) % len(own_subject)]
        assert not is_follow_up(question, previous, TERMS), (question, previous)
        assert condense(question, [previous], TERMS) == Condensed(question)


def test_follow_up_detection() -> None:
    previous = "吕梁市“三个一批”活动签约了多少个项目？"
    for question in ("那开工了多少个？", "其中投资5亿元的是哪些项目？", "它们分别是哪些？", "太原呢？", "And the started ones?",
                     "What about Taiyuan?", "同比增长多少？"):
        assert is_follow_up(question, previous, TERMS), question
    assert not is_follow_up("同比增长多少？", "今天天气怎么样？", TERMS)  # nothing to follow up on


HISTORY_FORMS = {
    "strings": ["吕梁市“三个一批”活动签约了多少个项目？"],
    "role-dicts": [{"role": "user", "content": "吕梁市“三个一批”活动签约了多少个项目？"},
                   {"role": "assistant", "content": "太原市：签约项目99个[1]。"}],
    "question-dicts": [{"question": "吕梁市“三个一批”活动签约了多少个项目？", "answer": "签约项目12个"}],
    "pairs": [("吕梁市“三个一批”活动签约了多少个项目？", "太原市：签约项目99个[1]。")],
    "list-pairs": [["吕梁市“三个一批”活动签约了多少个项目？", "签约项目12个"]],
}


@pytest.mark.parametrize("form", sorted(HISTORY_FORMS))
def test_every_history_form_gives_the_same_result(form: str) -> None:
    expected = condense("那开工了多少个？", HISTORY_FORMS["strings"], TERMS)
    assert condense("那开工了多少个？", HISTORY_FORMS[form], TERMS) == expected
    assert "吕梁市" in expected.context and "太原市" not in expected.context  # assistant turns are not questions
    assert condense("那太原呢？", HISTORY_FORMS[form], TERMS).question == "太原市“三个一批”活动签约了多少个项目？"


def test_assistant_only_history_is_no_history() -> None:
    history = [{"role": "assistant", "content": "吕梁市：签约项目12个[1]。"}, {"role": "system", "content": "吕梁市"}]
    assert condense("那开工了多少个？", history, TERMS) == Condensed("那开工了多少个？")


def test_chains_of_follow_ups_resolve_through_both_previous_turns() -> None:
    # 签约 → 开工 → 投产: the place and the term come from two turns back.
    got = condense("那投产了多少个？", ["吕梁市“三个一批”活动签约了多少个项目？", "那开工了多少个？"], TERMS)
    assert "吕梁市" in got.context and "“三个一批”" in got.context and got.question == "那投产了多少个？"
    # 吕梁 → 太原 → 同比: the latest place wins.
    got = condense("同比增长多少？", ["吕梁市一季度规上工业增加值完成多少？", "那太原呢？"], TERMS)
    assert "太原市" in got.context and "吕梁" not in got.context and "一季度" in got.context
    # 吕梁 → 太原 → 大同: a swap of a swap.
    got = condense("那大同呢？", ["吕梁市“三个一批”活动签约投资额是多少？", "那太原呢？"], TERMS)
    assert got == Condensed("大同市“三个一批”活动签约投资额是多少？")


def test_only_the_last_turns_matter_for_a_fresh_question() -> None:
    history = ["吕梁市“三个一批”活动签约了多少个项目？", "那开工了多少个？", "太原有哪些专业镇？"]
    got = condense("那电机专业镇呢？", history, frozenset())
    assert "太原" in got.context and "吕梁" not in got.full
