"""Tests of evals.metrics: matching rules, retrieval / answer / refusal / latency metrics, aggregation."""

from __future__ import annotations

import pytest

from evals.metrics import (
    aggregate,
    answer_hit_at_k,
    citation_support,
    cn_to_arabic,
    exact_all_facts,
    fact_accuracy,
    fact_in_text,
    facts_found,
    figures,
    first_relevant_rank,
    hit_ranks,
    latency_table,
    mrr_at_k,
    normalize_text,
    per_question,
    percentiles,
    recall_at_k,
    refusal_scores,
    relevance,
    unsupported_figure_rate,
    unsupported_figures,
    worst_failures,
)

# --------------------------------------------------------------------------------------------
# normalize_text
# --------------------------------------------------------------------------------------------


def test_normalize_folds_full_width_digits_letters_percent() -> None:
    assert normalize_text("２４．０７亿元，增长１２％，ＡＢｃ") == "24.07亿元，增长12%，abc"


def test_normalize_keeps_chinese_punctuation() -> None:
    # only digits / letters / ％ are folded: the Chinese comma and brackets stay full-width
    assert normalize_text("（一）签约，开工：") == "（一）签约，开工："


def test_normalize_removes_all_whitespace() -> None:
    assert normalize_text(" 24.07 亿元\n开工\t10\u3000个 ") == "24.07亿元开工10个"


def test_normalize_unifies_minus_signs() -> None:
    assert normalize_text("−2.6%") == "-2.6%"
    assert normalize_text("－2.6%") == "-2.6%"


def test_normalize_drops_thousands_separators_only_inside_numbers() -> None:
    assert normalize_text("1,000台，1,234,567元") == "1000台，1234567元"
    # not a thousands group: kept
    assert normalize_text("1,2,3 和 12,3456") == "1,2,3和12,3456"
    # the Chinese comma is a clause separator, never a thousands separator
    assert normalize_text("12，000") == "12，000"


def test_normalize_lowercases_latin_and_is_idempotent() -> None:
    s = "年产 56 GW，Beijing-Tianjin"
    assert normalize_text(s) == "年产56gw，beijing-tianjin"
    assert normalize_text(normalize_text(s)) == normalize_text(s)


# --------------------------------------------------------------------------------------------
# cn_to_arabic
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("九条", "9条"),
        ("十二个", "12个"),
        ("二十五名", "25名"),
        ("一百家", "100家"),
        ("两台", "2台"),
        ("一百零五项", "105项"),
        ("三千二百户", "3200户"),
        ("十二大基地", "12大基地"),
        ("十二万元", "12万元"),
        ("五GW", "5GW"),
        ("八mw", "8mw"),
        ("二〇二四年", "2024年"),
        ("第三批", "第3批"),
    ],
)
def test_cn_to_arabic_converts_quantities(text: str, expected: str) -> None:
    assert cn_to_arabic(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "一是强化，二是优化",  # enumeration, not a quantity
        "一批项目",  # article "a batch"
        "一大批企业",
        "一季度",  # 季 is not a unit
        "“三个一批”活动",  # slogan
        "统一部署",
        "三方面工作",  # 方 is not a unit
        "三五个",  # approximate range
        "几十个",  # approximate
        "二百五个",  # colloquial 250 vs 205: ambiguous
        "十两个",
    ],
)
def test_cn_to_arabic_leaves_non_quantities(text: str) -> None:
    assert cn_to_arabic(text) == text


def test_cn_to_arabic_in_context() -> None:
    assert cn_to_arabic("聚力培育九条重点产业链，一批项目开工") == "聚力培育9条重点产业链，一批项目开工"


# --------------------------------------------------------------------------------------------
# fact_in_text
# --------------------------------------------------------------------------------------------


def test_figure_is_a_whole_number_not_a_suffix() -> None:
    assert fact_in_text("7个", "新开工47个") is False
    assert fact_in_text("47个", "新开工47个") is True


