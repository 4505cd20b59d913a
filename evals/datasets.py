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
  repository;
* ``zone-holdout`` — 60 questions (50 answerable, 10 traps) written blind on 25 CRUD-RAG reports
  of other places than zone-dev's (``evals/datasets/zone_holdout_qa.jsonl``); measured once
  (2026-12-06), then its failures were read, so it is a dev set now; the reports are read from
  ``../shared`` by id (``zone_holdout_sources.json``);
* ``zone-holdout2`` — 60 more, written blind on 25 further reports (other places again, some written
  like work reports, 8 undated), after that reading; measured once, then its misses were read;
* ``zone-holdout3`` — 60 more (50 answerable, 10 traps), written blind on 25 further reports of
  other places (2026-12-07), after all that reading; measured once, then its misses were read;
* ``zone-holdout4`` — 60 more (50 answerable, 10 traps), written blind on 25 further reports of 19
  provinces (2026-12-07, seventh session); measured once, then its misses were read;
* ``zone-holdout5`` — 60 more (50 answerable, 10 traps), written blind on 25 further reports of 19
  provinces (2026-12-07, eighth session): the clean measure of reports never seen;
* ``mrc-held`` — the questions of the MRC articles the answer selector holds aside (CMRC 2018
  trial, DRCD), answered end to end over all held-aside paragraphs; assembled from
  ``../shared/train-data/mrc`` (see ``evals.assembled``).
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


# Corpora assembled on first use from ../shared into folders outside the repository (evals.assembled).
ASSEMBLED_DIR = Path(tempfile.gettempdir())
MULTI_ISSUE_CORPUS = ASSEMBLED_DIR / "bulletin-multi-issue-corpus"
ZONE_HOLDOUT_CORPUS = ASSEMBLED_DIR / "bulletin-zone-holdout-corpus"
ZONE_HOLDOUT2_CORPUS = ASSEMBLED_DIR / "bulletin-zone-holdout2-corpus"
ZONE_HOLDOUT3_CORPUS = ASSEMBLED_DIR / "bulletin-zone-holdout3-corpus"
ZONE_HOLDOUT4_CORPUS = ASSEMBLED_DIR / "bulletin-zone-holdout4-corpus"
ZONE_HOLDOUT5_CORPUS = ASSEMBLED_DIR / "bulletin-zone-holdout5-corpus"
MRC_HELD = ASSEMBLED_DIR / "bulletin-mrc-held"
# dataset -> the folder assembled for it
ASSEMBLED = {"multi-issue": MULTI_ISSUE_CORPUS, "zone-holdout": ZONE_HOLDOUT_CORPUS,
             "zone-holdout2": ZONE_HOLDOUT2_CORPUS, "zone-holdout3": ZONE_HOLDOUT3_CORPUS,
             "zone-holdout4": ZONE_HOLDOUT4_CORPUS, "zone-holdout5": ZONE_HOLDOUT5_CORPUS, "mrc-held": MRC_HELD}

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
    # Written blind on reports of other places, measured, never tuned on.
    "zone-holdout": (REPO / "evals/datasets/zone_holdout_qa.jsonl", ZONE_HOLDOUT_CORPUS),
    "zone-holdout2": (REPO / "evals/datasets/zone_holdout2_qa.jsonl", ZONE_HOLDOUT2_CORPUS),
    "zone-holdout3": (REPO / "evals/datasets/zone_holdout3_qa.jsonl", ZONE_HOLDOUT3_CORPUS),
    "zone-holdout4": (REPO / "evals/datasets/zone_holdout4_qa.jsonl", ZONE_HOLDOUT4_CORPUS),
    "zone-holdout5": (REPO / "evals/datasets/zone_holdout5_qa.jsonl", ZONE_HOLDOUT5_CORPUS),
    # The selector's held-aside MRC articles, end to end.
    "mrc-held": (MRC_HELD / "questions.jsonl", MRC_HELD / "corpus"),
}
SHARED_DATASETS = ("rgb-zh", "zone-dev", "table-dev", "table-holdout", "table-holdout2", "multi-issue", "zone-holdout",
                   "zone-holdout2", "zone-holdout3", "zone-holdout4", "zone-holdout5", "mrc-held")
SHARED_FROM = {"table-dev": "../shared/eval-data/zone-dev", "table-holdout": "../shared/eval-data/zone-dev",
               "table-holdout2": "../shared/eval-data/zone-dev",
               "multi-issue": "../shared/eval-data/zone-dev and ../shared/eval-data/crud-news",
               "zone-holdout": "../shared/eval-data/crud-news", "zone-holdout2": "../shared/eval-data/crud-news",
               "zone-holdout3": "../shared/eval-data/crud-news",
               "zone-holdout4": "../shared/eval-data/crud-news", "zone-holdout5": "../shared/eval-data/crud-news",
               "mrc-held": "../shared/train-data/mrc"}
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
    if name in ASSEMBLED and not corpus:
        _assemble(name)
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


def _assemble(name: str) -> None:
    """Assemble a dataset's files from ../shared unless they are complete (deterministic)."""
    from evals.assembled import AssemblyError, ensure

    try:
        ensure(name, ASSEMBLED[name])
    except AssemblyError as exc:
        raise DatasetError(f"the {name} set could not be assembled: {exc}") from exc


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
