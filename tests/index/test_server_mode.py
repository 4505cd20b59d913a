"""Chroma server mode (``BULLETIN_CHROMA_URL``): the same builds and searches over HTTP, and a clear
error when the server is down.  Uses the session ``chroma_server`` fixture (a real ``chroma run``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from index.builder import Builder
from index.errors import BulletinIndexError, IndexMismatchError, StoreUnavailableError
from index.store import BulletinIndex, Filter
from tests.conftest import ROOT, free_port, make_settings, wait_http
from tests.index._support import SEED_NAME, assert_consistent, cli_env, run_index

pytestmark = pytest.mark.server

QUERY = "吕梁 三个一批 签约投资额"
CORPUS = ROOT / "corpus"  # read only


def _collection() -> str:
    return f"srv-{uuid.uuid4().hex[:10]}"  # one per test: the server is shared by the session


def _index(tmp_path: Path, url: str, corpus: Path, collection: str, **overrides) -> BulletinIndex:
    settings = make_settings(tmp_path / "data", corpus_dir=corpus, chroma_url=url, collection=collection, **overrides)
    return BulletinIndex(settings)


def test_build_search_and_incremental_change_over_http(tmp_path: Path, chroma_server: str, corpus_copy: Path) -> None:
    index = _index(tmp_path, chroma_server, corpus_copy, _collection())
    assert not (tmp_path / "data" / "chroma").exists() or not any((tmp_path / "data" / "chroma").iterdir())
    report = Builder(index, show_progress=False).build(corpus_copy)
    assert report.files_new == 1 and report.embedded == report.chunks_total > 30
    before = assert_consistent(index)
    assert index.stats()["store"] == chroma_server
    assert not (tmp_path / "data" / "chroma").exists(), "server mode must not create an embedded store"

    dense = index.dense(QUERY, 5)
    assert len(dense) == 5 and {cid for cid, _ in dense} <= before
    assert any("24.07亿元" in index.chunks[cid].text for cid, _ in dense)
    assert all(index.chunks[cid].city == "吕梁市" for cid, _ in index.dense("开发区", 8, Filter(city="吕梁市")))
    assert "24.07亿元" in index.chunks[index.keyword(QUERY, 1)[0][0]].text

    unchanged = Builder(index, show_progress=False).build(corpus_copy)
    assert (unchanged.files_unchanged, unchanged.embedded) == (1, 0)

    seed = corpus_copy / SEED_NAME
    seed.write_text(seed.read_text(encoding="utf-8").replace("24.07 亿元", "25.08 亿元"), encoding="utf-8")
    changed = Builder(index, show_progress=False).build(corpus_copy)
    assert (changed.files_changed, changed.embedded, changed.chunks_added, changed.chunks_removed) == (1, 1, 1, 1)
    after = assert_consistent(index)
    assert len(after - before) == 1 and len(before - after) == 1
    assert "25.08亿元" in index.chunks[index.keyword("签约投资额", 1)[0][0]].text

    seed.unlink()
    Builder(index, show_progress=False).build(corpus_copy)
    assert assert_consistent(index) == set()
    index.close()


def test_server_collection_of_another_model_is_refused(tmp_path: Path, chroma_server: str) -> None:
    collection = _collection()
    old = _index(tmp_path / "a", chroma_server, CORPUS, collection, embed_model="hashing:64")
    Builder(old, show_progress=False).build(old.settings.corpus_dir)
    old.check()

    # Same catalog: refused before anything is touched.
    same = BulletinIndex(make_settings(tmp_path / "a" / "data", chroma_url=chroma_server, collection=collection))
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        same.check()
    with pytest.raises(IndexMismatchError, match="hashing:64"):
        Builder(same, show_progress=False).build(same.settings.corpus_dir)

    # Another machine (empty catalog) pointing at the same server collection: Chroma's metadata refuses it.
    other = _index(tmp_path / "b", chroma_server, old.settings.corpus_dir, collection)
    with pytest.raises(IndexMismatchError) as info:
        Builder(other, show_progress=False).build(other.settings.corpus_dir)
    assert "embed_model='hashing:64'" in str(info.value) and "python -m index build --rebuild" in str(info.value)
    assert old.dense_store.count() == old.catalog.count()  # nothing was mixed in

    report = Builder(same, show_progress=False).build(same.settings.corpus_dir, rebuild=True)
    assert report.embedded == report.chunks_total
    same.check()
    assert same.dense_store.metadata()["embed_model"] == "hashing:256"
    assert_consistent(same)


def test_server_down_gives_store_unavailable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    index = _index(tmp_path, url, CORPUS, "bulletins")
    with pytest.raises(StoreUnavailableError) as info:
        Builder(index, show_progress=False).build(index.settings.corpus_dir)
    message = str(info.value)
    assert url in message and "chroma run" in message and "BULLETIN_CHROMA_URL" in message
    with pytest.raises(StoreUnavailableError):
        index.dense(QUERY, 3)
    assert isinstance(info.value, BulletinIndexError)


def test_cli_with_server_down_exits_2_without_traceback(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_index(["build", "--quiet"], cli_env(tmp_path / "data", tmp_path / "home", BULLETIN_CHROMA_URL=url))
    assert result.returncode == 2, result.stderr
    assert "error: cannot reach the Chroma server at " + url in result.stderr
    assert "Traceback" not in result.stderr


def test_server_that_goes_away_mid_session(tmp_path: Path, corpus_copy: Path) -> None:
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(tmp_path / "srv")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/api/v2/heartbeat")
        index = _index(tmp_path, url, corpus_copy, _collection())
        Builder(index, show_progress=False).build(corpus_copy)
        assert index.dense_store.heartbeat()
        assert len(index.dense(QUERY, 3)) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    assert not index.dense_store.heartbeat()
    with pytest.raises(StoreUnavailableError, match="unreachable while trying to"):
        index.dense(QUERY, 3)
    seed = corpus_copy / SEED_NAME
    seed.write_text(seed.read_text(encoding="utf-8").replace("24.07 亿元", "25.08 亿元"), encoding="utf-8")
    with pytest.raises(StoreUnavailableError):
        Builder(index, show_progress=False).build(corpus_copy)
    # The catalog did not move: the committed index is what it was before the failed build.
    assert any("24.07亿元" in c.text for c in index.chunks.values())
    assert len(index.keyword(QUERY, 3)) == 3  # keyword search needs no server