def test_figure_is_not_the_tail_of_a_decimal() -> None:
    assert fact_in_text("7个", "高于全省7.3个") is False
    assert fact_in_text("5亿元", "总投资0.5亿元") is False
    assert fact_in_text("0.5亿元", "总投资0.5亿元") is True


def test_figure_ending_in_digit_not_followed_by_digit_or_decimal() -> None:
    assert fact_in_text("202", "2024年") is False
    assert fact_in_text("2", "增长2.5倍") is False
    assert fact_in_text("2024", "in 2024.") is True  # sentence full stop, not a decimal


def test_figure_units_are_kept() -> None:
    assert fact_in_text("24.07亿元", "签约投资额24.07万元") is False
    assert fact_in_text("24.07亿元", "签约投资额24.07亿元") is True
    assert fact_in_text("7.3个", "高于7.3个百分点") is False  # 个 and 个百分点 are different units
    assert fact_in_text("3万", "3万亿元") is False


def test_full_width_and_spaced_figures_match() -> None:
    assert fact_in_text("24.07亿元", "签约投资额２４.０７亿元") is True
    assert fact_in_text("24.07亿元", "签约投资额24.07 亿元") is True
    assert fact_in_text("２４．０７ 亿元", "24.07亿元") is True
    assert fact_in_text("1000台", "共1,000 台") is True


@pytest.mark.parametrize(
    ("form", "text"),
    [("9条", "培育九条产业链"), ("九条", "培育9条产业链"), ("12个", "十二个项目"), ("25名", "二十五名专家"), ("100家", "一百家")],
)
def test_chinese_numerals_match_digits(form: str, text: str) -> None:
    assert fact_in_text(form, text) is True


def test_chinese_numerals_keep_the_whole_number_rule() -> None:
    assert fact_in_text("7个", "四十七个") is False
    assert fact_in_text("2个", "十二个") is False


def test_enumeration_is_not_a_quantity() -> None:
    assert fact_in_text("1是", "一是强化") is False
    assert fact_in_text("一是", "一是强化") is True


def test_sign_is_part_of_the_number() -> None:
    assert fact_in_text("-2.6%", "同比−2.6％") is True
    assert fact_in_text("-2.6%", "同比-2.6%") is True
    assert fact_in_text("-2.6%", "同比增长2.6%") is False
    assert fact_in_text("2.6%", "同比-2.6%") is False
    assert fact_in_text("下降2.6%", "同比下降2.6%") is True


def test_hyphen_between_digits_is_a_range_not_a_sign() -> None:
    assert fact_in_text("2.6%", "区间1-2.6%") is True
    assert fact_in_text("-2.6%", "区间1-2.6%") is False


def test_non_figure_forms_are_normalised_substrings() -> None:
    assert fact_in_text("营商环境", "优化 营商\n环境") is True
    assert fact_in_text("营商环境", "营商服务") is False


def test_mixed_chinese_and_english() -> None:
    assert fact_in_text("9 key", "Taiyuan cultivates 9 Key industrial chains") is True
    assert fact_in_text("Greater Bay Area", "粤港澳大湾区（ＧＲＥＡＴＥＲ ＢＡＹ ＡＲＥＡ）") is True
    assert fact_in_text("2.407 billion", "2.407 Billion yuan") is True
    assert fact_in_text("9 key", "19 key chains") is False


def test_empty_form_never_matches() -> None:
    assert fact_in_text("", "任何文本") is False
    assert fact_in_text("  ", "任何文本") is False


# --------------------------------------------------------------------------------------------
# facts_found
# --------------------------------------------------------------------------------------------


def test_facts_found_one_flag_per_fact_any_alternative() -> None:
    answers = [["优化营商环境", "营商环境"], ["9条", "九条"], ["专业镇"]]
    assert facts_found(answers, "营商环境更优，培育九条产业链") == [True, True, False]


def test_facts_found_accepts_bare_strings_and_empty() -> None:
    assert facts_found(["专业镇", ["开发区"]], "专业镇") == [True, False]
    assert facts_found([], "专业镇") == []


