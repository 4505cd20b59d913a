"""GET /api/figures: the figure table with filters, as JSON (in process, the seed indexed with the fake embedder)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from assistant.chain import BulletinAssistant
from tests.conftest import make_settings


def _client(tmp_path: Path, seed_index) -> TestClient:
    from app import create_app

    settings, index = seed_index
    return TestClient(create_app(make_settings(tmp_path / "data"), BulletinAssistant(settings, index=index)))


def test_figures_filtered_by_place_and_metric_cite_their_passage(tmp_path: Path, seed_index) -> None:
    with _client(tmp_path, seed_index) as client:
        r = client.get("/api/figures", params={"place": "吕梁市", "metric": "投资"})
        assert r.status_code == 200
        body = r.json()
        assert body["total"] == len(body["rows"]) > 0
        assert all("吕梁" in row["entity"] and "投资" in row["metric"] for row in body["rows"])
        row = body["rows"][0]
        passage = client.get(f"/api/sources/{row['chunk_id']}").json()["text"]
        assert passage[row["start"]:row["end"]] == row["text"]  # the offsets point at the figure as printed
        everything = client.get("/api/figures", params={"limit": 5}).json()
        assert len(everything["rows"]) == 5 and everything["total"] > 5


def test_bad_filters_are_clear_422s(tmp_path: Path, seed_index) -> None:
    with _client(tmp_path, seed_index) as client:
        for params in ({"from": "last year"}, {"limit": 0}, {"place": "吕" * 51}):
            r = client.get("/api/figures", params=params)
            assert r.status_code == 422, params
            assert r.json().get("error"), r.json()
        assert client.get("/api/figures", params={"place": "不存在的地方"}).json() == {"total": 0, "rows": []}
