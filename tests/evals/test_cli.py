"""``python -m evals run|gate|import-feedback``: exit codes and messages.

Most calls go through ``evals.cli.main`` in-process (the environment set like a shell would,
a tmp cwd so no ``.env`` is read, reports only under tmp_path); one real subprocess checks the
``python -m evals`` entry point.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals import datasets
from evals.cli import gate, main
from evals.datasets import DatasetError, resolve
from evals.runner import PRIMARY, evaluate
from tests.conftest import ROOT, make_settings
from tests.index._support import cli_env

DATASET = {json.loads(line)["id"]: json.loads(line)
           for line in (ROOT / "evals/datasets/bulletins_qa.jsonl").read_text(encoding="utf-8").splitlines()}
GATED = ("R@5", "fact_accuracy", "citation_support", "refusal_recall")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A six-question file, its data dir, and the primary config's measured metrics."""
    tmp = tmp_path_factory.mktemp("evals-cli")
    questions = tmp / "gate-small.jsonl"
    questions.write_text("".join(json.dumps(DATASET[i], ensure_ascii=False) + "\n"
                                 for i in ("bq-004", "bq-064", "bq-072", "bq-095", "bq-143", "bq-163")), encoding="utf-8")
    data_dir = tmp / "data"
    measured = evaluate(make_settings(data_dir), resolve(str(questions)), [PRIMARY], show_progress=False)
    return {"tmp": tmp, "questions": questions, "data_dir": data_dir,
            "metrics": measured["results"][PRIMARY]["metrics"]}


