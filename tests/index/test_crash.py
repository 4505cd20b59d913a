"""kill -9 during ``python -m index build``: the previous index stays readable, the next build converges.

Each round adds a batch of generated bulletins (plus an edit and a removal), starts a
real build subprocess and SIGKILLs it at a chosen stage: before the catalog commit the
stage is read from its progress bars on stderr (so the kill lands where intended on a
slow or fast machine); after it, where no bar is shown, the build runs through
``_pausing_build``, which stops at the point and says so.  The killed data dir is then
copied to a fresh path and opened in this process (a fresh path means a fresh Chroma
client, never one that cached state from before the kill), checked (it answers the seed
question from exactly one committed chunk set), and brought up to date by a normal
build, after which Chroma, the catalog and the saved BM25 index hold the same ids.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from index.builder import Builder
from index.store import BulletinIndex
from tests.conftest import ROOT, SEED, make_settings
from tests.index._support import (
    SEED_NAME,
    assert_consistent,
    assert_figures_match,
    bulletin_text,
    cli_env,
    expected_chunk_ids,
    index_cmd,
)

pytestmark = pytest.mark.integration  # starts processes or servers: `make test`, not plain `pytest`

BATCH = 40  # generated files per round: ~6 chunks each, a few seconds of build work

SEED_QUESTION = "吕梁市“三个一批”活动签约投资额是多少？"
SEED_FIGURE = "24.07亿元"

# (stage, extra seconds before the kill, committed when killed?).  A progress-bar stage is
# seen on stderr as "stage:"; a pause point of _pausing_build as "paused at stage".
KILL_POINTS = [
    ("tokenising", 0.1, False),  # every vector written, catalog not committed: the new batch is all orphans
    ("writing", 0.15, False),  # some vector batches upserted into Chroma, catalog not committed
    ("embedding", 0.2, False),  # vectors being computed: nothing written yet
    ("committed", 0.0, True),  # catalog committed; replaced/removed chunks' vectors not deleted yet
    ("bm25-saving", 0.0, True),  # stale vectors deleted; the BM25 index half saved, not in place
]
PAUSE_POINTS = {"committed", "bm25-saving"}


class _Stderr:
    """Collects a subprocess's stderr in a thread; ``wait_for`` blocks until a marker shows up."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.text = ""
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._pump, args=(proc,), daemon=True)
        self._thread.start()

    def _pump(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        while chunk := os.read(proc.stderr.fileno(), 4096):
            with self._cond:
                self.text += chunk.decode("utf-8", "replace")
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, marker: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while marker not in self.text:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return marker in self.text
                self._cond.wait(left)
            return True


def _write_batch(corpus: Path, round_no: int) -> None:
    for k in range(BATCH):
        i = round_no * 1000 + k
        (corpus / f"r{round_no}_{k:03d}.txt").write_text(bulletin_text(i), encoding="utf-8")


def _mutate(corpus: Path, round_no: int) -> None:
    """Besides the new batch: edit one existing file and remove another."""
    existing = sorted(p for p in corpus.glob("r*_*.txt") if not p.name.startswith(f"r{round_no}_"))
    if len(existing) >= 2:
        edited, removed = existing[0], existing[-1]
        edited.write_text(
            edited.read_text(encoding="utf-8").replace("提升开发区能级", "持续提升改革能级"), encoding="utf-8"
        )
        removed.unlink()


def _probe(round_no: int) -> str:
    """A query whose nearest vectors are the new batch's (uncommitted until the build commits)."""
    return f"第{round_no * 1000}-0-0批项目总投资 光伏组件 带动就业 推进重点工程"


def _check_readable(index: BulletinIndex, committed: set[str], round_no: int, answer: bool = False) -> None:
    """The index as a reader sees it right after the kill; with ``answer``, the assistant answers from it."""
    index.check()
    ids = index.catalog.chunk_ids()
    assert ids == committed
    assert ids <= index.dense_store.ids(), "a committed chunk has no vector"
    assert_figures_match(index)  # the figure table is committed with the chunks: it matches them exactly
    assert set(index.chunks) == ids
    bm25_ids = index.keyword_index._fresh()[0]  # what keyword search ranks (saved, or refitted when missing)
    assert len(bm25_ids) == len(ids) and set(bm25_ids) == ids, "BM25 ranks another chunk set than the catalog's"
    for query in ["签约投资额 亿元", _probe(round_no)]:
        keyword = index.keyword(query, 5)
        dense = index.dense(query, 5)
        assert len(keyword) == 5 and len(dense) == 5, (query, len(keyword), len(dense))
        assert {cid for cid, _ in keyword + dense} <= ids
    assert SEED_FIGURE in index.chunks[index.keyword("吕梁 三个一批 签约投资额", 1)[0][0]].text
    if answer:
        from assistant.chain import BulletinAssistant

        reply = BulletinAssistant(index.settings, index=index).ask(SEED_QUESTION)
        assert not reply.refused and SEED_FIGURE in reply.text, reply.text
        assert reply.citations and {c.chunk_id for c in reply.citations} <= ids


def _assert_saved_bm25(index: BulletinIndex) -> None:
    """The BM25 index a build saved for readers lists exactly the committed chunks (no leftovers)."""
    folder = index.keyword_index.directory
    saved = folder / f"gen-{index.catalog.generation}" / "ids.json"
    assert saved.is_file(), f"no BM25 index saved for generation {index.catalog.generation}"
    ids = json.loads(saved.read_text(encoding="utf-8"))
    catalog_ids = index.catalog.chunk_ids()
    assert len(ids) == len(set(ids)) == index.catalog.count() == index.dense_store.count()
    assert set(ids) == catalog_ids == index.dense_store.ids()
    # gen-* folders only: whether a later save removes the .tmp-* folder of a killed one is up to
    # BM25Index.save (with it, the folder holds gen-N alone).
    assert [p.name for p in folder.iterdir() if p.name.startswith("gen-")] == [saved.parent.name]


def test_kill_during_build_keeps_the_previous_index_and_converges(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED_NAME)

    # The committed starting point (the seed only, so the first round's probe query finds
    # nothing but orphans among its nearest vectors), built in this process.
    state = tmp_path / "state0"
    index = BulletinIndex(make_settings(state, corpus_dir=corpus))
    Builder(index, show_progress=False).build(corpus)
    committed = assert_consistent(index, check_vectors=False)
    assert committed == expected_chunk_ids(corpus)

    orphans_seen = 0
    for round_no, (stage, delay, after_commit) in enumerate(KILL_POINTS, 1):
        _write_batch(corpus, round_no)
        _mutate(corpus, round_no)
        target = expected_chunk_ids(corpus)
        assert len(target - committed) > BATCH  # real work for the build

        # 1. a build subprocess on a data dir this process never opened, killed at `stage`
        run_dir = tmp_path / f"run{round_no}"
        shutil.copytree(state, run_dir)
        if stage in PAUSE_POINTS:
            env = cli_env(run_dir, tmp_path / "home", BULLETIN_TEST_PAUSE_AT=stage)
            cmd, marker = [sys.executable, "-m", "tests.index._pausing_build", "build", str(corpus)], f"paused at {stage}"
        else:
            env = cli_env(run_dir, tmp_path / "home")
            cmd, marker = index_cmd("build", str(corpus)), f"{stage}:"
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = _Stderr(proc)
        try:
            reached = err.wait_for(marker, timeout=60)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert reached, f"the build never reached {stage!r}:\n{err.text[-2000:]}"
        assert proc.returncode == -signal.SIGKILL, (
            f"the build ended by itself (rc {proc.returncode}):\n{err.text[-2000:]}"
        )

        # 2. what a reader sees after the kill: exactly one commit (the previous one, or the new one
        #    when killed after it), fully searchable, answering the seed question
        after_kill = tmp_path / f"after{round_no}"
        shutil.copytree(run_dir, after_kill)
        index = BulletinIndex(make_settings(after_kill, corpus_dir=corpus))
        catalog_ids = index.catalog.chunk_ids()
        assert catalog_ids in (committed, target), "the catalog holds a mix of two builds"
        assert catalog_ids == (target if after_commit else committed), f"killed at {stage}: wrong commit state"
        _check_readable(index, catalog_ids, round_no, answer=True)
        orphans = index.dense_store.ids() - catalog_ids
        orphans_seen += bool(orphans)
        if stage == "committed":
            assert orphans, "killed before the stale vectors were deleted: some must be left"

        # 3. a normal build converges: Chroma, catalog and BM25 hold exactly the corpus, vectors not stale
        report = Builder(index, show_progress=False).build(corpus)
        assert index.catalog.chunk_ids() == target
        assert_consistent(index)
        _assert_saved_bm25(index)
        assert report.chunks_total == len(target)
        if stage == "tokenising":
            # every vector was written before the kill: nothing is computed or written again
            assert report.embedded < len(target - committed) // 2
        if after_commit:
            assert report.embedded == 0 and report.chunks_added == 0
        if stage == "committed":
            assert report.orphans_deleted == len(orphans)
        index.check()
        again = Builder(index, show_progress=False).build(corpus)
        assert (again.embedded, again.chunks_added, again.chunks_removed, again.orphans_deleted) == (0, 0, 0, 0)
        index.close()
        committed, state = target, after_kill

    assert orphans_seen >= 1, "no kill left uncommitted vectors behind: the crash window was not exercised"


def test_kill_at_a_random_moment(tmp_path: Path) -> None:
    """A kill at a random moment (even before the build starts or after it ends) never breaks the index."""
    import random

    seed = int(os.environ.get("BULLETIN_TEST_CRASH_SEED", "0"))

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED_NAME)
    state = tmp_path / "state"
    index = BulletinIndex(make_settings(state, corpus_dir=corpus))
    Builder(index, show_progress=False).build(corpus)
    committed = assert_consistent(index, check_vectors=False)
    index.close()

    _write_batch(corpus, 1)
    target = expected_chunk_ids(corpus)
    run_dir = tmp_path / "run"
    shutil.copytree(state, run_dir)
    proc = subprocess.Popen(
        index_cmd("build", "--quiet", str(corpus)),
        cwd=ROOT,
        env=cli_env(run_dir, tmp_path / "home"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(random.Random(seed).uniform(2.5, 6.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    after = tmp_path / "after"
    shutil.copytree(run_dir, after)
    index = BulletinIndex(make_settings(after, corpus_dir=corpus))
    catalog_ids = index.catalog.chunk_ids()
    assert catalog_ids in (committed, target)
    _check_readable(index, catalog_ids, 1)
    Builder(index, show_progress=False).build(corpus)
    assert assert_consistent(index) == target
    index.close()