# --------------------------------------------------------------------------------------------
# Retrieval
# --------------------------------------------------------------------------------------------


def test_hit_ranks_and_first_relevant_rank() -> None:
    relevant = {"c", "e"}.__contains__
    assert hit_ranks(["a", "b", "c", "d", "e"], relevant) == [3, 5]
    assert first_relevant_rank(["a", "b", "c", "d", "e"], relevant) == 3
    assert hit_ranks([], relevant) == []
    assert first_relevant_rank(["a"], relevant) is None


def test_relevance_passage_mode_wins_over_gold() -> None:
    q = {"relevant": ["p1"], "gold": ["产业链"]}
    pred = relevance(q, {"p2": "产业链"})
    assert pred is not None
    assert pred("p1") is True
    assert pred("p2") is False


def test_relevance_gold_mode_normalises_and_needs_texts() -> None:
    q = {"gold": ["签约投资额24.07亿元"]}
    pred = relevance(q, {"c1": "签约投资额 ２４.０７\n亿元", "c2": "签约投资额24.07万元"})
    assert pred is not None
    assert pred("c1") is True
    assert pred("c2") is False
    assert pred("unknown") is False
    assert relevance(q, None) is None
    assert relevance({"gold": [], "relevant": []}, {}) is None
    assert relevance({"gold": ["  "]}, {}) is None


def test_recall_is_success_at_k_in_passage_mode() -> None:
    q = {"relevant": ["p2", "p9"]}
    record = {"retrieved": ["p1", "p2", "p3"]}
    assert recall_at_k(record, q, 1) == 0.0
    assert recall_at_k(record, q, 2) == 1.0  # one of two relevant found: success, not 0.5
    assert recall_at_k(record, q, 10) == 1.0


def test_recall_in_gold_span_mode() -> None:
    q = {"gold": ["聚力培育9条重点产业链"]}
    texts = {"c1": "无关", "c2": "聚力培育9条重点产业链，加快"}
    record = {"retrieved": ["c1", "c2"]}
    assert recall_at_k(record, q, 1, texts) == 0.0
    assert recall_at_k(record, q, 2, texts) == 1.0


def test_recall_excludes_unjudged_and_handles_missing_record() -> None:
    assert recall_at_k({"retrieved": ["c1"]}, {"gold": [], "unanswerable": True}, 5, {"c1": "x"}) is None
    assert recall_at_k(None, {"relevant": ["p1"]}, 5) == 0.0
    assert recall_at_k({}, {"relevant": ["p1"]}, 5) == 0.0


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError):
        recall_at_k({"retrieved": []}, {"relevant": ["p"]}, 0)
    with pytest.raises(ValueError):
        mrr_at_k({"retrieved": []}, {"relevant": ["p"]}, 0)
    with pytest.raises(ValueError):
        answer_hit_at_k([["x"]], [], 0)


def test_mrr_at_k() -> None:
    q = {"relevant": ["p3", "p4"]}
    assert mrr_at_k({"retrieved": ["p1", "p2", "p3", "p4"]}, q) == pytest.approx(1 / 3)
    assert mrr_at_k({"retrieved": ["p1", "p2", "p3"]}, q, k=2) == 0.0
    assert mrr_at_k({"retrieved": ["p4"]}, q) == 1.0
    assert mrr_at_k({"retrieved": ["p4"]}, {"gold": []}, chunk_texts={}) is None
    # default k is 10
    assert mrr_at_k({"retrieved": [f"x{i}" for i in range(10)] + ["p3"]}, q) == 0.0


def test_answer_hit_every_fact_in_some_top_k_chunk() -> None:
    answers = [["12个", "十二个"], ["24.07亿元"]]
    texts = ["签约项目十二个", "无关", "签约投资额24.07 亿元", "开工"]
    assert answer_hit_at_k(answers, texts, 3) == 1.0
    assert answer_hit_at_k(answers, texts, 2) == 0.0
    assert answer_hit_at_k(answers, [], 5) == 0.0
    assert answer_hit_at_k([], texts, 5) is None


