"""``python app.py --workers N``: several processes, one rate limit (Redis), feedback from all of them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, stop_process
from tests.web._support import ADMIN_TOKEN, SEED_QUESTION, start_app, stop_app

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    """BULLETIN_TEST_REDIS_URL (CI starts one), else a redis-server of our own on a free port."""
    url = os.environ.get("BULLETIN_TEST_REDIS_URL")
    if url:
        yield url
        return
    exe = shutil.which("redis-server")
    if not exe:
        pytest.skip("no redis-server: apt-get install -y redis-server (or set BULLETIN_TEST_REDIS_URL)")
    port = free_port()
    tmp = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        import redis

        while time.monotonic() < deadline:
            try:
                if redis.Redis(host="127.0.0.1", port=port).ping():
                    break
            except redis.exceptions.ConnectionError:
                time.sleep(0.2)
        yield f"redis://127.0.0.1:{port}"
    finally:
        stop_process(proc)


def test_two_workers_share_one_quota_and_one_feedback_file(tmp_path: Path, redis_url: str) -> None:
    server = start_app(tmp_path, BULLETIN_WORKERS="2", BULLETIN_RATE_LIMIT_STORAGE=redis_url,
                       BULLETIN_RATE_LIMIT_PER_MINUTE="6", BULLETIN_ADMIN_TOKEN=ADMIN_TOKEN)
    try:
        admin = {"X-Admin-Token": ADMIN_TOKEN}
        workers = set()
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:  # both processes are up and answering
            with httpx.Client() as fresh:  # a new connection each time: the kernel spreads them over the workers
                r = fresh.get(f"{server.url}/api/health", headers=admin, timeout=30)
            if r.status_code == 200:
                workers.add(r.json()["details"]["worker"])
        assert len(workers) == 2, workers
        statuses = []
        for _ in range(10):
            with httpx.Client() as fresh:
                statuses.append(fresh.post(f"{server.url}/api/ask", json={"question": SEED_QUESTION}, timeout=60).status_code)
        assert statuses.count(200) == 6 and statuses.count(429) == 4, statuses  # one quota, whichever worker answered
        for n in range(6):
            with httpx.Client() as fresh:
                body = {"question": f"问题{n}", "answer": "错的", "correction": f"对的{n}"}
                fresh.post(f"{server.url}/api/feedback", json=body, headers={"X-Forwarded-For": f"10.0.0.{n}"}, timeout=30)
        lines = (server.data_dir / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
        assert all(line.startswith("{") and line.endswith("}") for line in lines)  # no interleaved writes
    finally:
        stop_app(server)


def test_several_workers_without_a_shared_quota_are_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULLETIN_")}
    env.update(BULLETIN_DATA_DIR=str(tmp_path / "data"), BULLETIN_EMBED_MODEL="hashing", BULLETIN_WORKERS="2")
    r = subprocess.run([sys.executable, str(ROOT / "app.py"), "--port", str(free_port())], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "BULLETIN_RATE_LIMIT_STORAGE=redis://" in r.stderr, r.stderr[-2000:]
