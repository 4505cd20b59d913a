"""The Gradio chat a staff member opens at ``/``.

Streaming multi-turn chat; [n] markers link to the cited passages in the side
panel (answered figures highlighted); refusals show the nearest passages; a
city filter; 「新对话」; 「答案有误」 feedback into ``settings.feedback_path``;
an admin tab (``settings.admin_token``) to upload bulletins and re-index.

The handlers live on ``ChatHandlers`` so tests can call them without a browser.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.chain import BulletinAssistant
from assistant.turn import InvalidQuestionError, validate_question
from web.api import LONE_SURROGATE
from web.feedback import record_feedback
from web.indexing import UPLOAD_TYPES, add_bulletins
from web.ratelimit import RateLimiter
from web.render import EMPTY_PANEL, answer_html, answer_message, citations_panel, esc

log = logging.getLogger(__name__)

ALL_CITIES = "全部"
GENERIC_EXAMPLES = [
    "简报中提到了哪些重点项目？",
    "开发区在招商引资方面有哪些做法？",
    "下一步工作打算是什么？",
]
THINKING = "正在检索简报…"


def _city_short(city: str) -> str:
    return city[:-1] if city.endswith("市") and len(city) > 2 else city


def example_questions(dataset: Path, cities: list[str], n: int = 6) -> list[str]:
    """A deterministic sample of answerable single-turn questions that name a city in the index.

    Falls back to a few generic questions when the dataset is missing or nothing matches.
    """
    rows: list[dict[str, Any]] = []
    try:
        with dataset.open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
    except (OSError, ValueError):
        rows = []
    names = [c for c in cities if c] + [_city_short(c) for c in cities if c]
    picked = []
    for row in rows:
        q = str(row.get("question") or "")
        if row.get("unanswerable") or row.get("history") or not q or len(q) > 40:
            continue
        if names and any(name in q for name in names):
            picked.append((hashlib.sha1(str(row.get("id", q)).encode()).hexdigest(), q))
    if not picked:
        return GENERIC_EXAMPLES[:n]
    picked.sort()
    # Spread the sample over the cities so every city has an example.
    by_city: dict[str, list[str]] = {}
    for _, q in picked:
        city = next((c for c in cities if c in q or _city_short(c) in q), "")
        by_city.setdefault(city, []).append(q)
    out: list[str] = []
    while len(out) < n and any(by_city.values()):
        for qs in by_city.values():
            if qs and len(out) < n:
                out.append(qs.pop(0))
    return out


DATE_PREFIX = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def table_frame(rows: list[dict[str, Any]], citations: list[dict[str, Any]]):
    """Rows of a table answer as a DataFrame: 项目, 日期, 数值 (in one display unit), 原文, 引用.

    >>> f = table_frame([{"entity": "吕梁市", "metric": "签约投资额", "text": "24.07亿元", "normalised": 2.407e9,
    ...                   "base": "元", "date": "2024-05-20", "chunk_id": "c1"}], [{"n": 1, "chunk_id": "c1"}])
    >>> f.to_dict("records"), f.attrs["unit"]
    ([{'项目': '吕梁市 签约投资额', '日期': '2024-05-20', '数值': 24.07, '原文': '24.07亿元', '引用': '[1]'}], '亿元')
    """
    import pandas as pd

    if not rows:
        return None
    numbers = {c.get("chunk_id"): c.get("n") for c in citations}
    base = rows[0].get("base", "")
    top = max(abs(float(r.get("normalised") or 0)) for r in rows)
    scale, unit = (1e8, f"亿{base}") if top >= 1e8 else (1e4, f"万{base}") if top >= 1e5 else (1.0, base)
    frame = pd.DataFrame([{
        "项目": " ".join(x for x in (r.get("entity", ""), r.get("metric", "")) if x),
        "日期": r.get("date", ""),
        "数值": round(float(r.get("normalised") or 0) / scale, 4),
        "原文": r.get("text", ""),
        "引用": f"[{numbers[r.get('chunk_id')]}]" if numbers.get(r.get("chunk_id")) else "",
    } for r in rows])
    frame.attrs["unit"] = unit
    return frame


def new_state() -> dict[str, Any]:
    return {"messages": [], "history": [], "turns": []}


class ChatHandlers:
    """Event handlers of the chat UI (plain methods; Gradio calls them, tests too)."""

    def __init__(self, settings: Any, assistant: BulletinAssistant, limiter: RateLimiter | None = None) -> None:
        self.settings = settings
        self.assistant = assistant
        self.limiter = limiter or RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_storage)

    # --- chat ------------------------------------------------------------------
    def respond(self, message: str, state: dict[str, Any] | None, city: str | None, date_from: str | None = "",
                date_to: str | None = "", request: gr.Request | None = None):
        """Stream one answer: yields (chatbot messages, panel html, state, textbox value, feedback status)."""
        state = state or new_state()
        if LONE_SURROGATE.search(message or ""):
            # Not text (a client spelled "\\ud800"): it could not even be sent back to the browser.
            gr.Warning("问题中含有无法识别的字符，请重新输入。")
            yield list(state["messages"]), citations_panel(state["turns"]), state, "", ""
            return
        messages = list(state["messages"])
        try:
            question = validate_question(message or "", self.settings.max_question_chars)
        except InvalidQuestionError as exc:
            gr.Warning(str(exc))
            yield messages, citations_panel(state["turns"]), state, message, ""
            return
        client = request.client.host if request is not None and request.client else "ui"
        wait = self.limiter.hit(f"ui:{client}")
        if wait:
            gr.Warning(f"提问过于频繁，请 {int(wait) + 1} 秒后再试。")
            yield messages, citations_panel(state["turns"]), state, message, ""
            return

        turn = len(state["turns"]) + 1
        messages.append({"role": "user", "content": esc(question)})
        messages.append({"role": "assistant", "content": THINKING})
        yield messages, citations_panel(state["turns"]), state, "", ""

        city_filter = "" if not city or city == ALL_CITIES else city
        dates = {k: v.strip() for k, v in (("date_from", date_from or ""), ("date_to", date_to or "")) if v.strip()}
        bad = [v for v in dates.values() if not DATE_PREFIX.fullmatch(v)]
        if bad:
            gr.Warning(f"日期格式有误：{bad[0]}（请用 2024、2024-05 或 2024-05-20）")
            yield list(state["messages"]), citations_panel(state["turns"]), state, message, ""
            return
        text, answer = "", None
        started = time.monotonic()
        try:
            for chunk in self.assistant.stream(question, state["history"], city_filter, **dates):
                if chunk.reset is not None:
                    text = ""
                if chunk.text:
                    text += chunk.text
                    messages[-1] = {"role": "assistant", "content": answer_html(text, turn)}
                    yield messages, citations_panel(state["turns"]), state, "", ""
                if chunk.answer is not None:
                    answer = chunk.answer.to_json()
        except InvalidQuestionError as exc:
            messages[-1] = {"role": "assistant", "content": esc(str(exc))}
            yield messages, citations_panel(state["turns"]), state, "", ""
            return
        except Exception:
            log.exception("chat answer failed")
            messages[-1] = {"role": "assistant", "content": "抱歉，回答时出错了，请稍后再试。"}
            yield messages, citations_panel(state["turns"]), state, "", ""
            return
        if answer is None:
            messages[-1] = {"role": "assistant", "content": "抱歉，没有得到回答，请重试。"}
            yield messages, citations_panel(state["turns"]), state, "", ""
            return
        log.info("answered in %.1f s: %s", time.monotonic() - started, question[:60])
        messages[-1] = {"role": "assistant", "content": answer_message(answer, turn)}
        new = {
            "messages": messages,
            "history": [*state["history"], {"role": "user", "content": question},
                        {"role": "assistant", "content": answer["answer"]}],
            "turns": [*state["turns"], answer],
        }
        yield messages, citations_panel(new["turns"]), new, "", ""

    def table_view(self, state: dict[str, Any] | None):
        """The last answer's figure-table rows (a sum, comparison, list or trend) as a chart, the
        rows themselves and a CSV download; all hidden for a passage answer."""
        turns = (state or {}).get("turns") or []
        last = turns[-1] if turns else {}
        frame = table_frame(last.get("table") or [], last.get("citations") or [])
        if frame is None:
            hidden = gr.update(visible=False)
            return hidden, hidden, hidden, hidden
        kind = last.get("table_kind", "")
        x = "日期" if kind == "trend" else "项目"
        unit = frame.attrs.get("unit", "")
        chart_args = dict(value=frame, x=x, y="数值", title=f"数值（{unit}）" if unit else "数值", visible=True)
        line = gr.LinePlot(**chart_args) if kind == "trend" else gr.update(visible=False)
        values = [float(v) for v in frame["数值"]]
        # Bars start at zero (an axis cut at the smaller value would exaggerate the difference).
        y_lim = [0.0, max(values) * 1.1] if values and min(values) >= 0 and max(values) > 0 else None
        bar = gr.update(visible=False) if kind == "trend" else gr.BarPlot(**chart_args, sort=None, y_lim=y_lim)
        with tempfile.NamedTemporaryFile("w", suffix=".csv", prefix="figures-", delete=False, encoding="utf-8-sig",
                                         newline="") as fh:
            frame.to_csv(fh, index=False)
        return bar, line, gr.update(value=frame, visible=True), gr.update(value=fh.name, visible=True)

    def figure_rows(self, place: str | None, metric: str | None, date_from: str | None, date_to: str | None):
        """The figure table with the admin tab's filters (at most 500 rows)."""
        import pandas as pd

        dates = [(d or "").strip() for d in (date_from, date_to)]
        if any(d and not DATE_PREFIX.fullmatch(d) for d in dates):
            gr.Warning("日期格式有误（请用 2024、2024-05 或 2024-05-20）")
            return pd.DataFrame()
        rows, total = self.assistant.index.figures((place or "").strip(), (metric or "").strip(), *dates, limit=500)
        if total > len(rows):
            gr.Info(f"共 {total} 行，显示前 {len(rows)} 行")
        columns = {"entity": "地区/主体", "metric": "指标", "text": "数字", "period": "时期", "date": "文档日期",
                   "source": "来源", "chunk_id": "段落"}
        return pd.DataFrame([{v: getattr(r, k) for k, v in columns.items()} for r in rows], columns=list(columns.values()))

    def new_chat(self):
        return [], EMPTY_PANEL, new_state(), "", "", ""

    def city_choices(self, current: str | None = None) -> gr.Dropdown:
        cities = [ALL_CITIES, *self.assistant.known_cities()]
        return gr.Dropdown(choices=cities, value=current if current in cities else ALL_CITIES)

    # --- feedback ---------------------------------------------------------------
    def report_wrong(self, state: dict[str, Any] | None, correction: str | None) -> tuple[str, str]:
        """「答案有误」: store the last answer (with the optional correction); (status, cleared correction)."""
        state = state or new_state()
        if not state["turns"]:
            return "还没有可以反馈的回答。", correction or ""
        answer = state["turns"][-1]
        history = state["history"][:-2]  # the turns before the reported question
        correction = LONE_SURROGATE.sub("\ufffd", correction or "")
        record_feedback(self.settings.feedback_path, answer.get("question", ""), history, answer, correction)
        return "已记录，谢谢反馈！我们会核对这条回答。", ""

    # --- admin ------------------------------------------------------------------
    def upload(self, files: list[Any] | None, token: str | None, overwrite: bool = False) -> str:
        expected = self.settings.admin_token
        if not expected:
            return "管理功能未启用：请在服务器上设置 BULLETIN_ADMIN_TOKEN。"
        if not token or not hmac.compare_digest(token.encode(), expected.encode()):
            time.sleep(0.5)  # slow down guessing
            return "✗ 管理口令不正确。"
        paths = [Path(f if isinstance(f, str | Path) else getattr(f, "name", f)) for f in files or []]
        if not paths:
            return "请先选择要上传的简报文件（pdf / docx / txt / md / html）。"
        try:
            result = add_bulletins(self.assistant.index, self.settings.corpus_dir, paths, [p.name for p in paths], overwrite)
        except Exception as exc:
            log.exception("upload/re-index failed")
            return f"✗ 重建索引失败：{exc}"
        return result.text()


