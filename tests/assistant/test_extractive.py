"""The extractive answerer, through the assistant over the seed index (fake embedder).

Property-style: every question of the eval dataset (and generated variants) must keep the
answerer's promises — no figure it cannot cite, figures quoted exactly as printed, refusals
for places the bulletins never mention — rather than one expected answer per question.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.chain import REFUSAL_PREFIX, BulletinAssistant
from assistant.extractive import Draft, Part, split_clauses
from assistant.query import find_places
from assistant.verify import FLAG, figures, normalise, supported
from index.builder import Builder
from index.store import BulletinIndex
from tests.conftest import ROOT, make_settings

DATASET = [json.loads(line) for line in (ROOT / "evals/datasets/bulletins_qa.jsonl").read_text(encoding="utf-8").splitlines()]
ANSWERABLE = [q for q in DATASET if not q["unanswerable"]]
FIGURE_QUESTIONS = [q for q in ANSWERABLE if "figure" in q["tags"]]
# Shanxi cities the seed bulletin never mentions.
ABSENT_CITIES = ("大同", "长治", "晋中", "朔州", "阳泉", "晋城", "运城", "忻州", "临汾")
# A figure as an answer prints it: number (maybe signed, decimal) + optional 亿/万 + unit.
PRINTED_FIGURE = re.compile(r"[-−]?\d+(?:\.\d+)?\s*(?:万亿|亿|万)?\s*(?:个百分点|亿元|万元|元|万吨|吨|GW|MW|%|个|家|名|户|项|条|台|亩|人|倍|大基地)")


@pytest.fixture(scope="module")
def assistant(seed_index) -> BulletinAssistant:
    settings, index = seed_index
    return BulletinAssistant(settings, index=index)


@pytest.fixture(scope="module")
def answers(assistant: BulletinAssistant) -> dict[str, object]:
    """Every dataset question asked once (with its history): id → Answer."""
    return {q["id"]: assistant.ask(q["question"], q.get("history") or []) for q in DATASET}


def variants(question: str) -> list[str]:
    """The same question as people type it: ASCII ?, stray spaces, a polite prefix."""
    return [question, question.replace("？", "?"), f"  {question} ", f"请问，{question}"]


def assert_figures_cited(answer, question: str) -> None:
    cited = [c.text for c in answer.citations]
    assert cited, (question, answer.text)
    for figure in figures(answer.text):
        assert any(supported(figure, text) for text in cited), (question, figure, answer.text)
    assert answer.unsupported_figures == [] and FLAG not in answer.text, (question, answer.text)


# --- no unsupported figure, ever ------------------------------------------------------------------------
def test_figure_answers_only_state_figures_of_their_cited_passages(assistant: BulletinAssistant) -> None:
    answered = 0
    for q in FIGURE_QUESTIONS:
        for question in variants(q["question"]):
            answer = assistant.ask(question, q.get("history") or [])
            if answer.refused:
                continue
            answered += 1
            assert_figures_cited(answer, question)
            assert re.search(r"\d", answer.text), (question, answer.text)  # a figure question answered with a number
    assert answered >= 0.8 * 4 * len(FIGURE_QUESTIONS), "most figure questions should be answered"


def test_no_answer_of_the_dataset_states_an_uncited_figure(answers) -> None:
    for q in DATASET:
        answer = answers[q["id"]]
        if not answer.refused:
            assert_figures_cited(answer, q["question"])


def test_answers_quote_figures_exactly_as_printed(answers) -> None:
    """No normalising, rounding or re-spacing: the figure string is in the cited passage verbatim."""
    seen = 0
    for q in ANSWERABLE:
        answer = answers[q["id"]]
        if answer.refused:
            continue
        for printed in PRINTED_FIGURE.findall(answer.text):
            seen += 1
            assert any(printed in c.text for c in answer.citations), (q["question"], printed, answer.text)
    assert seen > 50


def test_answer_text_comes_from_the_cited_passages(answers) -> None:
    """Each quoted part (between markers) is a run of a cited passage, after the optional label
    「city：」 (or 「city“section”：」 before a section's items)."""
    for q in ANSWERABLE:
        answer = answers[q["id"]]
        if answer.refused:
            continue
        by_n = {c.n: c for c in answer.citations}
        for part, n in re.findall(r"([^\[\]]+?)\[(\d+)\]", answer.text):
            part = part.lstrip("；。")
            citation = by_n[int(n)]
            section = citation.section.split(" · ")[0]
            for label in (f"{citation.city}：", f"{citation.city}“{section}”："):
                if citation.city and part.startswith(label):
                    part = part[len(label) :]
            pieces = [p for p in re.split(r"[，；：。]", part) if p]
            assert all(p in citation.text for p in pieces), (q["question"], part, citation.text)


# --- refusals --------------------------------------------------------------------------------------------
def test_dataset_questions_about_absent_places_are_refused(answers) -> None:
    absent = [q for q in DATASET if q["unanswerable"] and any(c in q["question"] or c in str(q.get("history")) for c in
                                                                   (*ABSENT_CITIES, "Datong"))]
    assert len(absent) >= 4
    for q in absent:
        answer = answers[q["id"]]
        assert answer.refused and answer.text.startswith(REFUSAL_PREFIX), (q["question"], answer.text)
        assert answer.citations == []


def test_any_answerable_question_moved_to_an_absent_city_is_refused(assistant: BulletinAssistant) -> None:
    moved = 0
    for i, q in enumerate(ANSWERABLE):
        if q.get("history"):
            continue
        m = re.search(r"吕梁市|太原市|吕梁|太原", q["question"])
        if not m:
            continue
        for city in (ABSENT_CITIES[i % len(ABSENT_CITIES)], ABSENT_CITIES[(i + 4) % len(ABSENT_CITIES)]):
            question = q["question"].replace(m.group(0), city + ("市" if m.group(0).endswith("市") else ""))
            answer = assistant.ask(question)
            moved += 1
            assert answer.refused and answer.text.startswith(REFUSAL_PREFIX), (question, answer.text)
            assert f"{city}市" in answer.text, answer.text  # the reason names the place
    assert moved > 100


def test_years_the_bulletins_do_not_cover_are_refused(assistant: BulletinAssistant) -> None:
    for q in FIGURE_QUESTIONS:
        if q.get("history") or re.search(r"20\d\d", q["question"]):
            continue
        for year in (2019, 2021, 2023):
            answer = assistant.ask(f"{year}年{q['question']}")
            assert answer.refused and f"{year}年" in answer.text, (q["question"], answer.text)


def test_refusals_carry_the_nearest_passages(answers) -> None:
    refusals = 0
    for q in DATASET:
        answer = answers[q["id"]]
        if not answer.refused:
            continue
        refusals += 1
        assert answer.text.startswith(REFUSAL_PREFIX) and answer.citations == []
        assert 1 <= len(answer.nearest) <= 3, q["question"]
        assert [c.n for c in answer.nearest] == list(range(1, len(answer.nearest) + 1))
        assert [c.chunk_id for c in answer.nearest] == answer.retrieved[: len(answer.nearest)]
    assert refusals >= 20


# --- dates -----------------------------------------------------------------------------------------------
EVENTS = [
    ("3月5日", "吕梁市政府与天津市南开区签订战略合作协议", "吕梁市政府与南开区签订战略合作协议"),
    ("4月12日", "太原市举办重点项目集中开工活动", "太原市举办重点项目集中开工活动"),
    ("5月20日", "吕梁市召开开发区建设推进会", "吕梁市召开开发区建设推进会"),
]


@pytest.fixture(scope="module")
def dated_assistant(tmp_path_factory: pytest.TempPathFactory) -> BulletinAssistant:
    tmp = tmp_path_factory.mktemp("dates")
    corpus = tmp / "passages.jsonl"
    records = [{"id": f"e{i}", "text": f"{date}，{event}，推动项目落地。签约项目{i + 3}个。"} for i, (date, event, _) in enumerate(EVENTS)]
    records.append({"id": "x", "text": "太原市聚力培育9条重点产业链，推进技术成果供需对接。"})
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    settings = make_settings(tmp / "data")
    index = BulletinIndex(settings)
    Builder(index, show_progress=False).build(corpus)
    return BulletinAssistant(settings, index=index)


def _ask_dates(assistant: BulletinAssistant, phrasings: tuple[str, ...]) -> list[tuple[str, str]]:
    wrong = []
    for date, _, asked in EVENTS:
        for phrasing in phrasings:
            question = phrasing.format(asked)
            answer = assistant.ask(question)
            if answer.refused or date not in answer.text:
                wrong.append((question, answer.text))
    return wrong


def test_date_questions_are_answered_with_the_date(dated_assistant: BulletinAssistant) -> None:
    assert not _ask_dates(dated_assistant, ("{}是什么时候？", "{}是哪天？", "何时{}？"))


def test_date_questions_asked_with_ji_are_answered_with_the_date(dated_assistant: BulletinAssistant) -> None:
    """「几月几日」「几号」 are date questions too; today they are taken for figure questions and refused
    with 「未给出所问的数字」 although the passage states the date (see test_query)."""
    assert not _ask_dates(dated_assistant, ("{}是几月几日？", "{}是几号？"))


# --- figures stated in the question -----------------------------------------------------------------
SPACED = [  # passages with figures printed with spaces (「162.33 亿元」), as PDF text often is
    "一季度，吕梁市 8 个工业类开发区规上工业增加值完成 162.33 亿元，同比增长-2.6%。",
    "吕梁市投资 5 亿元的路德环境绿色生物科技产业基地项目，投资 3.5 亿元的上海中来方山 100MW 光伏发电项目。",
    "吕梁市 13 个平台公司完成基础设施建设投资 0.64 亿元，招引项目 10 个、总投资 36.175 亿元。",
    "太原市聚力培育 9 条重点产业链，推进技术成果供需对接。",
]


def _passage_assistant(tmp: Path, texts: list[str]) -> BulletinAssistant:
    corpus = tmp / "passages.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"p{i}", "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)),
                      encoding="utf-8")
    settings = make_settings(tmp / "data")
    index = BulletinIndex(settings)
    Builder(index, show_progress=False).build(corpus)
    return BulletinAssistant(settings, index=index)


