"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

(a) the widget on a page of another, allowed origin answers with an expandable citation;
(b) the Gradio chat at / streams an answer and shows the cited passage;
(c) the widget on a disallowed origin shows a clear error state;
plus the widget's refused state, its keyboard use, mobile width, and hostile text rendered as text.
Screenshots go to $BULLETIN_TEST_ARTIFACTS (default: a pytest tmp dir); the path is printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.web._support import (
    PAYLOAD_FIGURE,
    PAYLOAD_QUESTION,
    SEED_FIGURE,
    SEED_QUESTION,
    XSS_PAYLOAD,
    PageServer,
    widget_page,
)

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REFUSED_QUESTION = "大同市开发区一季度规上工业增加值完成多少？"
HTML = "text/html; charset=utf-8"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: apt-get install -y chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    # Chromium writes crash-report and dconf folders under $HOME whatever its profile dir:
    # give it a throwaway home so the tests leave the user's untouched.
    home = tmp_path_factory.mktemp("chromium-home")
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache")}
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env=env)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    yield pg
    context.close()


def shot(page, artifacts_dir: Path, name: str) -> Path:
    path = artifacts_dir / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _open_and_ask(page, question: str) -> None:
    page.locator("button.bubble").click()
    box = page.locator("bulletin-chat-widget textarea")
    box.wait_for(state="visible")
    assert page.evaluate("document.querySelector('bulletin-chat-widget').shadowRoot.activeElement.tagName") == "TEXTAREA"
    box.fill(question)
    box.press("Enter")


def test_widget_cross_origin_answers_with_citation(page, app_server, allowed_port, artifacts_dir):
    routes = {"/": (HTML, widget_page(f"{app_server.url}/widget.js", "某区政府门户"))}
    with PageServer(routes, port=allowed_port) as site:
        page.goto(f"{site.origin}/")
        bubble = page.locator("button.bubble")
        bubble.wait_for()
        # Host-page CSS (pink buttons, serif font) does not reach into the shadow root.
        style = bubble.evaluate("b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).fontFamily]")
        assert style[0] != "rgb(255, 105, 180)" and "serif" != style[1].strip("'\" ")
        assert bubble.get_attribute("aria-expanded") == "false" and bubble.get_attribute("aria-label")

        _open_and_ask(page, SEED_QUESTION)
        msg = page.locator(".msg.bot[data-state=answered]")
        msg.wait_for(timeout=60_000)
        assert SEED_FIGURE in msg.inner_text()
        cite = msg.locator("button.cite").first
        passage = msg.locator(".passage").first
        assert not passage.is_visible()
        cite.focus()
        page.keyboard.press("Enter")  # keyboard expands the citation
        passage.wait_for(state="visible")
        assert cite.get_attribute("aria-expanded") == "true"
        assert SEED_FIGURE in squash(passage.inner_text())
        assert SEED_FIGURE in [squash(t) for t in passage.locator("mark").all_inner_texts()]
        assert "吕梁市" in passage.inner_text()
        shot(page, artifacts_dir, "widget-cross-origin-answer")

        page.keyboard.press("Escape")  # closes, focus back on the bubble
        page.locator("bulletin-chat-widget .panel").wait_for(state="hidden", timeout=5_000)
        assert page.evaluate("document.querySelector('bulletin-chat-widget').shadowRoot.activeElement.className") == "bubble"

        # Mobile width: the panel takes the full width.
        page.set_viewport_size({"width": 375, "height": 740})
        bubble.click()
        box = page.locator("bulletin-chat-widget .panel").bounding_box()
        assert box and box["width"] == pytest.approx(375, abs=1) and box["x"] == pytest.approx(0, abs=1)
        shot(page, artifacts_dir, "widget-mobile")
        assert page.errors == []


def test_widget_refused_state(page, app_server, allowed_port, artifacts_dir):
    routes = {"/": (HTML, widget_page(f"{app_server.url}/widget.js"))}
    with PageServer(routes, port=allowed_port) as site:
        page.goto(f"{site.origin}/")
        _open_and_ask(page, REFUSED_QUESTION)
        msg = page.locator(".msg.bot[data-state=refused]")
        msg.wait_for(timeout=60_000)
        assert "简报中未找到" in msg.inner_text() and "最接近的段落" in msg.inner_text()
        toggle = msg.locator("button.src-toggle").first
        toggle.click()
        msg.locator(".passage").first.wait_for(state="visible", timeout=5_000)
        shot(page, artifacts_dir, "widget-refused")