@pytest.fixture
def env(setup: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict:
    monkeypatch.setenv("BULLETIN_DATA_DIR", str(setup["data_dir"]))
    monkeypatch.setenv("BULLETIN_EMBED_MODEL", "hashing")
    monkeypatch.setenv("MPLCONFIGDIR", str(setup["tmp"] / "mplconfig"))  # the report's chart: no font cache in $HOME
    monkeypatch.chdir(tmp_path)
    return setup


def thresholds(tmp: Path, values: dict[str, float], name: str = "gate-small") -> Path:
    path = tmp / "thresholds.json"
    path.write_text(json.dumps({name: values}), encoding="utf-8")
    return path


def run_gate(env: dict, tmp: Path, values: dict[str, float], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["gate", "--dataset", str(env["questions"]), "--thresholds", str(thresholds(tmp, values)), "--quiet"])
    out, err = capsys.readouterr()
    return code, out, err


# --- gate ------------------------------------------------------------------------------------------------
def test_gate_passes_when_every_threshold_is_below_the_measured_value(env: dict, tmp_path: Path, capsys) -> None:
    values = {k: round(env["metrics"][k] - 0.05, 3) for k in GATED}
    values["unsupported_figure_rate"] = env["metrics"]["unsupported_figure_rate"] + 0.05
    code, out, err = run_gate(env, tmp_path, values, capsys)
    assert code == 0, err
    assert f"eval gate passed: {len(values)} thresholds on gate-small" in out and "GATE FAILED" not in err


@pytest.mark.parametrize("metric", GATED)
def test_gate_fails_when_a_threshold_is_above_the_measured_value(env: dict, tmp_path: Path, capsys, metric: str) -> None:
    values = {k: round(env["metrics"][k] - 0.05, 3) for k in GATED}
    values[metric] = env["metrics"][metric] + 0.01
    code, _, err = run_gate(env, tmp_path, values, capsys)
    assert code == 1
    assert "EVAL GATE FAILED" in err and f"{metric} = {env['metrics'][metric]:.3f} < {values[metric]}" in err
    assert sum(line.strip().startswith(tuple(GATED)) for line in err.splitlines()) == 1  # only the regressed one


def test_gate_lower_is_better_for_the_unsupported_figure_rate(env: dict, tmp_path: Path, capsys) -> None:
    measured = env["metrics"]["unsupported_figure_rate"]
    code, _, err = run_gate(env, tmp_path, {"unsupported_figure_rate": measured - 0.01}, capsys)
    assert code == 1 and "unsupported_figure_rate" in err and ">" in err


def test_gate_fails_on_an_unmeasured_metric(env: dict, tmp_path: Path, capsys) -> None:
    code, _, err = run_gate(env, tmp_path, {"no_such_metric": 0.5}, capsys)
    assert code == 1 and "no_such_metric: not measured" in err


def test_gate_without_thresholds_for_the_dataset_exits_2(env: dict, tmp_path: Path, capsys) -> None:
    path = thresholds(tmp_path, {"R@5": 0.0}, name="another-dataset")
    code = main(["gate", "--dataset", str(env["questions"]), "--thresholds", str(path), "--quiet"])
    assert code == 2 and "no thresholds for dataset 'gate-small'" in capsys.readouterr().err


def test_gate_function_directions() -> None:
    data = {"primary": "p", "results": {"p": {"metrics": {"R@5": 0.8, "unsupported_figure_rate": 0.1}}}}
    assert gate(data, {"R@5": 0.8, "unsupported_figure_rate": 0.1}) == []
    assert gate(data, {"R@5": 0.81}) == ["R@5 = 0.800 < 0.81"]
    assert gate(data, {"unsupported_figure_rate": 0.05}) == ["unsupported_figure_rate = 0.100 > 0.05"]


# --- run ---------------------------------------------------------------------------------------------------
def test_run_writes_the_report_and_run_file_where_asked(env: dict, tmp_path: Path, capsys) -> None:
    reports, run_out = tmp_path / "reports", tmp_path / "runs" / "run.jsonl"
    code = main(["run", "--dataset", str(env["questions"]), "--config", "bm25", "--config", PRIMARY, "--config", "bm25",
                 "--report-dir", str(reports), "--run-out", str(run_out), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = out.splitlines()
    assert summary[0].startswith("config") and summary[1].startswith("bm25") and summary[2].startswith(PRIMARY)
    assert f"report: {reports / 'gate-small.md'}" in out
    assert {p.name for p in reports.iterdir()} >= {"gate-small.md", "gate-small.json", "gate-small.png"}
    assert len(run_out.read_text(encoding="utf-8").splitlines()) == 6


def test_run_with_no_report_prints_metrics_only(env: dict, tmp_path: Path, capsys) -> None:
    code = main(["run", "--dataset", str(env["questions"]), "--config", "bm25", "--no-report", "--quiet"])
    out, _ = capsys.readouterr()
    assert code == 0 and "report:" not in out and out.splitlines()[1].startswith("bm25")
    assert list(tmp_path.iterdir()) == []  # nothing written in the cwd


def test_run_with_a_missing_question_file_exits_2(env: dict, tmp_path: Path, capsys) -> None:
    code = main(["run", "--dataset", str(tmp_path / "missing.jsonl"), "--no-report", "--quiet"])
    assert code == 2 and "question file" in capsys.readouterr().err


def test_python_m_evals_run_missing_dataset_exits_2(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data", tmp_path / "home", PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run([sys.executable, "-m", "evals", "run", "--dataset", "missing.jsonl", "--no-report", "--quiet"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stdout == ""
    assert "error: question file missing.jsonl not found" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # no data dir, no report


# --- rgb-zh when ../shared is absent -----------------------------------------------------------------------
@pytest.fixture
def no_shared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    gone = tmp_path / "shared-is-not-here" / "eval-data" / "rgb-zh"
    monkeypatch.setitem(datasets.BUILTIN, "rgb-zh", (gone / "queries.dev.jsonl", gone / "corpus.jsonl"))
    return gone


def test_resolve_rgb_zh_says_where_the_benchmark_is_read_from(no_shared: Path) -> None:
    with pytest.raises(DatasetError) as err:
        resolve("rgb-zh")
    message = str(err.value)
    assert str(no_shared / "queries.dev.jsonl") in message and "../shared/eval-data/rgb-zh" in message


@pytest.mark.parametrize("command", ["run", "gate"])
def test_rgb_zh_without_shared_exits_2_with_a_clear_message(env: dict, no_shared: Path, capsys, command: str) -> None:
    argv = [command, "--dataset", "rgb-zh", "--quiet"] + (["--no-report"] if command == "run" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: question file") and "RGB-zh" in err and "../shared/eval-data/rgb-zh" in err


def test_a_missing_corpus_is_reported_too(tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "1", "question": "吕梁？"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"corpus .* not found"):
        resolve(str(questions), corpus=tmp_path / "no-corpus")
    assert resolve(str(questions)).corpus == ROOT / "corpus" and resolve("bulletins").name == "bulletins"


# --- import-feedback ---------------------------------------------------------------------------------------
def test_import_feedback_reads_the_data_dir_feedback_by_default(env: dict, tmp_path: Path, capsys,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "fb-data"
    data_dir.mkdir()
    monkeypatch.setenv("BULLETIN_DATA_DIR", str(data_dir))
    out = tmp_path / "cases.jsonl"
    assert main(["import-feedback", "--out", str(out)]) == 0
    assert "no feedback file at" in capsys.readouterr().out and not out.exists()
    (data_dir / "feedback.jsonl").write_text(json.dumps({"question": "吕梁签约投资额？", "correction": "24.07亿元"},
                                                        ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["import-feedback", "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("1 new cases appended")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"question": "太原呢？"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["import-feedback", "--feedback", str(other), "--out", str(out)]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2