CSS = """
.cite-panel { max-height: 640px; overflow-y: auto; font-size: 14px; }
.cite-turn { border: 1px solid var(--border-color-primary); border-radius: 8px; margin-bottom: 8px; padding: 6px 10px; }
.cite-turn > summary { cursor: pointer; font-weight: 600; color: var(--body-text-color-subdued); }
.cite-turn.refused > summary { color: #b45309; }
.cite-card { border-left: 3px solid #2563eb; background: var(--background-fill-secondary); border-radius: 6px;
  padding: 8px 10px; margin: 8px 0; line-height: 1.7; transition: box-shadow .3s; }
.cite-card.nearest { border-left-color: #d97706; }
.cite-card.flash, .cite-card:target { box-shadow: 0 0 0 3px #93c5fd; }
.cite-head { font-weight: 600; margin-bottom: 4px; }
.cite-n { color: #2563eb; }
.cite-text mark { background: #fde68a; padding: 0 2px; border-radius: 3px; }
.cite-src { color: var(--body-text-color-subdued); font-size: 12px; margin-top: 4px; }
.cite-empty, .cite-note { color: var(--body-text-color-subdued); }
a.cite-ref { text-decoration: none; color: #2563eb; font-weight: 600; padding: 0 1px; }
a.cite-ref:hover, a.cite-ref:focus { text-decoration: underline; }
.refused-answer { color: #b45309; }
footer { display: none !important; }
"""

