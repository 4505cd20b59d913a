"""``python -m assistant ask|chat`` — answer questions from the command line.

``ask "问题"`` prints one answer (``--json`` for the Answer JSON); ``ask --questions
FILE.jsonl --json`` answers every ``{"id", "question"}`` line with the model
loaded once, writing one JSON line per question on stdout (logs go to stderr);
``chat`` is an interactive REPL that keeps the conversation for follow-ups.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path
from typing import TextIO

from assistant.chain import BulletinAssistant, InvalidQuestionError
from assistant.selector import SelectorError
from assistant.types import Answer
from index.errors import BulletinIndexError


def date_prefix(text: str) -> str:
    """A date or its prefix as the index stores it (2024, 2024-05, 2024-05-20)."""
    if text.strip() and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text.strip()):
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    return text.strip()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m assistant", description="Ask the bulletin assistant.")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("ask", help="answer one question, or a jsonl file of questions")
    a.add_argument("question", nargs="?", help="the question, e.g. 吕梁市“三个一批”活动签约投资额是多少？")
    a.add_argument("--questions", type=Path, help='jsonl file of {"id", "question"[, "history"]} lines')
    a.add_argument("--json", action="store_true", help="print the Answer as JSON")
    a.add_argument("--k", type=int, help="passages given to the answerer (default BULLETIN_TOP_K)")
    a.add_argument("--city", default="", help="only passages of this city, e.g. 吕梁市")
    a.add_argument("--from", dest="date_from", default="", type=date_prefix,
                   help="only documents dated on or after (YYYY[-MM[-DD]])")
    a.add_argument("--to", dest="date_to", default="", type=date_prefix, help="only documents dated up to (YYYY[-MM[-DD]])")
    c = sub.add_parser("chat", help="interactive chat (follow-up questions use the history)")
    c.add_argument("--city", default="")
    c.add_argument("--k", type=int)
    return p


def render_text(answer: Answer) -> str:
    """Human-readable answer with its sources."""
    lines = [answer.text]
    shown = answer.citations or answer.nearest
    if shown:
        lines.append("")
        lines.append("来源：" if answer.citations else "最接近的段落：")
        for c in shown:
            excerpt = c.original if len(c.original) <= 160 else c.original[:158] + "…"
            lines.append(f"[{c.n}] {c.label}  ({c.source})")
            lines.append(f"    {excerpt}")
    if answer.unsupported_figures:
        lines.append(f"\n未核实的数字：{'、'.join(answer.unsupported_figures)}")
    if answer.fallback_reason:
        lines.append(f"\n（大模型不可用，已改用抽取式答案：{answer.fallback_reason}）")
    return "\n".join(lines)


def _json_line(answer: Answer, id: str | None = None) -> str:
    data = answer.to_json(id)
    data["citations"] = [
        {k: c[k] for k in ("n", "chunk_id", "text", "original", "source", "title", "city", "section", "score")}
        for c in data["citations"]
    ]
    return json.dumps(data, ensure_ascii=False)


def _batch(assistant: BulletinAssistant, path: Path, args: argparse.Namespace, out: TextIO) -> int:
    failures = 0
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                qid, question = str(record["id"]), record["question"]
            except (ValueError, KeyError, TypeError) as exc:
                print(f"error: {path}:{n}: expected a JSON object with 'id' and 'question' ({exc})", file=sys.stderr)
                failures += 1
                continue
            try:
                answer = assistant.ask(question, record.get("history") or [], args.city, args.k,
                                       getattr(args, "date_from", ""), getattr(args, "date_to", ""))
                out.write(_json_line(answer, qid) + "\n")
            except InvalidQuestionError as exc:
                print(f"error: {path}:{n} (id {qid}): {exc}", file=sys.stderr)
                out.write(json.dumps({"id": qid, "question": question, "error": str(exc)}, ensure_ascii=False) + "\n")
                failures += 1
            out.flush()
    return 1 if failures else 0


def _chat(assistant: BulletinAssistant, args: argparse.Namespace) -> int:
    history: list[str] = []
    print("简报问答（输入问题回车；空行或 Ctrl-D 退出；输入 /new 开始新对话）", file=sys.stderr)
    while True:
        try:
            print("问> ", end="", file=sys.stderr, flush=True)  # the prompt must not mix into piped answers
            question = input().strip()
        except (EOFError, KeyboardInterrupt):
            print(file=sys.stderr)
            return 0
        if not question:
            return 0
        if question == "/new":
            history = []
            continue
        try:
            answer = assistant.ask(question, history, args.city, args.k)
        except InvalidQuestionError as exc:
            print(f"错误：{exc}", file=sys.stderr)
            continue
        print(render_text(answer) + "\n")
        history.append(question)


def main(argv: list[str] | None = None) -> int:
    from settings import SettingsError, load_settings

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        assistant = BulletinAssistant(load_settings())
        if args.command == "chat":
            return _chat(assistant, args)
        if args.questions:
            assistant.warm_up()  # the first line answers as fast as the tenth (timings in the JSON)
            return _batch(assistant, args.questions, args, sys.stdout)
        if not args.question:
            print("error: give a question, or --questions FILE.jsonl", file=sys.stderr)
            return 2
        answer = assistant.ask(args.question, [], args.city, args.k, getattr(args, "date_from", ""), getattr(args, "date_to", ""))
        print(_json_line(answer) if args.json else render_text(answer))
        return 0
    except (BulletinIndexError, SelectorError, InvalidQuestionError, SettingsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