def test_answer_hit_does_not_match_across_chunk_boundaries() -> None:
    assert answer_hit_at_k([["重点产业链"]], ["培育重点", "产业链"], 2) == 0.0


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------

Q_FIG = {"id": "q", "answers": [["12个", "十二个"], ["24.07亿元"]], "unanswerable": False}
Q_UNANS = {"id": "u", "answers": [], "unanswerable": True}


def test_fact_accuracy() -> None:
    assert fact_accuracy(Q_FIG, {"answer": "签约十二个项目，投资额24.07亿元", "refused": False}) == 1.0
    assert fact_accuracy(Q_FIG, {"answer": "签约112个项目，24.07万元", "refused": False}) == 0.0
    assert fact_accuracy(Q_FIG, {"answer": "签约12个项目", "refused": False}) == 0.5
    assert fact_accuracy(Q_FIG, {"answer": "签约12个项目，24.07亿元", "refused": True}) == 0.0
    assert fact_accuracy(Q_FIG, None) == 0.0
    assert fact_accuracy(Q_UNANS, {"answer": "x", "refused": False}) is None
    assert fact_accuracy({"answers": [], "unanswerable": False}, {"answer": "x"}) is None


def test_exact_all_facts() -> None:
    assert exact_all_facts(Q_FIG, {"answer": "12个，24.07亿元", "refused": False}) == 1.0
    assert exact_all_facts(Q_FIG, {"answer": "12个", "refused": False}) == 0.0
    assert exact_all_facts(Q_UNANS, {"answer": "", "refused": True}) is None


def test_citation_support_uses_cited_texts_then_chunk_texts() -> None:
    record = {
        "answer": "whatever",
        "refused": False,
        "citations": [{"n": 1, "chunk_id": "c1", "text": "签约项目 12 个"}, {"n": 2, "chunk_id": "c2", "text": ""}],
    }
    assert citation_support(Q_FIG, record) == 0.5
    assert citation_support(Q_FIG, record, {"c2": "投资额24.07亿元"}) == 1.0
    assert citation_support(Q_FIG, {**record, "refused": True}) == 0.0
    assert citation_support(Q_FIG, {"refused": False, "citations": []}) == 0.0
    assert citation_support(Q_UNANS, record) is None


def test_figures_extraction() -> None:
    text = "签约２４.０７ 亿元、项目十二个，下降−2.6％，高于7.3个百分点，年产56gw，2024年，12万人，24.07亿元"
    assert figures(text) == ["24.07亿元", "12个", "-2.6%", "7.3个百分点", "56GW", "12万人"]
    assert figures("2024年，第3季度，[1]") == []
    assert figures("1-2个") == ["2个"]
    assert figures("增长+3%") == ["3%"]


def test_unsupported_figures_whole_number_and_units() -> None:
    record = {
        "answer": "开工47个，签约24.07亿元，下降2.6%[1]",
        "refused": False,
        "citations": [{"n": 1, "chunk_id": "c1", "text": "开工7个，签约24.07万元，下降2.6%"}],
    }
    assert unsupported_figures(record) == ["47个", "24.07亿元"]


def test_unsupported_figures_refused_none_uncited_all_and_fallback() -> None:
    assert unsupported_figures({"answer": "47个", "refused": True, "citations": []}) == []
    assert unsupported_figures({"answer": "47个，九条", "refused": False, "citations": []}) == ["47个", "9条"]
    record = {"answer": "共九条", "refused": False, "citations": [{"n": 1, "chunk_id": "c1", "text": ""}]}
    assert unsupported_figures(record) == ["9条"]
    assert unsupported_figures(record, {"c1": "共9条"}) == []