@pytest.fixture(scope="module")
def spaced_assistants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BulletinAssistant]:
    """The same passages printed with spaces inside figures, and de-spaced."""
    return {
        "spaced": _passage_assistant(tmp_path_factory.mktemp("spaced"), SPACED),
        "clean": _passage_assistant(tmp_path_factory.mktemp("clean"), [normalise(t) for t in SPACED]),
    }


STATED = [("吕梁一季度8个工业类开发区规上工业增加值完成多少？", "162.33"), ("吕梁投资5亿元的是哪个项目？", "路德环境"),
          ("吕梁投资3.5亿元的是什么项目？", "上海中来"), ("吕梁13个平台公司完成基础设施建设投资多少？", "0.64")]


@pytest.mark.parametrize(("question", "wanted"), STATED)
def test_a_figure_stated_in_the_question_is_found_in_de_spaced_passages(
        spaced_assistants: dict[str, BulletinAssistant], question: str, wanted: str) -> None:
    answer = spaced_assistants["clean"].ask(question)
    assert not answer.refused and wanted in answer.text, answer.text


@pytest.mark.parametrize(("question", "wanted"), STATED, ids=["8ge", "5yi", "3.5yi", "13ge"])
def test_a_figure_stated_in_the_question_matches_a_spaced_figure_in_the_passage(
        spaced_assistants: dict[str, BulletinAssistant], question: str, wanted: str) -> None:
    """verify() treats 「8 个」 and 「8个」 as the same figure; the answerer's requirement that the
    passage state the question's figure must too, or a passage corpus with printed spacing refuses
    with 「未提及8个」 what the same corpus de-spaced answers."""
    answer = spaced_assistants["spaced"].ask(question)
    assert not answer.refused and wanted in answer.text, answer.text