HEAD = """
<script>
(function () {
  function openCitation(ev) {
    var t = ev.target;
    var a = t && t.closest ? t.closest('a[href^="#cite-"], a[href^="#near-"]') : null;
    if (!a) return;
    var el = document.getElementById(a.getAttribute('href').slice(1));
    if (!el) return;
    ev.preventDefault();
    ev.stopPropagation();
    var d = el.closest('details');
    if (d) d.open = true;
    el.scrollIntoView({behavior: 'smooth', block: 'center'});
    el.classList.add('flash');
    setTimeout(function () { el.classList.remove('flash'); }, 1800);
    try { el.focus({preventScroll: true}); } catch (e) {}
  }
  document.addEventListener('click', openCitation, true);
  document.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') openCitation(ev); }, true);
})();
</script>
"""


def build_chat_ui(settings: Any, assistant: BulletinAssistant, limiter: RateLimiter | None = None,
                  examples_path: Path | None = None) -> tuple[gr.Blocks, ChatHandlers]:
    """The Blocks app (not launched; ``app.create_app`` mounts it)."""
    from settings import REPO_ROOT

    handlers = ChatHandlers(settings, assistant, limiter)
    cities = assistant.known_cities()
    examples = example_questions(examples_path or REPO_ROOT / "evals" / "datasets" / "bulletins_qa.jsonl", cities)

    with gr.Blocks(title="开发区工作简报助手") as demo:
        gr.Markdown("## 开发区工作简报问答助手\n根据已收录的开发区工作简报回答问题，每个答案都标注出处 [n]，点击即可查看原文段落。")
        state = gr.State(new_state())
        with gr.Tab("问答"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=360):
                    chatbot = gr.Chatbot(
                        label="对话", show_label=False, height=520, elem_id="chat", buttons=["copy"], feedback_options=None,
                        placeholder="您好！请输入关于开发区工作简报的问题，例如某市的签约投资额、重点项目或下一步打算。",
                        layout="bubble",
                    )
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder="输入问题，按 Enter 发送", show_label=False, scale=5, lines=1,
                            max_lines=4, autofocus=True, elem_id="question", max_length=settings.max_question_chars,
                        )
                        send = gr.Button("发送", variant="primary", scale=1, min_width=80, elem_id="send")
                    with gr.Row():
                        city = gr.Dropdown([ALL_CITIES, *cities], value=ALL_CITIES, label="城市", scale=2,
                                           elem_id="city", interactive=True)
                        clear = gr.Button("新对话", scale=1, elem_id="new-chat")
                    with gr.Row():
                        date_from = gr.Textbox(label="文档日期从", placeholder="如 2024-01", max_length=10, scale=1,
                                               elem_id="date-from")
                        date_to = gr.Textbox(label="到", placeholder="如 2024-06", max_length=10, scale=1,
                                             elem_id="date-to")
                    gr.Examples(examples=[[q] for q in examples], inputs=[box], label="示例问题")
                    with gr.Accordion("答案有误？", open=False, elem_id="feedback"):
                        correction = gr.Textbox(label="正确答案或说明（可选）", lines=2, max_lines=6,
                                                elem_id="correction")
                        wrong = gr.Button("答案有误", variant="secondary", elem_id="report-wrong")
                        status = gr.Markdown("", elem_id="feedback-status")
                with gr.Column(scale=2, min_width=300):
                    gr.Markdown("### 引用段落\n城市 · 文章 · 章节；答案中的数字以黄色标出。")
                    panel = gr.HTML(EMPTY_PANEL, elem_id="citations")
                    # A sum / comparison / list / trend answer: its cited rows as a chart, a table, a CSV.
                    bar = gr.BarPlot(visible=False, elem_id="table-chart")
                    line = gr.LinePlot(visible=False, elem_id="trend-chart")
                    rows = gr.Dataframe(visible=False, interactive=False, elem_id="table-rows", wrap=True)
                    csv = gr.DownloadButton("下载 CSV", visible=False, elem_id="table-csv")
        with gr.Tab("管理"):
            if settings.admin_token:
                gr.Markdown("上传新的简报文件（pdf / docx / txt / md / html）到语料库，并增量更新索引。")
                token = gr.Textbox(label="管理口令", type="password", elem_id="admin-token")
                files = gr.File(label="简报文件", file_count="multiple", file_types=list(UPLOAD_TYPES), type="filepath")
                overwrite = gr.Checkbox(label="覆盖同名文件", value=False)
                upload = gr.Button("上传并更新索引", variant="primary")
                report = gr.Textbox(label="结果", lines=10, interactive=False)
                upload_event = upload.click(handlers.upload, [files, token, overwrite], [report], concurrency_limit=1,
                                            api_visibility="private")
                gr.Markdown("### 数字表\n建索引时从各段落提取的数字（与 `GET /api/figures`、`python -m index figures` 相同）。")
                with gr.Row():
                    f_place = gr.Textbox(label="地区", placeholder="如 吕梁市", max_length=50, elem_id="figures-place")
                    f_metric = gr.Textbox(label="指标", placeholder="如 签约投资额", max_length=50, elem_id="figures-metric")
                    f_from = gr.Textbox(label="日期从", placeholder="2024-01", max_length=10, elem_id="figures-from")
                    f_to = gr.Textbox(label="到", placeholder="2024-06", max_length=10, elem_id="figures-to")
                f_go = gr.Button("查询", elem_id="figures-query")
                f_rows = gr.Dataframe(interactive=False, wrap=True, elem_id="figures-rows")
                f_go.click(handlers.figure_rows, [f_place, f_metric, f_from, f_to], [f_rows], api_visibility="private")
            else:
                gr.Markdown("管理功能未启用：服务器未设置管理口令 `BULLETIN_ADMIN_TOKEN`。设置后重启即可上传简报并更新索引。")

        outputs = [chatbot, panel, state, box, status]
        table_outputs = [bar, line, rows, csv]
        for trigger in (box.submit, send.click):
            trigger(handlers.respond, [box, state, city, date_from, date_to], outputs, concurrency_limit=4, api_visibility="private",
                    time_limit=int(settings.request_timeout_s) + 5, show_progress_on=chatbot,
                    ).then(handlers.table_view, [state], table_outputs, api_visibility="private")
        chatbot.clear(handlers.new_chat, None, [chatbot, panel, state, box, status, correction],
                      api_visibility="private")
        clear.click(handlers.new_chat, None, [chatbot, panel, state, box, status, correction], api_visibility="private",
                    ).then(handlers.table_view, [state], table_outputs, api_visibility="private")
        wrong.click(handlers.report_wrong, [state, correction], [status, correction], api_visibility="private")
        # Cities come from the index, which an upload can extend: refresh them on load and after an upload.
        demo.load(handlers.city_choices, [city], [city], api_visibility="private")
        if settings.admin_token:
            upload_event.then(handlers.city_choices, [city], [city], api_visibility="private")
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo, handlers