def test_unsupported_figure_rate_counts() -> None:
    records = [
        {"answer": "47个，10个", "refused": False, "citations": [{"text": "10个"}]},
        {"answer": "10个", "refused": False, "citations": [{"text": "10个"}]},
        {"answer": "无数字", "refused": False, "citations": []},
        {"answer": "47个", "refused": True, "citations": []},
    ]
    out = unsupported_figure_rate(records)
    assert out == {"rate": 1 / 3, "answered": 3, "answers_with_unsupported": 1, "figures": 3, "unsupported_figures": 1}


def test_unsupported_figure_rate_zero_denominator() -> None:
    assert unsupported_figure_rate([])["rate"] is None
    assert unsupported_figure_rate([{"answer": "", "refused": True}])["rate"] is None


# --------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------


def test_refusal_scores_definitions() -> None:
    # 3 unanswerable (2 refused), 3 answerable (1 refused)
    pairs = [(True, True), (True, True), (True, False), (False, True), (False, False), (False, False)]
    s = refusal_scores(pairs)
    assert s["precision"] == pytest.approx(2 / 3)  # correct refusals / all refusals
    assert s["recall"] == pytest.approx(2 / 3)  # correct refusals / all unanswerable
    assert s["f1"] == pytest.approx(2 / 3)
    assert (s["tp"], s["fp"], s["fn"], s["tn"], s["n"]) == (2, 1, 1, 2, 6)


def test_refusal_scores_asymmetric() -> None:
    s = refusal_scores([(True, True), (False, True), (False, True), (True, True), (True, False)])
    assert s["precision"] == pytest.approx(2 / 4)
    assert s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_refusal_scores_zero_denominators() -> None:
    empty = refusal_scores([])
    assert (empty["precision"], empty["recall"], empty["f1"], empty["n"]) == (None, None, None, 0)
    never_refused = refusal_scores([(True, False), (False, False)])
    assert never_refused["precision"] is None
    assert never_refused["recall"] == 0.0
    assert never_refused["f1"] is None
    no_unanswerable = refusal_scores([(False, True)])
    assert no_unanswerable["precision"] == 0.0
    assert no_unanswerable["recall"] is None
    both_zero = refusal_scores([(False, True), (True, False)])
    assert (both_zero["precision"], both_zero["recall"], both_zero["f1"]) == (0.0, 0.0, 0.0)


# --------------------------------------------------------------------------------------------
# Latency
# --------------------------------------------------------------------------------------------


def test_percentiles_nearest_rank() -> None:
    assert percentiles([5, 1, 4, 2, 3], [50, 95]) == {50: 3, 95: 5}
    assert percentiles(range(1, 21), [50, 95]) == {50: 10, 95: 19}
    assert percentiles(range(1, 101), [95]) == {95: 95}
    assert percentiles([7, 3], [0, 100]) == {0: 3, 100: 7}
    assert percentiles(range(1, 1001), [99.9]) == {99.9: 999}
    assert percentiles([4.0], [50, 95]) == {50: 4.0, 95: 4.0}


def test_percentiles_default_empty_none_and_range() -> None:
    assert percentiles([1, None, 3]) == {50: 1, 95: 3}
    assert percentiles([], [50, 95]) == {50: None, 95: None}
    with pytest.raises(ValueError):
        percentiles([1], [101])


def test_latency_table() -> None:
    records = [
        {"timings_ms": {"retrieve": 30.0, "generate": 100, "total": 140}},
        {"timings_ms": {"retrieve": 10.0, "total": 20, "note": "skipped", "flag": True}},
        {"timings_ms": {"retrieve": 20.0}},
        {},
    ]
    assert latency_table(records) == {
        "generate": {"p50": 100, "p95": 100, "n": 1},
        "retrieve": {"p50": 20.0, "p95": 30.0, "n": 3},
        "total": {"p50": 20, "p95": 140, "n": 2},
    }
    assert list(latency_table(records)) == ["generate", "retrieve", "total"]
    assert latency_table([]) == {}


# --------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------

