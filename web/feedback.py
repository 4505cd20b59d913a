"""「答案有误」 feedback: one JSON line per report in ``settings.feedback_path``.

The eval suite imports these lines as candidate test cases, so the record keeps
the question, the history it was asked in, the answer, and what it cited:

``{"ts", "question", "history", "answer", "refused", "citations": [{"n", "chunk_id", "text"}], "correction"}``
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
MAX_CORRECTION_CHARS = 2000


def feedback_record(
    question: str, history: list[Any], answer: dict[str, Any], correction: str | None = None
) -> dict[str, Any]:
    """The line written for one report; ``answer`` is ``Answer.to_json()``."""
    correction = (correction or "").strip()[:MAX_CORRECTION_CHARS] or None
    return {
        "ts": datetime.now(UTC).isoformat(timespec="seconds"),
        "question": question,
        "history": list(history or []),
        "answer": answer.get("answer", ""),
        "refused": bool(answer.get("refused")),
        "citations": [
            {"n": c.get("n"), "chunk_id": c.get("chunk_id"), "text": c.get("text", "")}
            for c in answer.get("citations") or []
        ],
        "correction": correction,
    }


def append_feedback(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line (creating folders); safe across threads and processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    with _LOCK:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write with O_APPEND: lines of concurrent writers do not interleave
        finally:
            os.close(fd)


def record_feedback(
    path: Path, question: str, history: list[Any], answer: dict[str, Any], correction: str | None = None
) -> dict[str, Any]:
    record = feedback_record(question, history, answer, correction)
    append_feedback(path, record)
    return record
