"""Units of the web layer: rate limiter, origin policy, rendering, feedback, examples, uploads."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from web.cors import OriginPolicy
from web.feedback import feedback_record, record_feedback
from web.indexing import safe_name, save_uploads
from web.ratelimit import RateLimiter, RateLimitStorageError
from web.render import answer_html, answer_message, answered_phrases, citations_panel, highlight, place_label

ANSWER = {
    "question": "吕梁市“三个一批”活动签约投资额是多少？",
    "answer": "吕梁市：本次“三个一批”活动，签约投资额24.07亿元[1]。",
    "refused": False,
    "citations": [{
        "n": 1, "chunk_id": "c-1", "text": "签约项目12个，签约投资额24.07亿元；<script>alert(1)</script>",
        "original": "签约项目 12 个，签约投资额24.07 亿元；<script>alert(1)</script>", "source": "a.txt",
        "title": "吕梁市：以“三个一批”活动为抓手", "city": "吕梁市", "section": "工作成绩及亮点", "score": 1.0,
    }],
    "nearest": [],
    "unsupported_figures": [],
}


# --- rate limit -------------------------------------------------------------------------
@pytest.mark.integration  # waits for the window to move: seconds, `make test` only
def test_moving_window_over_limits():
    lim = RateLimiter(3, window_s=2)
    assert [lim.hit("ip") for _ in range(3)] == [0, 0, 0]
    wait = lim.hit("ip")
    assert 0 < wait <= 2  # the first hit leaves the window within two seconds
    assert lim.hit("other") == 0
    time.sleep(wait + 0.05)
    assert lim.hit("ip") == 0


def test_rate_limit_disabled_and_threadsafe():
    assert RateLimiter(0).hit("x") == 0
    lim = RateLimiter(50)
    accepted = []

    def worker():
        for _ in range(20):
            accepted.append(lim.hit("k") == 0)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(accepted) == 50


def test_an_unusable_storage_is_a_clear_error_and_a_dead_one_lets_requests_through():
    with pytest.raises(RateLimitStorageError, match="BULLETIN_RATE_LIMIT_STORAGE"):
        RateLimiter(5, "nosuch://x")
    dead = RateLimiter(1, "redis://127.0.0.1:1")  # nothing listens on port 1
    with pytest.raises(RateLimitStorageError, match="does not answer"):
        dead.check()
    assert dead.hit("k") == 0 and dead.hit("k") == 0 and not RateLimiter(1).shared and dead.shared


# --- CORS policy ----------------------------------------------------------------------------
def test_origin_policy():
    p = OriginPolicy(["https://portal.example.gov.cn/", "http://127.0.0.1:8001"])
    assert p.allowed("https://portal.example.gov.cn", "http", "127.0.0.1:7860")
    assert p.allowed("HTTP://127.0.0.1:8001", "http", "127.0.0.1:7860")
    assert p.allowed("http://127.0.0.1:7860", "http", "127.0.0.1:7860")  # same host
    assert not p.allowed("http://127.0.0.1:8002", "http", "127.0.0.1:7860")
    assert not p.allowed("null", "http", "127.0.0.1:7860")
    assert not p.allowed("https://portal.example.gov.cn.evil.com", "http", "127.0.0.1:7860")
    assert not OriginPolicy([]).allowed("http://a.example", "http", "127.0.0.1:7860")
    assert OriginPolicy(["*"]).allowed("http://a.example", "http", "x")


def test_settings_split_cors_origins():
    from settings import Settings

    s = Settings(_env_file=None, cors_origins="http://a.example/, https://b.example ,")
    assert s.cors_origins == ["http://a.example", "https://b.example"]


# --- rendering ---------------------------------------------------------------------------------
def test_answer_html_escapes_and_links():
    html = answer_html("<img src=x onerror=alert(1)> 24.07亿元[1][2]", turn=3)
    assert "<img" not in html and "&lt;img" in html
    assert 'href="#cite-3-1"' in html and 'href="#cite-3-2"' in html


def test_highlight_figures_in_printed_spacing():
    out = highlight("签约投资额24.07 亿元；开工项目 10 个<b>", ["24.07亿元"])
    assert out == "签约投资额<mark>24.07 亿元</mark>；开工项目 10 个&lt;b&gt;"
    assert highlight("a<b>", []) == "a&lt;b&gt;"


def test_answered_phrases():
    assert answered_phrases(ANSWER["answer"]) == ["24.07亿元"]
    assert answered_phrases("太原市：着力大抓招商引资、优化营商环境[1]。") == ["着力大抓招商引资", "优化营商环境"]
    assert answered_phrases("太原市：" + "着力大抓招商引资、优化营商环境，" * 5 + "[1]。") == []


def test_citations_panel():
    refused = {"question": "火星？", "answer": "简报中未找到相关信息。", "refused": True, "citations": [],
               "nearest": [dict(ANSWER["citations"][0], n=1)]}
    html = citations_panel([ANSWER, refused])
    assert 'id="cite-1-1"' in html and 'id="near-2-1"' in html
    assert "<mark>24.07 亿元</mark>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "最接近的段落" in html
    assert html.index("第 2 问") < html.index("第 1 问")  # latest first
    assert "吕梁市 · 以“三个一批”活动为抓手 · 工作成绩及亮点" in html
    assert "refused-answer" in answer_message(refused, 2)
    assert "提问后" in citations_panel([])


def test_place_label():
    assert place_label({"city": "", "title": "", "section": "", "source": "f.txt"}) == "f.txt"


# --- feedback -------------------------------------------------------------------------------------
def test_feedback_record_shape(tmp_path: Path):
    path = tmp_path / "deep" / "folder" / "feedback.jsonl"
    history = [{"role": "user", "content": "太原呢？"}]
    record_feedback(path, ANSWER["question"], history, ANSWER, "  应为 24.07 亿元  ")
    record_feedback(path, "第二问", [], {**ANSWER, "refused": True, "citations": []}, None)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert set(first) == {"ts", "question", "history", "answer", "refused", "citations", "correction"}
    assert first["citations"] == [{"n": 1, "chunk_id": "c-1", "text": ANSWER["citations"][0]["text"]}]
    assert first["correction"] == "应为 24.07 亿元" and first["history"] == history and first["refused"] is False
    assert lines[1]["correction"] is None and lines[1]["refused"] is True
    assert feedback_record("q", [], {}, "x" * 5000)["correction"] == "x" * 2000


# --- examples ----------------------------------------------------------------------------------------
def test_example_questions(tmp_path: Path):
    from web.chat_ui import GENERIC_EXAMPLES, example_questions

    dataset = ROOT / "evals" / "datasets" / "bulletins_qa.jsonl"
    got = example_questions(dataset, ["吕梁市", "太原市"], n=6)
    assert len(got) == 6 and got == example_questions(dataset, ["吕梁市", "太原市"], n=6)  # deterministic
    assert any("吕梁" in q for q in got) and any("太原" in q for q in got)
    rows = {json.loads(line)["question"]: json.loads(line) for line in dataset.open(encoding="utf-8")}
    assert all(not rows[q]["unanswerable"] for q in got)
    only = example_questions(dataset, ["吕梁市"], n=4)
    assert all("太原" not in q for q in only)
    assert example_questions(tmp_path / "missing.jsonl", ["吕梁市"]) == GENERIC_EXAMPLES[:6]
    assert example_questions(dataset, ["火星市"]) == GENERIC_EXAMPLES[:6]


# --- uploads -------------------------------------------------------------------------------------------
def test_safe_name():
    assert safe_name("../../x/简报 1.TXT") == "简报_1.txt"
    assert safe_name("..") == "bulletin"


def test_save_uploads_never_overwrites_silently(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("旧内容", encoding="utf-8")
    src = tmp_path / "up"
    src.mkdir()
    (src / "a.txt").write_text("新内容", encoding="utf-8")
    (src / "same.txt").write_text("旧内容", encoding="utf-8")
    (src / "evil.exe").write_bytes(b"MZ")
    (src / "empty.md").write_text("", encoding="utf-8")
    (src / "b.md").write_text("# 新简报", encoding="utf-8")
    paths = [src / n for n in ("a.txt", "evil.exe", "empty.md", "b.md")]
    res = save_uploads(paths, None, corpus)
    text = res.text()
    assert res.saved == ["b.md"]
    assert (corpus / "a.txt").read_text(encoding="utf-8") == "旧内容"
    assert "未覆盖" in text and "不支持的文件类型" in text and "文件为空" in text
    assert not (corpus / "evil.exe").exists()
    res = save_uploads([src / "same.txt"], ["a.txt"], corpus)
    assert res.saved == [] and "相同内容" in res.text()
    res = save_uploads([src / "a.txt"], None, corpus, overwrite=True)
    assert res.saved == ["a.txt"] and "已覆盖" in res.text()
    assert (corpus / "a.txt").read_text(encoding="utf-8") == "新内容"


def test_save_uploads_refuses_a_file_over_the_size_limit(tmp_path: Path):
    from index.loaders import max_file_bytes

    corpus = tmp_path / "corpus"
    (tmp_path / "big.txt").write_bytes("简报".encode() * 200_000)  # 1.2 MB
    res = save_uploads([tmp_path / "big.txt"], None, corpus, max_bytes=max_file_bytes(1))
    assert res.saved == [] and "文件过大（1.1 MB，上限 1 MB）" in res.text(), res.text()
    assert not (corpus / "big.txt").exists()
    assert save_uploads([tmp_path / "big.txt"], None, corpus).saved == ["big.txt"]  # the default limit: 20 MB