QUESTIONS = [
    {
        "id": "q1",
        "question": "太原市聚力培育几条重点产业链？",
        "answers": [["9条", "九条"]],
        "unanswerable": False,
        "gold": ["聚力培育9条重点产业链"],
    },
    {
        "id": "q2",
        "question": "签约项目多少个，投资额多少？",
        "answers": [["12个", "十二个"], ["24.07亿元"]],
        "unanswerable": False,
        "gold": ["签约项目12个，签约投资额24.07亿元"],
    },
    {"id": "q3", "question": "明天天气如何？", "answers": [], "unanswerable": True, "gold": []},
    {"id": "q4", "question": "太原GDP多少？", "answers": [], "unanswerable": True, "gold": []},
]
CHUNKS = {
    "c1": "太原市聚力培育9条重点产业链。",
    "c2": "本次活动，签约项目 12 个，签约投资额 24.07 亿元。",
    "c3": "开工项目10个，总投资12.12亿元。",
}
RUN = {
    "q1": {
        "id": "q1",
        "retrieved": ["c1", "c3"],
        "answer": "太原聚力培育九条重点产业链[1]。",
        "refused": False,
        "citations": [{"n": 1, "chunk_id": "c1", "text": CHUNKS["c1"]}],
        "timings_ms": {"retrieve": 10, "total": 50},
    },
    "q2": {
        "id": "q2",
        "retrieved": ["c3", "c1", "c2"],
        "answer": "签约项目12个，投资额12.12亿元[1]。",
        "refused": False,
        "citations": [{"n": 1, "chunk_id": "c3", "text": CHUNKS["c3"]}],
        "timings_ms": {"retrieve": 30, "total": 70},
    },
    "q3": {"id": "q3", "retrieved": ["c3"], "answer": "", "refused": True, "citations": [], "timings_ms": {"total": 5}},
    "q4": {
        "id": "q4",
        "retrieved": ["c2"],
        "answer": "签约47个项目[1]。",
        "refused": False,
        "citations": [{"n": 1, "chunk_id": "c2", "text": CHUNKS["c2"]}],
        "timings_ms": {"total": 9},
    },
    "extra": {"id": "extra", "retrieved": [], "answer": "99个", "refused": False, "citations": [], "timings_ms": {"total": 1000}},
}


def test_aggregate_full() -> None:
    m = aggregate(QUESTIONS, RUN, CHUNKS)
    assert (m["n_questions"], m["n_answerable"], m["n_unanswerable"], m["n_missing_records"]) == (4, 2, 2, 0)
    assert m["n_retrieval_judged"] == 2
    assert m["R@1"] == 0.5  # q1 at rank 1, q2 at rank 3
    assert m["R@5"] == 1.0
    assert m["R@10"] == 1.0
    assert m["MRR@10"] == pytest.approx((1 + 1 / 3) / 2)
    assert m["answer_hit@5"] == 1.0
    assert m["fact_accuracy"] == pytest.approx((1 + 0.5) / 2)
    assert m["all_facts_accuracy"] == 0.5
    assert m["citation_support"] == pytest.approx((1 + 0) / 2)
    # answered: q1 (ok), q2 (12个 unsupported by c3), q4 (47个 unsupported); the "extra" record is ignored
    assert (m["n_answered"], m["n_answers_with_unsupported"]) == (3, 2)
    assert m["unsupported_figure_rate"] == pytest.approx(2 / 3)
    assert (m["n_figures"], m["n_unsupported_figures"]) == (4, 2)
    assert (m["refusal_precision"], m["refusal_recall"], m["refusal_f1"]) == (1.0, 0.5, pytest.approx(2 / 3))
    assert (m["refusal_tp"], m["refusal_fp"], m["refusal_fn"], m["refusal_tn"]) == (1, 0, 1, 2)
    assert (m["latency.total.p50"], m["latency.total.p95"], m["latency.total.n"]) == (9, 70, 4)
    assert (m["latency.retrieve.p50"], m["latency.retrieve.n"]) == (10, 2)
    assert all(not isinstance(v, dict | list) for v in m.values())  # flat


