"""Precision and recall of the figure table against hand-labelled figures (``evals/figures/labels.jsonl``).

A label is one figure of one document: its text as printed and which occurrence of that text it
is (``n``), with the entity, metric (acceptable phrasings in a list) and period (a string, or a
list where the text allows two readings) the annotator reads.  Labelled: every figure written in
Arabic digits with a unit or multiplier, except years, calendar dates, ranks (第21名, （21位）) and
figures inside a quoted name (“12大基地”).  The table is built the way the product builds it (an index of the documents,
chunked, the figure table written with the catalog), with the fake embedder: figures do not
depend on vectors.  A row is correct when value and unit match (the figure's text) and so do the
entity (short place names count: 吕梁 = 吕梁市), the metric and the period.

    python -m evals figures [--labels evals/figures/labels.jsonl] [--report evals/reports/figures.md]

``evals/figures/labels_heldout.jsonl`` holds 111 more figures of 11 other zone-dev reports, labelled
by a helper that never saw the extractor or its output (2026-12-07): the extractor was developed
against ``labels.jsonl``, so only the held-out labels measure it on text it was not fitted to
(``python -m evals figures --labels evals/figures/labels_heldout.jsonl --report
evals/reports/figures-heldout.md``).
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "evals" / "figures" / "labels.jsonl"
CORPORA = {"seed": REPO / "corpus", "zone-dev": REPO.parent / "shared" / "eval-data" / "zone-dev" / "corpus"}
FIELDS = ("entity", "metric", "period")


@dataclass(frozen=True)
class Scores:
    labelled: int
    predicted: int
    correct: int
    by_field: dict[str, float]  # share of matched figures whose field is right

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0


def _same_entity(gold: Sequence[str], got: str) -> bool:
    from index.store import short_place

    return any(short_place(g) == short_place(got) for g in gold)


def field_ok(label: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, bool]:
    """Which fields of a predicted row match a label (the figure itself matched already).

    >>> field_ok({"entity": ["吕梁市"], "metric": ["签约投资额"], "period": ""},
    ...          {"entity": "吕梁", "metric": "签约投资额", "period": ""})
    {'entity': True, 'metric': True, 'period': True}
    """
    return {
        "entity": _same_entity(label["entity"], row["entity"]),
        "metric": row["metric"] in label["metric"],
        "period": row["period"] in label["period"] if isinstance(label["period"], list) else row["period"] == label["period"],
    }


def keyed(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, int], Mapping[str, Any]]:
    """Rows of one document in reading order, keyed (doc, figure text, occurrence)."""
    seen: dict[tuple[str, str], int] = defaultdict(int)
    out = {}
    for r in rows:
        seen[(r["doc"], r["text"])] += 1
        out[(r["doc"], r["text"], seen[(r["doc"], r["text"])])] = r
    return out


def score(labels: Sequence[Mapping[str, Any]], predicted: Sequence[Mapping[str, Any]]) -> tuple[Scores, list[str]]:
    """(scores, the mismatches as lines) of predicted rows against labels of the same documents."""
    gold = {(lab["doc"], lab["text"], lab["n"]): lab for lab in labels}
    pred = keyed(predicted)
    correct, matched, notes = 0, 0, []
    field_hits = dict.fromkeys(FIELDS, 0)
    for key, row in pred.items():
        label = gold.get(key)
        if label is None:
            notes.append(f"- extra: {key[0]} {key[1]} ({row['entity']} · {row['metric']} · {row['period'] or '-'})")
            continue
        matched += 1
        ok = field_ok(label, row)
        for f in FIELDS:
            field_hits[f] += ok[f]
        if all(ok.values()):
            correct += 1
        else:
            wrong = ", ".join(f"{f} {row[f]!r} (want {label[f]!r})" for f in FIELDS if not ok[f])
            notes.append(f"- wrong: {key[0]} {key[1]}: {wrong}")
    notes += [f"- missed: {k[0]} {k[1]} ({g['entity'][0]} · {g['metric'][0]})" for k, g in gold.items() if k not in pred]
    by_field = {f: field_hits[f] / matched if matched else 0.0 for f in FIELDS}
    return Scores(len(gold), len(pred), correct, by_field), notes


def predict(docs: Mapping[str, Path]) -> list[dict[str, Any]]:
    """The figure table of these documents, built as the product builds it (fake embedder)."""
    from index.builder import Builder
    from index.store import BulletinIndex
    from settings import Settings

    with tempfile.TemporaryDirectory(prefix="bulletin-figures-") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for name, path in docs.items():
            (corpus / name).write_bytes(path.read_bytes())
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "data", corpus_dir=corpus, embed_model="hashing")
        index = BulletinIndex(settings)
        try:
            Builder(index, show_progress=False).build(corpus)
            rows, _ = index.figures(limit=1_000_000)
            order = {c.id: (c.source, c.start) for c in index.chunks.values()}
            rows.sort(key=lambda r: (order[r.chunk_id], r.start))
            return [{**r.to_dict(), "doc": r.source} for r in rows]
        finally:
            index.close()


def _shown(path: Path) -> str:
    """A path as the report shows it: relative to the repository when inside it."""
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def run(labels_path: Path = LABELS, report: Path | None = None) -> str:
    labels = [json.loads(line) for line in labels_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs: dict[str, Path] = {}
    skipped = set()
    for lab in labels:
        path = CORPORA[lab["corpus"]] / lab["doc"]
        if path.exists():
            docs[lab["doc"]] = path
        else:
            skipped.add(lab["corpus"])
    labels = [lab for lab in labels if lab["doc"] in docs]
    predicted = predict(docs)
    scores, notes = score(labels, predicted)
    per_corpus = []
    for corpus in sorted({lab["corpus"] for lab in labels}):
        names = {lab["doc"] for lab in labels if lab["corpus"] == corpus}
        sub, _ = score([lab for lab in labels if lab["corpus"] == corpus], [r for r in predicted if r["doc"] in names])
        per_corpus.append(f"| {corpus} ({len(names)} documents) | {sub.labelled} | {sub.predicted} | {sub.correct} | "
                          f"{sub.precision:.3f} | {sub.recall:.3f} |")
    lines = [
        "# Figure extraction (`python -m evals figures`)", "",
        f"{scores.labelled} hand-labelled figures in {len(docs)} documents "
        f"({', '.join(sorted({lab['corpus'] for lab in labels}))}); labels: `{_shown(labels_path)}`."
        + (f" Skipped (absent): {', '.join(sorted(skipped))}." if skipped else ""), "",
        "| rows predicted | correct | precision | recall | entity right | metric right | period right |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {scores.predicted} | {scores.correct} | {scores.precision:.3f} | {scores.recall:.3f} | "
        f"{scores.by_field['entity']:.3f} | {scores.by_field['metric']:.3f} | {scores.by_field['period']:.3f} |", "",
        "A row is correct when its figure (value and unit), entity, metric and period all match a label; "
        "the field columns are shares of the predicted rows that matched a labelled figure.", "",
        "| corpus | labelled | predicted | correct | precision | recall |", "|---|---:|---:|---:|---:|---:|",
        *per_corpus, "",
        "## Mismatches", "", *notes, "",
    ]
    text = "\n".join(lines)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text, encoding="utf-8")
    return "\n".join(lines[2:7])