def test_spaced_passages_answer_questions_without_stated_figures(spaced_assistants: dict[str, BulletinAssistant]) -> None:
    for question, wanted in (("吕梁一季度工业类开发区规上工业增加值完成多少？", "162.33 亿元"), ("太原市聚力培育几条重点产业链？", "9 条")):
        answer = spaced_assistants["spaced"].ask(question)
        assert not answer.refused and wanted in answer.text and answer.unsupported_figures == [], answer.text


# --- split_clauses and Draft -------------------------------------------------------------------------
PAIRS = (("“", "”"), ("（", "）"), ("《", "》"), ("(", ")"))


def test_split_clauses_example() -> None:
    assert split_clauses("本次活动，签约项目12个，签约投资额24.07亿元；开工项目10个。") == [
        "本次活动，", "签约项目12个，", "签约投资额24.07亿元；", "开工项目10个。"]


def test_split_clauses_keeps_quotes_and_brackets_together() -> None:
    import random

    rng = random.Random(5)
    words = ["开发区", "签约项目12个", "投资24.07亿元", "同比增长-2.6%", "专业招商", "全员招商", "链主企业", "GW"]
    for _ in range(300):
        pieces = []
        for _ in range(rng.randint(1, 5)):
            if rng.random() < 0.5:
                open_, close = rng.choice(PAIRS)
                inner = rng.choice("，；：,;:").join(rng.sample(words, 2))
                if rng.random() < 0.3:  # nested
                    o2, c2 = rng.choice(PAIRS)
                    inner = f"{inner}{o2}{rng.choice(words)}，{rng.choice(words)}{c2}"
                pieces.append(f"{rng.choice(words)}{open_}{inner}{close}")
            else:
                pieces.append(rng.choice(words))
        sentence = "".join(p + rng.choice("，；：") for p in pieces[:-1]) + pieces[-1] + "。"
        clauses = split_clauses(sentence)
        assert "".join(clauses) == sentence  # lossless
        for clause in clauses:
            for open_, close in PAIRS:
                assert clause.count(open_) == clause.count(close), (sentence, clauses)
        assert len(clauses) == len(pieces), (sentence, clauses)