def test_widget_disallowed_origin_shows_error(page, app_server, artifacts_dir):
    routes = {"/": (HTML, widget_page(f"{app_server.url}/widget.js", "未授权网站"))}
    with PageServer(routes) as site:  # a port not in BULLETIN_CORS_ORIGINS
        page.goto(f"{site.origin}/")
        _open_and_ask(page, SEED_QUESTION)
        msg = page.locator(".msg.bot[data-state=error]")
        msg.wait_for(timeout=30_000)
        assert "未获授权" in msg.inner_text()
        assert msg.get_attribute("role") == "alert"
        shot(page, artifacts_dir, "widget-disallowed-origin")


def test_widget_renders_hostile_text_as_text(page, artifacts_dir):
    """A bulletin containing markup: a scripted API on the page's own origin returns it."""
    hostile = "签约投资额24.07亿元<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">"
    answer = {"question": "q", "answer": "签约投资额24.07亿元<img src=x onerror=\"window.__pwned=3\">[1]。",
              "refused": False, "unsupported_figures": [], "nearest": [],
              "citations": [{"n": 1, "chunk_id": "c-x", "text": hostile, "original": hostile, "source": "x.txt",
                             "title": "<b>标题</b>", "city": "吕梁市", "section": "章节"}]}
    sse = ("event: segment\ndata: " + json.dumps({"text": answer["answer"]}, ensure_ascii=False) + "\n\n"
           "event: answer\ndata: " + json.dumps(answer, ensure_ascii=False) + "\n\n").encode()
    routes = {
        "/": (HTML, widget_page("/widget.js")),
        "/widget.js": ("application/javascript", (ROOT / "web" / "static" / "widget.js").read_bytes()),
        "/api/ask/stream": ("text/event-stream", sse),
    }
    with PageServer(routes) as site:
        page.goto(f"{site.origin}/")
        _open_and_ask(page, "测试")
        msg = page.locator(".msg.bot[data-state=answered]")
        msg.wait_for(timeout=30_000)
        msg.locator("button.cite").first.click()
        passage = msg.locator(".passage").first
        assert "<script>window.__pwned=1</script>" in passage.inner_text()
        assert "<img" in msg.inner_text() and msg.locator("img, script, b").count() == 0
        page.wait_for_timeout(300)
        assert page.evaluate("window.__pwned === undefined")
        shot(page, artifacts_dir, "widget-hostile-text")


def test_gradio_chat_answers_with_cited_passage(page, app_server, artifacts_dir):
    page.goto(f"{app_server.url}/")
    box = page.locator("#question textarea")
    box.wait_for(timeout=30_000)
    page.locator("text=示例问题").first.wait_for(timeout=30_000)  # Gradio renders the examples a little later
    box.fill(SEED_QUESTION)
    box.press("Enter")
    card = page.locator("#citations .cite-card").first
    card.wait_for(timeout=60_000)
    bot = page.locator("#chat [data-testid=bot]").last
    assert SEED_FIGURE in bot.inner_text()
    assert card.is_visible() and "吕梁市" in card.inner_text()
    assert SEED_FIGURE in [squash(t) for t in card.locator("mark").all_inner_texts()]
    bot.locator("a.cite-ref").first.click()  # the [n] marker opens the passage
    page.wait_for_timeout(300)
    assert page.url.rstrip("/") == app_server.url  # handled in page, no navigation
    shot(page, artifacts_dir, "gradio-chat-answer")

    box.fill(REFUSED_QUESTION)
    box.press("Enter")
    page.locator("#citations .cite-card.nearest").first.wait_for(timeout=60_000)
    assert "简报中未找到" in page.locator("#chat [data-testid=bot]").last.inner_text()
    assert "最接近的段落" in page.locator("#citations").inner_text()
    shot(page, artifacts_dir, "gradio-chat-refused")
    page.locator("#new-chat").click()  # 「新对话」 empties the chat and the panel
    page.locator("#citations", has_text="提问后").wait_for(timeout=10_000)
    assert page.locator("#chat [data-testid=bot]").count() == 0
    assert page.errors == []


def test_gradio_chat_draws_a_sum_answer_with_its_rows_and_a_csv(page, app_server, artifacts_dir):
    """A question answered from the figure table: the chart, the cited rows and the CSV button appear."""
    page.goto(f"{app_server.url}/")
    box = page.locator("#question textarea")
    box.wait_for(timeout=30_000)
    box.fill("吕梁“三个一批”开工和投产项目一共投资多少？")
    box.press("Enter")
    page.locator("#table-chart").wait_for(state="visible", timeout=60_000)
    assert "23.9亿元" in page.locator("#chat [data-testid=bot]").last.inner_text()
    rows = page.locator("#table-rows")
    rows.wait_for(state="visible", timeout=30_000)
    assert "开工项目总投资" in rows.inner_text() and "12.12亿元" in rows.inner_text()
    assert page.locator("#table-csv").is_visible()
    shot(page, artifacts_dir, "gradio-chat-table-answer")
    assert page.errors == []


