"""Turn the chat's 「答案有误」 feedback (a JSONL file) into eval cases to review.

A feedback line: ``{"ts", "question", "history", "answer", "refused", "citations", "correction"}``.
A case keeps the question and history; the correction (when given) becomes the
required fact, a correction saying the bulletins do not contain it marks the
case unanswerable.  Cases are tagged ``needs_review``: a person confirms them
before they join a dataset.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

NOT_IN_BULLETIN = ("简报中没有", "简报中未找到", "没有这个", "不存在", "无此", "not in the bulletin", "unanswerable")


def case_from_feedback(item: dict[str, Any]) -> dict[str, Any] | None:
    """One eval case from one feedback record (None when the record has no question).

    >>> case_from_feedback({"question": "吕梁签约投资额？", "answer": "12亿元", "correction": "24.07亿元"})["answers"]
    [['24.07亿元']]
    """
    question = str(item.get("question") or "").strip()
    if not question:
        return None
    correction = str(item.get("correction") or "").strip()
    history = item.get("history") or []
    # The correction is part of the key: two staff members correcting the same question
    # differently (or one reporting without a correction first) are separate cases to review.
    key = json.dumps([question, history, correction], ensure_ascii=False)
    unanswerable = any(m in correction for m in NOT_IN_BULLETIN)
    return {
        "id": "fb-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10],
        "question": question,
        "answers": [] if unanswerable or not correction else [[correction]],
        "unanswerable": unanswerable,
        "gold": [],
        "history": history,
        "tags": ["feedback", "needs_review"],
        "reported_answer": item.get("answer", ""),
        "reported_at": item.get("ts", ""),
    }


def import_feedback(lines: Iterable[str], existing_ids: set[str]) -> tuple[list[dict[str, Any]], int]:
    """New cases from feedback lines (skipping ids already present); also the count of bad lines."""
    cases: list[dict[str, Any]] = []
    bad = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            case = case_from_feedback(json.loads(line))
        except (ValueError, TypeError, AttributeError):
            bad += 1
            continue
        if case and case["id"] not in existing_ids:
            existing_ids.add(case["id"])
            cases.append(case)
    return cases, bad


def run_import(feedback: Path, out: Path) -> str:
    if not feedback.exists():
        return f"no feedback file at {feedback} (the chat writes it when staff press 「答案有误」)"
    existing: set[str] = set()
    if out.exists():
        existing = {json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines() if line.strip()}
    with feedback.open(encoding="utf-8") as fh:
        cases, bad = import_feedback(fh, existing)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as fh:
        for case in cases:
            fh.write(json.dumps(case, ensure_ascii=False) + "\n")
    note = f", {bad} unreadable lines skipped" if bad else ""
    return f"{len(cases)} new cases appended to {out}{note}; review them (tag needs_review) before use"
