"""``python -m index build|stats|search`` as real subprocesses (fake embedder, tmp data dir, tmp HOME).

The read-only commands run concurrently (each one pays Python + jieba start-up).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED
from tests.index._support import SEED_NAME, cli_env, index_cmd, run_index

pytestmark = pytest.mark.integration  # starts processes or servers: `make test`, not plain `pytest`

QUERY = "吕梁 三个一批 签约投资额"


def _run_all(commands: dict[str, list[str]], env: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
    procs = {
        name: subprocess.Popen(
            index_cmd(*args), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, args in commands.items()
    }
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=180)
        out[name] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return out


@pytest.fixture(scope="module")
def built_cli(tmp_path_factory: pytest.TempPathFactory):
    """The seed corpus (a copy) built by ``python -m index build``: (env, build result)."""
    base = tmp_path_factory.mktemp("cli")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    env = cli_env(base / "data", base / "home", BULLETIN_CORPUS_DIR=str(corpus))
    result = run_index(["build"], env)
    return env, result


def test_build(built_cli) -> None:
    env, result = built_cli
    assert result.returncode == 0, result.stderr
    assert "files: 1 new, 0 changed, 0 unchanged, 0 removed, 0 skipped" in result.stdout
    assert "articles: 2" in result.stdout
    assert "embedded now" in result.stdout
    assert f"building index 'bulletins' from {env['BULLETIN_CORPUS_DIR']}" in result.stderr
    assert "Traceback" not in result.stderr
    data = Path(env["BULLETIN_DATA_DIR"])
    assert (data / "catalog" / "bulletins.sqlite").is_file() and (data / "chroma").is_dir()


def test_stats_and_searches(built_cli) -> None:
    env, build = built_cli
    assert build.returncode == 0, build.stderr
    # Builds run one at a time; the read-only commands may run side by side.
    rebuild_nothing = run_index(["build", "--quiet"], env)
    assert rebuild_nothing.returncode == 0, rebuild_nothing.stderr
    assert "files: 0 new, 0 changed, 1 unchanged" in rebuild_nothing.stdout
    assert "(0 embedded now)" in rebuild_nothing.stdout
    results = _run_all(
        {
            "stats": ["stats"],
            "search": ["search", QUERY, "--json"],
            "vinegar": ["search", "清徐老陈醋", "--k", "3"],
            "dense": ["search", QUERY, "--mode", "dense", "--k", "8", "--json"],
        },
        env,
    )
    for name, result in results.items():
        assert result.returncode == 0, (name, result.stderr)
        assert "Traceback" not in result.stderr, name

    stats = json.loads(results["stats"].stdout)
    assert (stats["files"], stats["articles"], stats["embed_model"]) == (1, 2, "hashing:256")
    assert {"太原市", "吕梁市"} <= set(stats["chunks_by_city"])
    assert stats["chunks"] == sum(stats["chunks_by_city"].values()) > 30
    assert stats["data_dir"] == env["BULLETIN_DATA_DIR"]

    rows = json.loads(results["search"].stdout)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    top = rows[0]
    assert "24.07" in top["text"] and "签约投资额" in top["text"]
    assert (top["city"], top["source"]) == ("吕梁市", SEED_NAME)
    assert top["section"].startswith("工作成绩及亮点 · 二是滚动开展“三个一批”活动")
    assert "签约投资额24.07 亿元" in top["text"]  # shown as printed

    vinegar = results["vinegar"].stdout
    first = vinegar.split("\n\n")[0]
    assert first.startswith("#1 ") and "太原市" in first
    assert "清徐老陈醋省级专业镇加快项目建设" in first  # rejoined across the page break
    assert "清徐老陈醋省\n" not in vinegar

    dense = json.loads(results["dense"].stdout)
    assert len(dense) == 8 and [r["score"] for r in dense] == sorted((r["score"] for r in dense), reverse=True)


def test_search_with_city_filter(built_cli) -> None:
    env, _ = built_cli
    result = run_index(["search", "开发区 项目", "--city", "太原市", "--mode", "bm25", "--json"], env)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and {r["city"] for r in rows} == {"太原市"}


def test_missing_index_exits_2_and_says_how_to_build(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "empty", tmp_path / "home")
    results = _run_all({"search": ["search", QUERY], "stats": ["stats"]}, env)
    for result in results.values():
        assert result.returncode == 2
        assert "error: no index 'bulletins'" in result.stderr
        assert "python -m index build" in result.stderr
        assert "Traceback" not in result.stderr
        assert result.stdout == ""


def test_build_of_a_missing_path_exits_2(tmp_path: Path) -> None:
    result = run_index(["build", "--quiet", str(tmp_path / "nowhere")], cli_env(tmp_path / "data", tmp_path / "home"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_mismatch_and_rebuild_through_the_cli(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED_NAME)
    old = cli_env(
        tmp_path / "data", tmp_path / "home", BULLETIN_EMBED_MODEL="hashing:64", BULLETIN_CORPUS_DIR=str(corpus)
    )
    assert run_index(["build", "--quiet"], old).returncode == 0
    new = {**old, "BULLETIN_EMBED_MODEL": "hashing"}
    for args in (["search", QUERY], ["build", "--quiet"]):
        result = run_index(args, new)
        assert result.returncode == 2
        assert "hashing:64" in result.stderr and "python -m index build --rebuild" in result.stderr
        assert "Traceback" not in result.stderr
    rebuilt = run_index(["build", "--quiet", "--rebuild"], new)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "files: 1 new" in rebuilt.stdout


def test_passages_jsonl_into_its_own_collection(tmp_path: Path) -> None:
    passages = tmp_path / "passages.jsonl"
    passages.write_text(
        "\n".join(
            json.dumps({"id": f"p{i}", "text": text}, ensure_ascii=False)
            for i, text in enumerate(["吕梁市签约投资额24.07亿元", "太原市晶科能源年产56GW", "同比增长-2.6%"])
        ),
        encoding="utf-8",
    )
    env = cli_env(tmp_path / "data", tmp_path / "home")
    built = run_index(["--collection", "rgb-test", "build", "--quiet", str(passages)], env)
    assert built.returncode == 0, built.stderr
    assert "files: 1 new" in built.stdout and "3 in index" in built.stdout
    found = run_index(["--collection", "rgb-test", "search", "56GW", "--mode", "bm25", "--json"], env)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["id"] == "p1"
    other = run_index(["search", "56GW"], env)  # the default collection was never built
    assert other.returncode == 2