def test_split_clauses_on_real_passages(seed_index) -> None:
    _, index = seed_index
    for chunk in index.chunks.values():
        clauses = split_clauses(chunk.text)
        assert "".join(clauses) == chunk.text
        for clause in clauses:
            assert clause.count("“") == clause.count("”") and clause.count("（") == clause.count("）"), clause


def test_draft_renders_parts_with_their_citation_numbers() -> None:
    draft = Draft(parts=[Part("签约项目12个", 3), Part("开工项目10个", 0)])
    assert draft.render(lambda hit: {3: 1, 0: 2}[hit]) == "签约项目12个[1]；开工项目10个[2]。"


def test_refused_draft_reasons(assistant: BulletinAssistant) -> None:
    answerer = assistant.extractive()
    from assistant.query import analyse

    hits = assistant.retriever.search(analyse("吕梁签约投资额"), 8)
    draft = answerer.answer(analyse("大同市签约投资额是多少？"), hits)
    assert draft.refused and draft.parts == [] and "大同市" in draft.reason
    draft = answerer.answer(analyse("吕梁市2019年签约投资额是多少？"), hits)
    assert draft.refused and "2019" in draft.reason
    draft = answerer.answer(analyse("吕梁市签约投资额是多少？"), [])
    assert draft.refused


def test_places_in_answers_are_the_asked_ones(assistant: BulletinAssistant) -> None:
    """An answer about 吕梁 never cites a 太原 passage, and vice versa."""
    for q in ANSWERABLE:
        asked = find_places(q["question"])
        if q.get("history") or asked not in (("吕梁市",), ("太原市",)):
            continue
        answer = assistant.ask(q["question"])
        if not answer.refused:
            assert all(c.city == asked[0] for c in answer.citations), (q["question"], [c.city for c in answer.citations])



# --- lists -------------------------------------------------------------------------------------------------
TOWNS = {"清徐老陈醋": "食醋生产基地", "电机": "太原智能电机港", "碳纤维": "招引下游企业", "半导体": "源瀚二期"}


@pytest.mark.parametrize("town", sorted(TOWNS))
def test_a_question_about_one_member_of_a_list_gets_that_member(assistant: BulletinAssistant, town: str) -> None:
    """The 专业镇 sentence lists four towns; asking about one must not quote all four."""
    answer = assistant.ask(f"太原{town}专业镇在推进哪些工作？")
    assert TOWNS[town] in answer.text, answer.text
    assert not [t for t, fact in TOWNS.items() if t != town and fact in answer.text], answer.text


def test_a_question_about_the_whole_list_gets_all_members(assistant: BulletinAssistant) -> None:
    answer = assistant.ask("太原有哪几个专业镇？")
    assert all(town in answer.text for town in TOWNS), answer.text


# --- periods and terms the bulletins never state ----------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("吕梁二季度规上工业增加值是多少？", "二季度"),
        ("吕梁上半年开工项目有多少个？", "上半年"),
        ("吕梁去年签约投资额是多少？", "去年"),
        ("太原市的GDP是多少？", "GDP"),
        ("吕梁开发区的PMI指数", "PMI"),
    ],
)
def test_a_period_or_term_no_bulletin_states_is_refused(assistant: BulletinAssistant, question: str, reason: str) -> None:
    answer = assistant.ask(question)
    assert answer.refused and reason in answer.text, answer.text
    assert answer.nearest  # the nearest passages are still shown


@pytest.mark.parametrize(
    "question", ["吕梁一季度规上工业增加值是多少？", "吕梁开发区 Q1 规上工业增加值 YoY 增速是多少？", "晶科能源年产多少GW？"]
)
def test_periods_and_latin_words_the_bulletins_do_state_are_answered(assistant: BulletinAssistant, question: str) -> None:
    assert not assistant.ask(question).refused


def test_an_asked_figure_is_matched_as_a_whole_number(assistant: BulletinAssistant) -> None:
    """「投资5亿元的项目」: the two 5亿元 projects, not 3.5亿元 nor 4.94亿元."""
    answer = assistant.ask("吕梁投资5亿元的项目有哪些？")
    assert "锂离子与麒麟动力电池" in answer.text and "路德环境" in answer.text, answer.text
    assert "3.5亿元" not in answer.text and "4.94亿元" not in answer.text, answer.text


@pytest.mark.parametrize(
    "question",
    [
        "吕梁经开区氢能重卡有多少辆？",  # the passage states 人才7名, not 辆
        "吕梁对引进的高层次人才给多少补贴？",  # 25名 is a count, not money
        "太原的人才公寓建了多少套？",
        "落地项目每亩土地补贴多少？",  # a total (4.94亿元) is not a figure per 亩
    ],
)
def test_a_figure_of_another_unit_does_not_answer(assistant: BulletinAssistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.refused, answer.text
