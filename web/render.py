"""HTML for the Gradio chat: answers with linked [n] markers, and the cited-passage panel.

All corpus and user text is escaped here; the only markup is ours.

>>> answer_html("签约投资额24.07亿元[1]。<b>", turn=2)
'签约投资额24.07亿元<a class="cite-ref" href="#cite-2-1" title="查看引用段落 [1]">[1]</a>。&lt;b&gt;'
>>> highlight("签约投资额24.07 亿元；<script>", ["24.07亿元"])
'签约投资额<mark>24.07 亿元</mark>；&lt;script&gt;'
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from assistant.verify import figures

MARKER = re.compile(r"\[(\d+)\]")
REFUSAL_PREFIX = "简报中未找到"
MAX_CLAUSE_ANSWER = 60  # answers without figures: highlight their clauses only when short


def esc(text: object) -> str:
    return html.escape(str(text or ""), quote=True)


def _loose(phrase: str) -> str:
    """A regex for ``phrase`` that tolerates spaces between characters (as printed: 「24.07 亿元」)."""
    return r"\s*".join(re.escape(ch) for ch in phrase if not ch.isspace())


def highlight(text: str, phrases: Iterable[str]) -> str:
    """Escaped ``text`` with every occurrence of ``phrases`` wrapped in ``<mark>``."""
    wanted = sorted({p.strip() for p in phrases if p and p.strip()}, key=len, reverse=True)
    if not wanted:
        return esc(text)
    pattern = re.compile("|".join(_loose(p) for p in wanted))
    out, pos = [], 0
    for m in pattern.finditer(text):
        if m.end() == m.start():
            continue
        out.append(esc(text[pos: m.start()]))
        out.append(f"<mark>{esc(m.group(0))}</mark>")
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def answered_phrases(answer_text: str) -> list[str]:
    """What to highlight in the cited passages: the answer's figures, else its short clauses."""
    found = figures(answer_text)
    if found:
        return found
    clean = MARKER.sub("", answer_text)
    clean = re.sub(r"^[^：:]{1,12}[：:]", "", clean)  # 「吕梁市：」 prefix of extractive answers
    if len(clean) > MAX_CLAUSE_ANSWER:
        return []  # a whole quoted passage: marking all of it would mark nothing
    parts = [p.strip() for p in re.split(r"[，,。；;、：:！？!?\n]", clean)]
    return [p for p in parts if 2 <= len(p) <= 40]


def answer_html(text: str, turn: int) -> str:
    """Answer text for the chatbot: escaped, [n] markers linking to the passage cards of ``turn``."""
    escaped = esc(text)
    return MARKER.sub(
        lambda m: f'<a class="cite-ref" href="#cite-{turn}-{m.group(1)}" title="查看引用段落 [{m.group(1)}]">[{m.group(1)}]</a>',
        escaped,
    )


def answer_message(answer: dict[str, Any], turn: int) -> str:
    """The whole chatbot message of a finished answer."""
    body = answer_html(answer.get("answer", ""), turn)
    if answer.get("refused"):
        extra = "（右侧列出了最接近的段落，供参考）" if answer.get("nearest") else ""
        return f'<span class="refused-answer">{body}</span>{extra}'
    notes = []
    if answer.get("unsupported_figures"):
        notes.append("⚠ 以下数字未能在引用段落中核实：" + "、".join(esc(f) for f in answer["unsupported_figures"]))
    if answer.get("fallback_reason") and answer.get("backend") == "extractive":
        notes.append("（大模型不可用，以上为从简报中直接摘录的答案）")
    return body + "".join(f"<br><small>{n}</small>" for n in notes)


def place_label(c: dict[str, Any]) -> str:
    """城市 · 文章 · 章节 (the article title without its leading 「城市：」).

    >>> place_label({"city": "吕梁市", "title": "吕梁市：以活动为抓手", "section": "工作成绩"})
    '吕梁市 · 以活动为抓手 · 工作成绩'
    """
    city, title = c.get("city") or "", c.get("title") or ""
    if city and title.startswith((f"{city}：", f"{city}:")):
        title = title[len(city) + 1:]
    return " · ".join(x for x in (city, title, c.get("section")) if x) or str(c.get("source") or "")


def _card(c: dict[str, Any], turn: int, phrases: list[str], nearest: bool = False) -> str:
    label = esc(place_label(c))
    text = c.get("original") or c.get("text") or ""
    body = esc(text) if nearest else highlight(text, phrases)
    anchor = f"near-{turn}-{c.get('n')}" if nearest else f"cite-{turn}-{c.get('n')}"
    return (
        f'<div class="cite-card{" nearest" if nearest else ""}" id="{anchor}" tabindex="-1">'
        f'<div class="cite-head"><span class="cite-n">[{esc(c.get("n"))}]</span> {label}</div>'
        f'<div class="cite-text">{body}</div>'
        f'<div class="cite-src">来源：{esc(c.get("source"))}{esc(_when(c))} · 段落 {esc(c.get("chunk_id"))}</div></div>'
    )


def _when(c: dict[str, Any]) -> str:
    """「 · 2024年第5期 · 2024-05-20」: the document's issue and date (a date from the file's time is
    marked as such).

    >>> _when({"date": "2024-05-20", "date_source": "header", "issue": "2024年第5期"}), _when({"date": "2026-12-02", "date_source": "mtime"})
    (' · 2024年第5期 · 2024-05-20', ' · 2026-12-02（文件时间）')
    >>> _when({"date": "2024-03-01", "date_source": "text"}), _when({"date": "2024-01-01", "date_source": "text"})
    (' · 2024年3月（据正文）', ' · 2024年（据正文）')
    """
    date = c.get("date") or ""
    if date and c.get("date_source") == "mtime":
        date += "（文件时间）"
    elif date and c.get("date_source") == "text":
        # A date read from the body is a month (the latest stated) or a year (the most stated).
        y, m = int(date[:4]), int(date[5:7])
        date = (f"{y}年" if date.endswith("-01-01") else f"{y}年{m}月") + "（据正文）"
    return "".join(f" · {x}" for x in (c.get("issue") or "", date) if x)


def turn_html(turn: int, answer: dict[str, Any]) -> str:
    if answer.get("refused"):
        near = answer.get("nearest") or []
        if not near:
            return '<p class="cite-empty">简报中未找到相关段落。</p>'
        return ('<p class="cite-note">未找到答案。以下是最接近的段落：</p>'
                + "".join(_card(c, turn, [], nearest=True) for c in near))
    phrases = answered_phrases(answer.get("answer", ""))
    cards = "".join(_card(c, turn, phrases) for c in answer.get("citations") or [])
    return cards or '<p class="cite-empty">该回答没有引用段落。</p>'


EMPTY_PANEL = '<div class="cite-panel"><p class="cite-empty">提问后，这里会列出回答引用的简报段落。</p></div>'


def citations_panel(turns: list[dict[str, Any]]) -> str:
    """Side panel: the latest answer's passages open, earlier turns folded (so every [n] link resolves)."""
    if not turns:
        return EMPTY_PANEL
    parts = ['<div class="cite-panel">']
    for i in range(len(turns) - 1, -1, -1):
        answer = turns[i]
        turn = i + 1
        title = f"第 {turn} 问：{esc(answer.get('question', ''))[:120]}"
        state = "refused" if answer.get("refused") else "answered"
        open_attr = " open" if i == len(turns) - 1 else ""
        parts.append(
            f'<details class="cite-turn {state}" id="turn-{turn}"{open_attr}><summary>{title}</summary>'
            f"{turn_html(turn, answer)}</details>"
        )
    parts.append("</div>")
    return "".join(parts)
