"""Fixtures of the web tests (helpers in ``_support``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.web._support import ADMIN_TOKEN, AppServer, hostile_corpus, start_app, stop_app

# Read at import: the root conftest removes BULLETIN_* variables around each test.
ARTIFACTS_ENV = os.environ.get("BULLETIN_TEST_ARTIFACTS")
_ARTIFACTS: list[Path] = []


@pytest.fixture(scope="session")
def allowed_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory, allowed_port: int) -> Iterator[AppServer]:
    """The app as deployed: python app.py, index built at startup; one extra allowed origin."""
    tmp = tmp_path_factory.mktemp("app-server")
    server = start_app(tmp, BULLETIN_CORS_ORIGINS=f"http://127.0.0.1:{allowed_port}, https://portal.example.gov.cn",
                       BULLETIN_RATE_LIMIT_PER_MINUTE="1000")
    yield server
    stop_app(server)


@pytest.fixture(scope="session")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app over corpus/ plus a bulletin carrying markup and a prompt injection (``_support.HOSTILE_BULLETIN``).

    Its own collection, a writable corpus copy, an admin token, and its own Gradio upload folder
    (``server.data_dir.parent / "gradio"``), so the admin tests can see what a request wrote.
    """
    tmp = tmp_path_factory.mktemp("hostile-server")
    corpus = hostile_corpus(tmp / "corpus")
    server = start_app(tmp, BULLETIN_CORPUS_DIR=str(corpus), BULLETIN_COLLECTION="hostile",
                       BULLETIN_ADMIN_TOKEN=ADMIN_TOKEN, BULLETIN_RATE_LIMIT_PER_MINUTE="1000",
                       GRADIO_TEMP_DIR=str(tmp / "gradio"))
    yield server
    stop_app(server)


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(ARTIFACTS_ENV) if ARTIFACTS_ENV else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    _ARTIFACTS.append(path)
    return path


def pytest_terminal_summary(terminalreporter) -> None:
    for path in _ARTIFACTS:
        shots = sorted(p.name for p in path.glob("*.png"))
        terminalreporter.write_line(f"web test screenshots ({len(shots)}) in {path}: {', '.join(shots)}")
