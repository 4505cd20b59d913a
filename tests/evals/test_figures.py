"""Figure-extraction scoring: pure functions over small labelled rows written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.figures import score


def label(text: str, n: int = 1, entity: str = "吕梁市", metric: str = "签约投资额", period: str = "") -> dict:
    return {"doc": "a.txt", "text": text, "n": n, "entity": entity.split("|"), "metric": metric.split("|"), "period": period}


def row(text: str, entity: str = "吕梁", metric: str = "签约投资额", period: str = "") -> dict:
    return {"doc": "a.txt", "text": text, "entity": entity, "metric": metric, "period": period}


def test_precision_and_recall_count_whole_rows() -> None:
    labels = [label("24.07亿元"), label("12个", metric="签约项目"), label("10个", metric="开工项目|开工项目数")]
    predicted = [row("24.07亿元"), row("12个", metric="签约"), row("10个", metric="开工项目数"), row("-2.6%")]
    scores, notes = score(labels, predicted)
    assert (scores.labelled, scores.predicted, scores.correct) == (3, 4, 2)
    assert round(scores.precision, 3) == 0.5 and round(scores.recall, 3) == 0.667
    assert scores.by_field == {"entity": 1.0, "metric": 2 / 3, "period": 1.0}
    assert any(n.startswith("- wrong:") and "签约" in n for n in notes) and any(n.startswith("- extra:") for n in notes)


def test_repeated_figures_are_told_apart_by_their_order() -> None:
    labels = [label("3个", 1, metric="延链项目"), label("3个", 2, metric="补链项目")]
    scores, notes = score(labels, [row("3个", metric="延链项目")])
    assert (scores.correct, scores.recall) == (1, 0.5) and notes == ["- missed: a.txt 3个 (吕梁市 · 补链项目)"]


@pytest.mark.parametrize("name", ["labels.jsonl", "labels_heldout.jsonl"])
def test_label_files_are_well_formed_and_point_at_printed_figures(name: str) -> None:
    from evals.figures import CORPORA, LABELS

    labels = [json.loads(line) for line in (LABELS.parent / name).read_text(encoding="utf-8").splitlines() if line]
    keys = [(lab["doc"], lab["text"], lab["n"]) for lab in labels]
    assert labels and len(keys) == len(set(keys))
    assert all(isinstance(lab["entity"], list) and isinstance(lab["metric"], list) for lab in labels)
    assert all(isinstance(lab["period"], str | list) for lab in labels)
    docs = {(lab["corpus"], lab["doc"]) for lab in labels}
    if not all((CORPORA[corpus] / doc).exists() for corpus, doc in docs):
        pytest.skip("../shared/eval-data/zone-dev is absent: the labelled documents cannot be read")
    for lab in labels:
        # as printed, line breaks and spaces aside (the seed breaks 「9\n条」 across lines)
        text = "".join((CORPORA[lab["corpus"]] / lab["doc"]).read_text(encoding="utf-8").split())
        assert text.count("".join(lab["text"].split())) >= lab["n"], (lab["doc"], lab["text"], lab["n"])


def test_the_report_names_the_labels_it_scored() -> None:
    from evals.figures import REPO, _shown

    assert _shown(REPO / "evals" / "figures" / "labels_heldout.jsonl") == "evals/figures/labels_heldout.jsonl"
    assert _shown(Path("/elsewhere/labels.jsonl")) == "/elsewhere/labels.jsonl"
