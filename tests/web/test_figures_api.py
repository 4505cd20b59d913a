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


def test_chat_shows_a_sum_answer_as_chart_rows_and_csv(tmp_path: Path, seed_index) -> None:
    """The chat's handler after a table answer: a bar chart, the cited rows and a UTF-8 CSV; a passage
    answer hides them again."""
    from web.chat_ui import ChatHandlers, new_state

    settings, index = seed_index
    handlers = ChatHandlers(make_settings(tmp_path / "d"), BulletinAssistant(settings, index=index))
    state = new_state()
    for out in handlers.respond("吕梁“三个一批”开工和投产项目一共投资多少？", state, None):
        state = out[2]
    answer = state["turns"][-1]
    assert answer["table_kind"] == "sum" and "〔计算〕" in answer["answer"] and not answer["unsupported_figures"]
    bar, line, rows, csv = handlers.table_view(state)
    assert bar.visible is True and line.get("visible") is False
    assert rows["visible"] is True and list(rows["value"]["数值"]) == [12.12, 11.78]
    text = Path(csv["value"]).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "项目,日期,数值,原文,引用" and "开工项目总投资" in text and "[1]" in text
    for out in handlers.respond("吕梁市“三个一批”活动签约投资额是多少？", state, None):
        state = out[2]
    assert all(u.get("visible") is False for u in handlers.table_view(state))


def test_admin_tab_lists_the_same_rows_as_the_api(tmp_path: Path, seed_index) -> None:
    from web.chat_ui import ChatHandlers

    settings, index = seed_index
    handlers = ChatHandlers(make_settings(tmp_path / "d"), BulletinAssistant(settings, index=index))
    frame = handlers.figure_rows("吕梁市", "投资", "", "")
    api_rows, _ = index.figures("吕梁市", "投资", limit=500)
    assert list(frame["数字"]) == [r.text for r in api_rows] and len(frame) > 0
    assert handlers.figure_rows("", "", "去年", "").empty
