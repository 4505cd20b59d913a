"""``evals.report``: Markdown + JSON + PNG of a real (small) eval run, written under tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.datasets import resolve
from evals.report import CHARTED, SHOWN, to_markdown, write
from evals.runner import PRIMARY, evaluate
from tests.conftest import ROOT, make_settings

DATASET = {json.loads(line)["id"]: json.loads(line)
           for line in (ROOT / "evals/datasets/bulletins_qa.jsonl").read_text(encoding="utf-8").splitlines()}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _matplotlib_config_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Charts import matplotlib, which caches fonts under $HOME unless told otherwise."""
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path_factory.getbasetemp() / "mplconfig"))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two configs over six questions, two of them made to fail (a wrong expected fact; an
    answerable-marked question about an absent city)."""
    tmp = tmp_path_factory.mktemp("report-run")
    questions = [DATASET[i] for i in ("bq-004", "bq-064", "bq-072", "bq-143")]
    questions.append({**DATASET["bq-076"], "id": "zz-wrong-fact", "answers": [["99.99亿元"]]})
    questions.append({"id": "zz-absent", "question": "大同市“三个一批”活动签约了多少个项目？", "answers": [["12个"]],
                      "unanswerable": False, "gold": [], "tags": []})
    path = tmp / "report-small.jsonl"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions), encoding="utf-8")
    return evaluate(make_settings(tmp / "data"), resolve(str(path)), ["bm25", PRIMARY], show_progress=False)


def test_write_creates_markdown_json_and_png(data: dict, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    md = write(data, out)
    assert md == out / "report-small.md"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{stem}.{ext}" for stem in ("report-small", "latest") for ext in ("md", "json", "png"))
    for stem in ("report-small", "latest"):
        assert (out / f"{stem}.png").read_bytes()[:8] == PNG and (out / f"{stem}.png").stat().st_size > 2000
        saved = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))
        assert saved["dataset"] == "report-small" and saved["configs"] == ["bm25", PRIMARY]
        assert all("rows" not in r and "metrics" in r and "failures" in r for r in saved["results"].values())
        assert "machine" in saved and saved["command"].startswith("python -m evals")
    assert (out / "latest.md").read_text(encoding="utf-8") == md.read_text(encoding="utf-8")


def test_markdown_has_one_row_per_metric_and_a_column_per_config(data: dict, tmp_path: Path) -> None:
    text = write(data, tmp_path / "r").read_text(encoding="utf-8")
    assert text.startswith("# Eval report: report-small")
    header = next(line for line in text.splitlines() if line.startswith("| metric |"))
    assert header == f"| metric | bm25 | {PRIMARY} |"  # first run: no previous column
    for key in SHOWN:
        row = next(line for line in text.splitlines() if line.startswith(f"| {key} |"))
        value = data["results"][PRIMARY]["metrics"][key]
        assert row.split("|")[3].strip() == ("–" if value is None else f"{value:.3f}"), row
    assert "## Latency per stage" in text and "| total_ms |" in text


def test_second_run_adds_the_previous_run_column(data: dict, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    write(data, out)
    changed = json.loads(json.dumps(data))
    changed["results"][PRIMARY]["metrics"]["R@1"] = 0.123456
    changed["started"] = "2099-01-01 00:00:00"
    text = write(changed, out).read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| metric |"))
    assert header == f"| metric | bm25 | {PRIMARY} | previous {PRIMARY} |"
    row = next(line for line in text.splitlines() if line.startswith("| R@1 |")).split("|")
    previous_r1 = data["results"][PRIMARY]["metrics"]["R@1"]
    assert row[3].strip() == "0.123" and row[4].strip() == f"{previous_r1:.3f}"
    assert json.loads((out / "report-small.json").read_text(encoding="utf-8"))["started"] == "2099-01-01 00:00:00"
    assert (out / "report-small.png").read_bytes()[:8] == PNG


def test_a_corrupt_previous_report_is_ignored(data: dict, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    (out / "report-small.json").write_text("{not json", encoding="utf-8")
    text = write(data, out).read_text(encoding="utf-8")
    assert "previous" not in next(line for line in text.splitlines() if line.startswith("| metric |"))


def test_worst_failures_are_listed(data: dict) -> None:
    failures = data["results"][PRIMARY]["failures"]
    assert {f["id"] for f in failures} == {"zz-wrong-fact", "zz-absent"}
    text = to_markdown(data, None)
    section = text.split(f"## Worst failures ({PRIMARY})", 1)[1]
    for f in failures:
        assert f"**{f['id']}**" in section
    assert "expected: 99.99亿元" in section and "got: " in section and "None." not in section


def test_no_failures_says_none(data: dict) -> None:
    clean = json.loads(json.dumps(data))
    clean["results"][PRIMARY]["failures"] = []
    assert to_markdown(clean, None).rstrip().endswith("None.")


def test_charted_metrics_are_shown_metrics() -> None:
    assert set(CHARTED) <= set(SHOWN)
