"""``evals.feedback``: 「答案有误」 feedback lines → eval cases to review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.datasets import load_questions
from evals.feedback import NOT_IN_BULLETIN, case_from_feedback, import_feedback, run_import


def line(**item: object) -> str:
    return json.dumps(item, ensure_ascii=False)


def test_a_correction_becomes_the_required_fact() -> None:
    case = case_from_feedback({"ts": "2024-05-01T10:00:00", "question": " 吕梁签约投资额？ ", "answer": "12亿元",
                               "correction": " 24.07亿元 ", "history": ["吕梁签约了多少个项目？"]})
    assert case is not None
    assert case["question"] == "吕梁签约投资额？" and case["answers"] == [["24.07亿元"]]
    assert case["unanswerable"] is False and case["gold"] == [] and case["history"] == ["吕梁签约了多少个项目？"]
    assert case["tags"] == ["feedback", "needs_review"]
    assert case["reported_answer"] == "12亿元" and case["reported_at"] == "2024-05-01T10:00:00"
    assert case["id"].startswith("fb-") and len(case["id"]) == 13


@pytest.mark.parametrize("marker", NOT_IN_BULLETIN)
def test_a_correction_saying_the_bulletins_lack_it_marks_the_case_unanswerable(marker: str) -> None:
    case = case_from_feedback({"question": "大同签约投资额？", "answer": "24.07亿元", "correction": f"其实{marker}。"})
    assert case is not None and case["unanswerable"] is True and case["answers"] == []


def test_no_correction_means_no_required_fact() -> None:
    case = case_from_feedback({"question": "吕梁签约投资额？", "answer": "12亿元"})
    assert case is not None and case["answers"] == [] and case["unanswerable"] is False


@pytest.mark.parametrize("item", [{}, {"question": ""}, {"question": "   "}, {"question": None, "correction": "x"}])
def test_no_question_no_case(item: dict) -> None:
    assert case_from_feedback(item) is None


def test_ids_depend_on_question_history_and_correction_only() -> None:
    a = case_from_feedback({"question": "吕梁签约投资额？", "correction": "24.07亿元"})
    b = case_from_feedback({"question": "吕梁签约投资额？", "correction": "24.07亿元", "answer": "x", "ts": "later"})
    c = case_from_feedback({"question": "吕梁签约投资额？", "history": ["太原呢？"]})
    d = case_from_feedback({"question": "太原签约投资额？"})
    e = case_from_feedback({"question": "吕梁签约投资额？"})  # a report without a correction
    f = case_from_feedback({"question": "吕梁签约投资额？", "correction": "另一个更正"})
    assert a["id"] == b["id"] and len({a["id"], c["id"], d["id"], e["id"], f["id"]}) == 5


def test_import_counts_bad_lines_and_dedups_by_id() -> None:
    lines = [
        line(question="吕梁签约投资额？", answer="12亿元", correction="24.07亿元"),
        "not json",
        line(question="吕梁签约投资额？", answer="13亿元", correction="24.07亿元"),  # same id: dropped
        "",
        "[1, 2]",
        '"just a string"',
        "null",
        "42",
        line(answer="no question"),  # readable, but not a case
        line(question="大同签约投资额？", correction="简报中没有大同"),
        line(question="吕梁签约投资额？", history=["太原呢？"]),  # different history: a new case
    ]
    existing: set[str] = set()
    cases, bad = import_feedback(lines, existing)
    assert bad == 5
    assert [c["question"] for c in cases] == ["吕梁签约投资额？", "大同签约投资额？", "吕梁签约投资额？"]
    assert cases[0]["reported_answer"] == "12亿元"  # the first report wins
    assert cases[1]["unanswerable"] and existing == {c["id"] for c in cases}
    again, bad_again = import_feedback(lines, existing)
    assert again == [] and bad_again == 5


def test_run_import_appends_only_new_cases_and_the_result_is_a_valid_dataset(tmp_path: Path) -> None:
    feedback = tmp_path / "feedback.jsonl"
    out = tmp_path / "cases" / "feedback_cases.jsonl"
    feedback.write_text("\n".join([line(question="吕梁签约投资额？", correction="24.07亿元"), "broken{"]) + "\n",
                        encoding="utf-8")
    message = run_import(feedback, out)
    assert message.startswith("1 new cases appended") and "1 unreadable lines skipped" in message and "needs_review" in message
    with feedback.open("a", encoding="utf-8") as fh:
        fh.write(line(question="吕梁签约投资额？", correction="24.07亿元", answer="again") + "\n")  # same report
        fh.write(line(question="朔州经开区成立了几家运营公司？", correction="简报中没有朔州") + "\n")
    assert run_import(feedback, out).startswith("1 new cases appended")
    cases = load_questions(out)  # the evals can read what was written
    assert [c["question"] for c in cases] == ["吕梁签约投资额？", "朔州经开区成立了几家运营公司？"]
    assert cases[1]["unanswerable"] is True and cases[0]["answers"] == [["24.07亿元"]]
    assert run_import(feedback, out).startswith("0 new cases")


def test_run_import_without_feedback_file_says_so(tmp_path: Path) -> None:
    message = run_import(tmp_path / "missing.jsonl", tmp_path / "out.jsonl")
    assert "no feedback file" in message and not (tmp_path / "out.jsonl").exists()