def test_aggregate_is_deterministic_under_question_order() -> None:
    assert aggregate(QUESTIONS, RUN, CHUNKS) == aggregate(list(reversed(QUESTIONS)), RUN, CHUNKS)


def test_aggregate_empty_run() -> None:
    m = aggregate(QUESTIONS, {}, CHUNKS)
    assert m["n_missing_records"] == 4
    assert (m["R@1"], m["R@10"], m["MRR@10"], m["answer_hit@5"]) == (0.0, 0.0, 0.0, 0.0)
    assert (m["fact_accuracy"], m["all_facts_accuracy"], m["citation_support"]) == (0.0, 0.0, 0.0)
    assert (m["n_answered"], m["unsupported_figure_rate"]) == (0, None)
    assert (m["refusal_precision"], m["refusal_recall"], m["refusal_f1"]) == (None, 0.0, None)
    assert not any(k.startswith("latency.") for k in m)


def test_aggregate_no_questions() -> None:
    m = aggregate([], RUN, CHUNKS)
    assert m["n_questions"] == 0
    assert m["R@1"] is None
    assert m["fact_accuracy"] is None
    assert m["refusal_f1"] is None
    assert m["n_answered"] == 0


def test_per_question_rows() -> None:
    rows = per_question(list(reversed(QUESTIONS)), RUN, CHUNKS)
    assert [r["id"] for r in rows] == ["q1", "q2", "q3", "q4"]
    q2 = rows[1]
    assert q2["expected"] == "12个/十二个；24.07亿元"
    assert q2["got"] == RUN["q2"]["answer"]
    assert q2["facts_found"] == [True, False]
    assert q2["fact_accuracy"] == 0.5
    assert q2["first_relevant_rank"] == 3
    assert q2["citations"] == ["c3"]
    assert q2["unsupported_figures"] == ["12个"]
    assert (q2["refused"], q2["missing"], q2["unanswerable"]) == (False, False, False)
    q3 = rows[2]
    assert (q3["expected"], q3["refused"], q3["facts_found"], q3["first_relevant_rank"]) == ("<refuse>", True, [], None)


def test_per_question_missing_record() -> None:
    rows = per_question(QUESTIONS[:1], {}, CHUNKS)
    assert rows[0]["missing"] is True
    assert rows[0]["facts_found"] == [False]
    assert rows[0]["fact_accuracy"] == 0.0
    assert rows[0]["first_relevant_rank"] is None


def test_per_question_refused_answerable_has_no_facts() -> None:
    run = {"q1": {**RUN["q1"], "refused": True}}
    assert per_question(QUESTIONS[:1], run, CHUNKS)[0]["facts_found"] == [False]


def test_worst_failures_order_and_ties() -> None:
    rows = per_question(QUESTIONS, RUN, CHUNKS)
    assert [r["id"] for r in worst_failures(rows, 10)] == ["q2", "q4"]
    synthetic = [
        {"id": "u2", "unanswerable": True, "refused": False, "facts_found": [], "fact_accuracy": None},
        {"id": "u1", "unanswerable": True, "refused": False, "facts_found": [], "fact_accuracy": None},
        {"id": "u0", "unanswerable": True, "refused": True, "facts_found": [], "fact_accuracy": None},
        {"id": "b", "unanswerable": False, "refused": False, "facts_found": [False, False], "fact_accuracy": 0.0},
        {"id": "a", "unanswerable": False, "refused": True, "facts_found": [False], "fact_accuracy": 0.0},
        {"id": "c", "unanswerable": False, "refused": False, "facts_found": [True, False], "fact_accuracy": 0.5},
        {"id": "ok", "unanswerable": False, "refused": False, "facts_found": [True], "fact_accuracy": 1.0},
    ]
    assert [r["id"] for r in worst_failures(synthetic, 10)] == ["a", "b", "c", "u1", "u2"]
    assert [r["id"] for r in worst_failures(synthetic, 2)] == ["a", "b"]
    assert worst_failures(synthetic, 0) == []
    assert worst_failures([], 5) == []
