"""``BulletinAssistant``: ask/stream agreement, validation, the Answer JSON, history, the city
filter and concurrent use (seed index, fake embedder, extractive backend)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from assistant.chain import REFUSAL_PREFIX, AnswerChunk, BulletinAssistant, InvalidQuestionError, validate_question
from assistant.types import Answer, Citation
from tests.conftest import ROOT, make_settings

DATASET = [json.loads(line) for line in (ROOT / "evals/datasets/bulletins_qa.jsonl").read_text(encoding="utf-8").splitlines()]
SAMPLE = DATASET[::12]  # ~15 questions of every kind, with and without history
CITATION_FIELDS = {"n", "chunk_id", "text", "source", "title", "city", "section"}


@pytest.fixture(scope="module")
def assistant(seed_index) -> BulletinAssistant:
    settings, index = seed_index
    return BulletinAssistant(settings, index=index)


# --- ask and stream ---------------------------------------------------------------------------------
def test_ask_and_stream_agree(assistant: BulletinAssistant) -> None:
    for q in SAMPLE:
        history = q.get("history") or []
        chunks = list(assistant.stream(q["question"], history))
        final = chunks[-1]
        assert isinstance(final, AnswerChunk) and isinstance(final.answer, Answer)
        assert all(c.answer is None for c in chunks[:-1]), "only the last chunk carries the Answer"
        segments = [c.text for c in chunks[:-1]]
        assert len(segments) >= 1 and all(segments), q["question"]
        assert "".join(segments) == final.answer.text, q["question"]
        asked = assistant.ask(q["question"], history)
        assert asked.text == final.answer.text and asked.refused == final.answer.refused
        assert [c.chunk_id for c in asked.citations] == [c.chunk_id for c in final.answer.citations]


def test_stream_chunks_add_up_like_a_langchain_stream(assistant: BulletinAssistant) -> None:
    chunks = list(assistant.stream("吕梁市“三个一批”活动签约投资额是多少？"))
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.answer is chunks[-1].answer and total.text == total.answer.text


def test_the_chain_is_a_runnable(mini: BulletinAssistant) -> None:
    chunks = list(mini.chain.stream({"question": "吕梁市“三个一批”活动签约了多少个项目？", "history": [], "city": "", "k": None}))
    assert chunks[-1].answer is not None and "12个" in chunks[-1].answer.text


# --- validation --------------------------------------------------------------------------------------
@pytest.mark.parametrize("question", ["", " ", "   \n\t ", "\u3000"], ids=["empty", "space", "whitespace", "ideographic-space"])
def test_empty_questions_are_rejected(assistant: BulletinAssistant, question: str) -> None:
    with pytest.raises(InvalidQuestionError, match="empty"):
        assistant.ask(question)
    with pytest.raises(InvalidQuestionError):
        list(assistant.stream(question))


@pytest.mark.parametrize("question", [None, 42, b"\xe5\x90\x95\xe6\xa2\x81", ["吕梁"], {"question": "吕梁"}])
def test_non_string_questions_are_rejected(assistant: BulletinAssistant, question: object) -> None:
    with pytest.raises(InvalidQuestionError, match="string"):
        assistant.ask(question)  # type: ignore[arg-type]


def test_too_long_questions_are_rejected_with_the_limit(seed_index) -> None:
    settings, index = seed_index
    for limit in (20, 50):
        assistant = BulletinAssistant(make_settings(settings.data_dir, max_question_chars=limit), index=index)
        ok = "吕梁" * (limit // 2)
        assert len(ok) == limit
        assert validate_question(f"  {ok}  ", limit) == ok  # surrounding spaces do not count
        assistant.ask(ok)
        with pytest.raises(InvalidQuestionError) as err:
            assistant.ask(ok + "吕")
        assert str(limit) in str(err.value) and str(limit + 1) in str(err.value)


def test_invalid_question_error_is_a_value_error() -> None:
    assert issubclass(InvalidQuestionError, ValueError)


# --- the Answer JSON ----------------------------------------------------------------------------------
def test_answer_json_fields(assistant: BulletinAssistant) -> None:
    for q in SAMPLE:
        answer = assistant.ask(q["question"], q.get("history") or [])
        data = json.loads(json.dumps(answer.to_json(id=q["id"]), ensure_ascii=False))
        assert {"id", "question", "answer", "refused", "citations", "unsupported_figures", "backend", "timings_ms"} <= data.keys()
        assert data["id"] == q["id"] and data["question"] == q["question"].strip()
        assert data["answer"] == answer.text and data["refused"] is answer.refused
        assert data["backend"] == "extractive" and isinstance(data["unsupported_figures"], list)
        assert all(CITATION_FIELDS <= c.keys() for c in data["citations"] + data["nearest"])
        assert [c["n"] for c in data["citations"]] == list(range(1, len(data["citations"]) + 1))
        assert (data["citations"] == []) == data["refused"]
        assert all(isinstance(v, float) for v in data["timings_ms"].values())
    assert "id" not in assistant.ask("吕梁签约了多少个项目？").to_json()


def test_citations_point_at_indexed_chunks(seed_index, assistant: BulletinAssistant) -> None:
    _, index = seed_index
    answer = assistant.ask("吕梁市“三个一批”活动签约投资额是多少？")
    for c in answer.citations:
        chunk = index.chunks[c.chunk_id]
        assert (c.text, c.source, c.title, c.city) == (chunk.text, chunk.source, chunk.article_title, chunk.city)
        assert f"[{c.n}]" in answer.text and c.label.startswith(chunk.city)


def test_timings_cover_condense_retrieve_and_extract(assistant: BulletinAssistant) -> None:
    for question in ("吕梁市“三个一批”活动签约投资额是多少？", "大同市开发区一季度规上工业增加值完成多少？"):
        timings = assistant.ask(question).timings_ms
        assert {"condense_ms", "retrieve_ms", "extract_ms", "total_ms"} <= timings.keys()
        assert all(v >= 0 for v in timings.values()) and timings["total_ms"] > 0
        assert timings["total_ms"] >= timings["condense_ms"] + timings["retrieve_ms"] + timings["extract_ms"] - 1e-6
    answered = next(a for a in (assistant.ask(q["question"]) for q in SAMPLE) if not a.refused)
    assert "verify_ms" in answered.timings_ms


def test_retrieved_lists_ranked_chunk_ids(seed_index, assistant: BulletinAssistant) -> None:
    _, index = seed_index
    answer = assistant.ask("吕梁一季度有多少个立项备案项目？")
    assert len(answer.retrieved) >= 5 and all(cid in index.chunks for cid in answer.retrieved)
    assert {c.chunk_id for c in answer.citations} <= set(answer.retrieved)


# --- a small corpus written here: follow-ups, compound questions, the city filter ------------------------
MINI = {
    "lvliang.txt": (
        "吕梁市：以“三个一批”活动为抓手推动开发区投资增长\n\n"
        "今年以来，吕梁市开发区狠抓项目建设。本次“三个一批”活动，签约项目12个，签约投资额24.07亿元；"
        "开工项目10个，总投资12.12亿元；投产项目8个，总投资11.78亿元。\n\n"
        "一季度，全市开发区规上工业增加值完成162.33亿元，同比增长-2.6%。\n\n"
        "吕梁市共有运营公司13家，平台公司完成基础设施建设投资0.64亿元。\n"
    ),
    "taiyuan.txt": (
        "太原市：推动重大项目签约落地\n\n"
        "太原市聚力培育9条重点产业链。晶科能源垂直一体化项目年产56GW，总投资56亿元。"
        "今年引进高层次人才25名。\n\n"
        "太原经开区于1992年经国务院批准设立。经国务院批准设立的太原经开区在国家级经开区综合考评中位列第15名。\n"
    ),
    "fuzhou.txt": (
        "福州市：福州新区举行中央企业和地方国企签约活动\n\n"
        "座谈会上，对接央企项目50项，总投资2802亿元；地方国企项目14项，总投资513亿元。\n"
    ),
}


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> BulletinAssistant:
    from index.builder import Builder
    from index.store import BulletinIndex

    base = tmp_path_factory.mktemp("mini")
    corpus = base / "corpus"
    corpus.mkdir()
    for name, text in MINI.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = make_settings(base / "data", corpus_dir=corpus)
    index = BulletinIndex(settings)
    Builder(index, show_progress=False).build(corpus)
    return BulletinAssistant(settings, index=index)


FOLLOW_UPS = [  # (history, follow-up, a figure the answer must state, one it must not)
    (["吕梁市“三个一批”活动签约了多少个项目？"], "那开工了多少个？", "10个", "12个"),
    (["吕梁市“三个一批”活动签约了多少个项目？"], "那投产了多少个？", "8个", "12个"),
    (["吕梁一季度规上工业增加值完成多少？"], "同比增长多少？", "-2.6%", "24.07亿元"),
]


@pytest.mark.parametrize(("history", "follow_up", "wanted", "unwanted"), FOLLOW_UPS)
def test_follow_ups_resolve_from_history(mini: BulletinAssistant, history: list[str], follow_up: str,
                                         wanted: str, unwanted: str) -> None:
    answer = mini.ask(follow_up, history)
    assert not answer.refused and wanted in answer.text and unwanted not in answer.text, answer.text
    assert answer.condensed_question.endswith(follow_up) and answer.condensed_question != follow_up
    assert all(c.city == "吕梁市" for c in answer.citations)
    alone = mini.ask(follow_up)  # without the history the follow-up has nothing to stand on
    assert alone.condensed_question == follow_up


@pytest.mark.parametrize(("follow_up", "wanted"), [("那它总投资是多少？", "56亿元"), ("那它的运营公司有几家？", "")])
def test_a_follow_up_about_it_stays_with_the_subject_of_the_question_before(mini: BulletinAssistant, follow_up: str,
                                                                           wanted: str) -> None:
    """「那它…」 is about the earlier question's subject, here a word no lexicon term holds (晶科): the
    answer's article must name it, so 吕梁's figures (12.12亿元, 13家) answer neither follow-up."""
    answer = mini.ask(follow_up, ["晶科能源项目年产多少GW？"])
    if wanted:
        assert not answer.refused and wanted in answer.text, answer.text
    else:
        assert answer.refused and "13家" not in answer.text, answer.text


def test_history_as_role_dicts_and_pairs(mini: BulletinAssistant) -> None:
    first = "吕梁市“三个一批”活动签约了多少个项目？"
    plain = mini.ask("那开工了多少个？", [first])
    dicts = mini.ask("那开工了多少个？", [{"role": "user", "content": first}, {"role": "assistant", "content": plain.text}])
    pairs = mini.ask("那开工了多少个？", [(first, plain.text)])
    assert plain.text == dicts.text == pairs.text


def test_place_swap_follow_up_is_refused_for_an_absent_city(mini: BulletinAssistant) -> None:
    answer = mini.ask("那大同呢？", ["吕梁市“三个一批”活动签约投资额是多少？"])
    assert answer.refused and "大同" in answer.text and answer.condensed_question.startswith("大同")


@pytest.mark.parametrize(
    ("question", "figures"),
    [
        ("吕梁的运营公司有几家，平台公司完成基础设施建设投资多少？", ["13家", "0.64亿元"]),
        ("太原有几条重点产业链，引进了多少名高层次人才？", ["9条", "25名"]),
        # The ranking's sentence names every word of the first part, but not its year.
        ("太原经开区是哪一年经国务院批准设立的？它在综合考评中排第几名？", ["1992年", "第15名"]),
        # The whole question's best clause (地方国企项目14项，总投资513亿元) has a count and an amount,
        # but not the 央企 the first part counts: each part is answered on its own.
        ("福州新区首次举行的中央企业和大型地方国企签约活动座谈会上，对接了多少项央企项目？总投资多少？", ["50项", "2802亿元"]),
    ],
)
def test_each_part_of_a_compound_question_is_answered_and_cited(mini: BulletinAssistant, question: str,
                                                                figures: list[str]) -> None:
    answer = mini.ask(question)
    assert not answer.refused and not answer.unsupported_figures, answer.text
    assert answer.confidence > 0  # as sure as its least sure part: what the refusal threshold is calibrated on
    for figure in figures:
        assert figure in answer.text, (figure, answer.text)
        assert any(figure in c.text for c in answer.citations), figure


def test_a_draft_for_the_whole_question_covers_a_part_only_with_the_metric_it_counts(mini: BulletinAssistant) -> None:
    """A count and an amount of 地方国企项目 do not answer 「对接了多少项央企项目」, though the units fit."""
    from assistant.extractive import Draft, Part
    from assistant.query import analyse

    draft = Draft([Part("地方国企项目14项，总投资513亿元", 0)])
    assert not mini._covers(draft, analyse("座谈会上对接了多少项央企项目"))
    assert mini._covers(draft, analyse("座谈会上对接了多少项地方国企项目"))


def test_an_earlier_part_covers_a_figure_part_only_when_it_names_the_metric_asked(mini: BulletinAssistant,
                                                                                  monkeypatch) -> None:
    """「…投资多少？建成达产后预计新增年产值多少？」: the 8亿元 of 投资 is money, but no 年产值."""
    from assistant.extractive import Draft, Part
    from assistant.query import analyse

    draft = Draft([Part("投资8亿元的金杯电工三期扩能建设项目现场，近日正在加快土地清场", 0)])
    assert not mini._covers(draft, analyse("建成达产后预计新增年产值多少"))
    assert mini._covers(Draft([Part("项目总投资8亿元，新增年产值30亿元", 0)]), analyse("建成达产后预计新增年产值多少"))
    # A unit named tells the figure apart: 872亩 answers 「总面积多少亩」 though 面积 is not written.
    assert mini._covers(Draft([Part("该市推出8宗共872亩“熟地”", 0)]), analyse("总面积多少亩"))
    monkeypatch.setattr("assistant.chain.METRIC_COVERED", False)
    assert mini._covers(draft, analyse("建成达产后预计新增年产值多少"))


def test_a_part_is_covered_by_its_own_words_not_the_subject_all_parts_share(mini: BulletinAssistant,
                                                                             monkeypatch) -> None:
    """「太原经开区位列第几名？太原经开区是经哪里批准设立的？」: a sentence naming 太原经开区 and its rank
    does not answer the second part, whose own words (批准, 设立) it does not say."""
    from assistant.extractive import Draft, Part
    from assistant.query import analyse

    rank = analyse("太原经开区在国家级经开区综合考评中位列第几名")
    approval = analyse("太原经开区是经哪里批准设立的")
    draft = Draft([Part("太原经开区在国家级经开区综合考评中位列第15名", 0)])
    assert not mini._covers(draft, approval, [rank, approval])
    assert mini._covers(Draft([Part("太原经开区于1992年经国务院批准设立", 0)]), approval, [rank, approval])
    monkeypatch.setattr("assistant.chain.DISTINCT_WORDS_COVER", False)
    assert mini._covers(draft, approval, [rank, approval])


def test_a_when_part_is_not_bounded_by_the_period_an_earlier_part_names(mini: BulletinAssistant,
                                                                       monkeypatch) -> None:
    """「一季度规上工业增加值是多少？该开发区是什么时候设立的？」: 一季度 bounds the first part only."""
    earlier = ["吕梁开发区一季度规上工业增加值是多少"]
    _, when = mini._analyse("吕梁开发区是什么时候设立的", earlier, follow_up=True)
    assert when.answer_kind == "time" and not any(p.text == "一季度" for p in when.periods)
    _, figure = mini._analyse("同比增长多少", earlier, follow_up=True)
    assert any(p.text == "一季度" for p in figure.periods)  # a figure follow-up keeps the period it carries
    monkeypatch.setattr("assistant.chain.OWN_PERIOD_FOR_WHEN", False)
    _, when = mini._analyse("吕梁开发区是什么时候设立的", earlier, follow_up=True)
    assert any(p.text == "一季度" for p in when.periods)


def test_a_later_part_the_earlier_parts_answer_is_not_asked_again(mini: BulletinAssistant) -> None:
    """「总投资多少」 after 「对接了多少项央企项目」 is the 2802亿元 of the sentence already quoted, not the
    513亿元 of the 地方国企 projects that a search of its own would find first."""
    answer = mini.ask("福州新区首次举行的中央企业和大型地方国企签约活动座谈会上，对接了多少项央企项目？总投资多少？")
    assert "50项" in answer.text and "2802亿元" in answer.text and "513亿元" not in answer.text, answer.text


def test_a_compound_question_says_which_part_the_bulletins_do_not_answer(mini: BulletinAssistant) -> None:
    answer = mini.ask("吕梁签约投资额是多少，眉县的GDP是多少？")
    assert not answer.refused and "24.07亿元" in answer.text
    assert "简报中未找到相关信息" in answer.text and "眉县" in answer.text
    assert mini.ask("大同的签约投资额是多少，眉县的GDP是多少？").refused


# --- the city filter ------------------------------------------------------------------------------------
def test_known_cities(assistant: BulletinAssistant, mini: BulletinAssistant) -> None:
    assert set(assistant.known_cities()) == {"吕梁市", "太原市"}
    assert set(mini.known_cities()) == {"吕梁市", "太原市", "福州市"}


@pytest.mark.parametrize(("city", "figure"), [("吕梁市", "24.07亿元"), ("太原市", "56亿元")])
def test_city_filter_restricts_citations(mini: BulletinAssistant, city: str, figure: str) -> None:
    answer = mini.ask("总投资是多少？", city=city)
    shown = answer.citations + answer.nearest
    assert shown and all(c.city == city for c in shown), [c.city for c in shown]
    for q in SAMPLE:  # any question: nothing from the other city is shown
        other = mini.ask(q["question"], q.get("history") or [], city=city)
        assert all(c.city == city for c in other.citations + other.nearest), q["question"]


def test_city_filter_for_an_absent_city_refuses(assistant: BulletinAssistant) -> None:
    answer = assistant.ask("签约投资额是多少？", city="大同市")
    assert answer.refused and answer.text.startswith(REFUSAL_PREFIX) and answer.nearest == [] and answer.retrieved == []


# --- concurrency ------------------------------------------------------------------------------------------
def _snapshot(answer: Answer) -> tuple:
    return answer.text, answer.refused, tuple(c.chunk_id for c in answer.citations), tuple(answer.retrieved)


def test_concurrent_asks_match_serial_answers(seed_index) -> None:
    settings, index = seed_index
    assistant = BulletinAssistant(settings, index=index)  # fresh: caches are filled under contention
    questions = [(q["question"], q.get("history") or []) for q in DATASET[::17]][:10]
    assert len(questions) == 10
    barrier = threading.Barrier(4)

    def worker(offset: int) -> list[tuple]:
        barrier.wait()
        order = questions[offset:] + questions[:offset]  # every thread in a different order
        return [(q, _snapshot(assistant.ask(q, h))) for q, h in order]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(worker, range(4)))
    serial = {q: _snapshot(BulletinAssistant(settings, index=index).ask(q, h)) for q, h in questions}
    for result in results:
        assert len(result) == 10
        for question, snapshot in result:
            assert snapshot == serial[question], question


def test_citation_from_chunk_joins_section_and_item(seed_index) -> None:
    _, index = seed_index
    chunk = next(c for c in index.chunks.values() if c.section and c.item)
    citation = Citation.from_chunk(3, chunk, 0.1234567)
    assert citation.section == f"{chunk.section} · {chunk.item}" and citation.n == 3 and citation.score == 0.123457


def test_the_selector_dir_setting_chooses_the_weights(seed_index, tmp_path) -> None:
    """BULLETIN_SELECTOR_DIR answers with other weights (e.g. a retrain under evaluation); a folder
    without weights is refused with the command that builds them."""
    import shutil

    from assistant.selector import WEIGHTS_DIR, SelectorError

    settings, index = seed_index
    copy = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, copy)
    assert not BulletinAssistant(settings.model_copy(update={"selector_dir": copy}), index=index).ask(
        "吕梁市“三个一批”活动签约投资额是多少？").refused
    with pytest.raises(SelectorError, match=r"python -m assistant\.selector train --out .*none, or unset BULLETIN_SELECTOR_DIR"):
        BulletinAssistant(settings.model_copy(update={"selector_dir": tmp_path / "none"}), index=index)
