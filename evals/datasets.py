"""Question files and corpora the eval suite knows by name, and reading question jsonl.

Built-in datasets:

* ``bulletins`` — ``evals/datasets/bulletins_qa.jsonl`` over ``corpus/`` (the seed bulletin);
* ``holdout`` — ``evals/datasets/bulletins_qa_holdout.jsonl`` over ``corpus/``, written
  separately and never used for tuning;
* ``rgb-zh`` — the public RGB-zh dev split, read from ``../shared/eval-data/rgb-zh`` (licence
  CC BY-NC-SA 4.0: evaluation only, never copied into this repository);
* ``zone-dev`` — 28 real development-zone reports from other places and 60 questions (50
  answerable, 10 traps), read from ``../shared/eval-data/zone-dev`` (evaluation only);
* ``table-dev`` — sums, differences, comparisons and threshold lists we wrote on the zone-dev
  reports (``evals/datasets/table_dev_qa.jsonl``), and developed the table answers on;
* ``table-holdout`` — the same kinds, written afterwards on other reports and measured, never
  tuned on (``evals/datasets/table_holdout_qa.jsonl``) until one fix was found by reading a miss;
* ``table-holdout2`` — written after that, on reports neither table set used, measured once
  (``evals/datasets/table_holdout2_qa.jsonl``);
* ``multi-issue`` — trends, 最新一期 and 上一期 over the dated corpus of ``python -m evals
  multi-issue`` (``evals/datasets/multi_issue_qa.jsonl``), assembled on first use outside the
  repository.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "eval-data"


class DatasetError(ValueError):
    """A dataset is missing or malformed; the message says where and how to get it."""


@dataclass(frozen=True)
class Dataset:
    name: str
    questions: Path
    corpus: Path

    @property
    def corpus_is_passages(self) -> bool:
        return self.corpus.is_file() and self.corpus.name.endswith((".jsonl", ".jsonl.gz"))


# Trends, the latest value and 上一期 over the dated multi-document corpus that ``python -m evals
# multi-issue`` assembles from ../shared (seed, zone-dev reports, dated news about their places);
# it is assembled on first use into a folder outside the repository.
MULTI_ISSUE_CORPUS = Path(tempfile.gettempdir()) / "bulletin-multi-issue-corpus"

BUILTIN = {
    "bulletins": (REPO / "evals/datasets/bulletins_qa.jsonl", REPO / "corpus"),
    "holdout": (REPO / "evals/datasets/bulletins_qa_holdout.jsonl", REPO / "corpus"),
    # Sums, comparisons and threshold lists answered from the figure table (issue 11), on the seed.
    "table": (REPO / "evals/datasets/table_qa.jsonl", REPO / "corpus"),
    "rgb-zh": (SHARED / "rgb-zh/queries.dev.jsonl", SHARED / "rgb-zh/corpus.jsonl"),
    "zone-dev": (SHARED / "zone-dev/questions.jsonl", SHARED / "zone-dev/corpus"),
    # The same question kinds, written on the zone-dev reports (the questions are ours; the corpus
    # stays in ../shared).
    "table-dev": (REPO / "evals/datasets/table_dev_qa.jsonl", SHARED / "zone-dev/corpus"),
    # Written after the table-dev work, on other reports and other sentences, and measured, never tuned on.
    "table-holdout": (REPO / "evals/datasets/table_holdout_qa.jsonl", SHARED / "zone-dev/corpus"),
    # Written after a fix was found by reading a table-holdout miss, on reports no table set used.
    "table-holdout2": (REPO / "evals/datasets/table_holdout2_qa.jsonl", SHARED / "zone-dev/corpus"),
    "multi-issue": (REPO / "evals/datasets/multi_issue_qa.jsonl", MULTI_ISSUE_CORPUS),
}
SHARED_DATASETS = ("rgb-zh", "zone-dev", "table-dev", "table-holdout", "table-holdout2", "multi-issue")
SHARED_FROM = {"table-dev": "../shared/eval-data/zone-dev", "table-holdout": "../shared/eval-data/zone-dev",
               "table-holdout2": "../shared/eval-data/zone-dev",
               "multi-issue": "../shared/eval-data/zone-dev and ../shared/eval-data/crud-news"}
DISPLAY = {"rgb-zh": "RGB-zh"}


def resolve(name_or_path: str, corpus: str | Path | None = None) -> Dataset:
    """A built-in dataset by name, or a question file (with ``corpus``, default ``corpus/``)."""
    if name_or_path in BUILTIN:
        questions, default_corpus = BUILTIN[name_or_path]
        name = name_or_path
    else:
        questions, default_corpus = Path(name_or_path), REPO / "corpus"
        name = questions.stem
    corpus_path = Path(corpus) if corpus else default_corpus
    if name == "multi-issue" and not corpus and not (corpus_path / ASSEMBLED).is_file():
        _assemble(corpus_path)
    for what, path in (("question file", questions), ("corpus", corpus_path)):
        if not path.exists():
            hint = (
                f" The {DISPLAY.get(name, name)} set is read from {SHARED_FROM.get(name, '../shared/eval-data/' + name)}"
                " beside the repository."
                if name in SHARED_DATASETS
                else ""
            )
            raise DatasetError(f"{what} {path} not found.{hint}")
    return Dataset(name, questions, corpus_path)


ASSEMBLED = ".assembled"  # written last: a folder without it is an interrupted assembly


def _assemble(out: Path) -> None:
    """Assemble the multi-issue corpus into ``out`` (deterministic; needs ../shared)."""
    from evals.multi_issue import assemble

    try:
        assemble(out)
    except FileNotFoundError as exc:
        raise DatasetError(f"the multi-issue corpus could not be assembled: {exc}") from exc
    (out / ASSEMBLED).write_text("python -m evals multi-issue\n", encoding="utf-8")


def load_questions(path: Path) -> list[dict[str, Any]]:
    """Parse a question jsonl; every line needs ``id`` and ``question``."""
    questions: list[dict[str, Any]] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise DatasetError(f"{path}:{n}: not JSON ({exc})") from exc
            if not isinstance(record, dict) or "id" not in record or "question" not in record:
                raise DatasetError(f"{path}:{n}: a question needs at least 'id' and 'question'")
            record["id"] = str(record["id"])
            if record["id"] in seen:
                raise DatasetError(f"{path}:{n}: duplicate id {record['id']!r}")
            seen.add(record["id"])
            record.setdefault("answers", [])
            record.setdefault("unanswerable", False)
            record.setdefault("gold", [])
            record.setdefault("history", [])
            questions.append(record)
    if not questions:
        raise DatasetError(f"{path} holds no questions")
    return questions
