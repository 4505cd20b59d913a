"""``python -m assistant ask|chat`` as real subprocesses over an index built by ``python -m index build``
(fake embedder, tmp data dir, tmp HOME; run from a tmp cwd so nothing lands in the working tree).

The read-only commands run concurrently (each one pays Python + jieba start-up); batch cases that
need no new process call the batch loop in-process.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.chain import BulletinAssistant
from assistant.cli import _batch
from tests.conftest import ROOT
from tests.index._support import cli_env

pytestmark = pytest.mark.integration  # starts processes or servers: `make test`, not plain `pytest`

QUESTION = "吕梁市“三个一批”活动签约投资额是多少？"
CITATION_FIELDS = {"n", "chunk_id", "text", "source", "title", "city", "section"}
BATCH = [
    '{"id": "q1", "question": "吕梁市“三个一批”活动签约投资额是多少？"}',
    "this is not json",
    '{"id": "q2", "question": "大同市开发区一季度规上工业增加值完成多少？"}',
    "",
    '{"question": "a line without an id"}',
    '["吕梁", "a list"]',
    '{"id": "q3", "question": "   "}',
    '{"id": 4, "question": "那开工了多少个？", "history": ["吕梁市“三个一批”活动签约了多少个项目？"]}',
    '{"id": "q5", "question": "太原市聚力培育几条重点产业链？"}',
    json.dumps({"id": "q6", "question": 'How much investment was signed in Lüliang\'s "three batches" campaign?'}),
]


def _env(data_dir: Path, home: Path) -> dict[str, str]:
    return cli_env(data_dir, home, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "assistant", *args]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    base = tmp_path_factory.mktemp("assistant-cli")
    env = _env(base / "data", base / "home")
    build = subprocess.run([sys.executable, "-m", "index", "build", "--quiet"], cwd=base, env=env,
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (base / "batch.jsonl").write_text("\n".join(BATCH) + "\n", encoding="utf-8")
    empty_env = _env(base / "empty-data", base / "home2")
    commands = {
        "text": (_cmd("ask", QUESTION), env, None),
        "json": (_cmd("ask", "--json", QUESTION), env, None),
        "batch": (_cmd("ask", "--questions", str(base / "batch.jsonl"), "--json"), env, None),
        "missing": (_cmd("ask", QUESTION), empty_env, None),
        "chat": (_cmd("chat"), env, "吕梁市“三个一批”活动签约了多少个项目？\n那开工了多少个？\n"),
    }
    procs = {
        name: subprocess.Popen(cmd, cwd=base, env=e, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        for name, (cmd, e, _) in commands.items()
    }
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(input=commands[name][2] or "", timeout=300)
        out[name] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    out["base"] = base  # type: ignore[assignment]
    return out


def test_ask_prints_the_answer_and_its_sources(runs) -> None:
    r = runs["text"]
    assert r.returncode == 0, r.stderr
    answer, _, sources = r.stdout.partition("来源：")
    assert "24.07亿元" in answer and "[1]" in answer
    assert "[1] 吕梁市" in sources and "000_539e1ef272cb00ed.txt" in sources and "24.07" in sources


def test_ask_json_has_the_documented_fields(runs) -> None:
    r = runs["json"]
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert {"question", "answer", "refused", "citations", "unsupported_figures", "backend", "timings_ms"} <= data.keys()
    assert data["question"] == QUESTION and data["refused"] is False and "24.07亿元" in data["answer"]
    assert data["citations"] and all(CITATION_FIELDS <= c.keys() for c in data["citations"])
    assert data["citations"][0]["city"] == "吕梁市" and data["unsupported_figures"] == []


def test_batch_writes_one_json_line_per_well_formed_line_and_reports_bad_ones(runs) -> None:
    r = runs["batch"]
    assert r.returncode != 0, "a failed line must make the batch exit non-zero"
    records = [json.loads(line) for line in r.stdout.splitlines()]  # stdout holds JSON lines and nothing else
    assert [rec["id"] for rec in records] == ["q1", "q2", "q3", "4", "q5", "q6"]
    by_id = {rec["id"]: rec for rec in records}
    assert "24.07亿元" in by_id["q1"]["answer"] and by_id["q1"]["refused"] is False
    assert by_id["q2"]["refused"] is True and by_id["q2"]["answer"].startswith("简报中未找到")
    assert "error" in by_id["q3"] and "answer" not in by_id["q3"]
    assert "开工项目10个" in by_id["4"]["answer"]  # the line's history is used
    assert "9条" in by_id["q5"]["answer"] and "24.07亿元" in by_id["q6"]["answer"]
    for n in (2, 5, 6):  # the malformed lines, by line number, on stderr
        assert f"batch.jsonl:{n}:" in r.stderr, r.stderr
    assert "batch.jsonl:4:" not in r.stderr  # a blank line is not an error


def test_missing_index_exits_2_and_says_how_to_build(runs) -> None:
    r = runs["missing"]
    assert r.returncode == 2
    assert r.stdout == ""
    assert "python -m index build" in r.stderr


def test_chat_answers_a_follow_up_from_piped_stdin(runs) -> None:
    r = runs["chat"]
    assert r.returncode == 0, r.stderr
    first, _, second = r.stdout.partition("开工项目10个")
    assert "签约项目12个" in first and second is not None and "开工项目10个" in r.stdout
    assert r.stdout.count("来源：") == 2


# --- the batch loop in-process (cheap cases that need no new process) ----------------------------------
def _run_batch(seed_index, tmp_path: Path, lines: list[str]) -> tuple[int, list[dict]]:
    settings, index = seed_index
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    code = _batch(BulletinAssistant(settings, index=index), path, argparse.Namespace(city="", k=None), out)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_batch_whose_only_failure_is_an_invalid_question_exits_non_zero(seed_index, tmp_path: Path) -> None:
    code, records = _run_batch(seed_index, tmp_path, [
        '{"id": "ok", "question": "吕梁市“三个一批”活动签约了多少个项目？"}',
        '{"id": "empty", "question": ""}',
        '{"id": "long", "question": "' + "吕" * 600 + '"}',
    ])
    assert code == 1
    assert [r["id"] for r in records] == ["ok", "empty", "long"]
    assert "error" not in records[0] and "empty" in records[1]["error"] and "500" in records[2]["error"]


def test_a_batch_all_valid_exits_zero_and_keeps_order(seed_index, tmp_path: Path) -> None:
    code, records = _run_batch(seed_index, tmp_path, [
        '{"id": "b", "question": "聚力培育几条重点产业链？"}',
        '{"id": "a", "question": "吕梁开发区引进了多少名高层次人才？"}',
    ])
    assert code == 0 and [r["id"] for r in records] == ["b", "a"] and "9条" in records[0]["answer"]