def test_widget_demo_page_same_origin(page, app_server, artifacts_dir):
    page.goto(f"{app_server.url}/widget/demo")
    _open_and_ask(page, SEED_QUESTION)
    page.locator(".msg.bot[data-state=answered]").wait_for(timeout=60_000)
    shot(page, artifacts_dir, "widget-demo-page")


# --- a bulletin carrying markup (tests/web/conftest.py: hostile_server) -------------------------------------
SCRIPT_TEXT = "<script>window.__pwned=1</script>"


def test_gradio_chat_shows_a_hostile_passage_as_text(page, hostile_server, artifacts_dir):
    """The cited passage holds <script> and <img onerror>: the chat shows them as text, runs nothing."""
    page.goto(f"{hostile_server.url}/")
    box = page.locator("#question textarea")
    box.wait_for(timeout=30_000)
    box.fill(PAYLOAD_QUESTION)
    box.press("Enter")
    card = page.locator("#citations .cite-card").first
    card.wait_for(timeout=60_000)
    bot = page.locator("#chat [data-testid=bot]").last
    assert PAYLOAD_FIGURE in squash(bot.inner_text())
    bot.locator("a.cite-ref").first.click()  # open the cited passage
    assert card.is_visible()
    text = card.inner_text()
    assert SCRIPT_TEXT in text and 'onerror="window.__pwned=1">' in text, text
    assert PAYLOAD_FIGURE in [squash(t) for t in card.locator("mark").all_inner_texts()]
    assert page.locator("#citations img, #citations script, #chat img[src=x], #chat script").count() == 0
    page.wait_for_timeout(500)  # an onerror would have fired by now
    assert page.evaluate("window.__pwned === undefined")
    shot(page, artifacts_dir, "gradio-chat-hostile-passage")
    assert page.errors == []


def test_widget_shows_a_hostile_passage_as_text(page, hostile_server, artifacts_dir):
    """The same passage served by the real app to the widget (its demo page, same origin)."""
    page.goto(f"{hostile_server.url}/widget/demo")
    _open_and_ask(page, PAYLOAD_QUESTION)
    msg = page.locator(".msg.bot[data-state=answered]")
    msg.wait_for(timeout=60_000)
    assert PAYLOAD_FIGURE in squash(msg.inner_text())
    assert XSS_PAYLOAD in msg.locator(".text").inner_text()  # the quoted answer too, as text
    msg.locator("button.cite").first.click()
    passage = msg.locator(".passage").first
    passage.wait_for(state="visible", timeout=5_000)
    assert XSS_PAYLOAD in passage.inner_text()
    assert page.locator("bulletin-chat-widget img, bulletin-chat-widget script").count() == 0
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned === undefined")
    shot(page, artifacts_dir, "widget-hostile-passage")
    assert page.errors == []



def test_widget_wrong_answer_report_becomes_an_eval_case(page, app_server, allowed_port, tmp_path, artifacts_dir):
    """「答案有误」 with a correction lands in the chat's feedback file, and the import turns it into a case."""
    from evals.feedback import run_import

    feedback = app_server.data_dir / "feedback.jsonl"
    before = feedback.read_text(encoding="utf-8").count("\n") if feedback.exists() else 0
    routes = {"/": (HTML, widget_page(f"{app_server.url}/widget.js", "某区政府门户"))}
    with PageServer(routes, port=allowed_port) as site:
        page.goto(f"{site.origin}/")
        _open_and_ask(page, SEED_QUESTION)
        msg = page.locator(".msg.bot[data-state=answered]")
        msg.wait_for(timeout=60_000)
        msg.locator("button.wrong").click()
        msg.locator(".feedback-form textarea").fill("签约投资额应为24.07亿元")
        msg.locator("button.send-feedback").click()
        page.locator(".feedback[data-state=sent]").wait_for(timeout=30_000)
        assert "已记录" in msg.locator(".feedback-status").inner_text()
        shot(page, artifacts_dir, "widget-feedback-sent")
    lines = feedback.read_text(encoding="utf-8").splitlines()
    assert len(lines) == before + 1
    record = json.loads(lines[-1])
    assert record["question"] == SEED_QUESTION and record["correction"] == "签约投资额应为24.07亿元"
    assert SEED_FIGURE in record["answer"] and record["citations"]
    out = tmp_path / "cases.jsonl"
    run_import(feedback, out)
    cases = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert any(c["question"] == SEED_QUESTION and c["answers"] == [["签约投资额应为24.07亿元"]] for c in cases)
    assert page.errors == []
