"""Write an eval run as Markdown + JSON + a PNG chart, compared with the previous run."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

SHOWN = ("R@1", "R@5", "R@10", "MRR@10", "answer_hit@5", "fact_accuracy", "all_facts_accuracy", "citation_support",
         "unsupported_figure_rate", "refusal_precision", "refusal_recall", "refusal_f1")
CHARTED = ("R@1", "R@5", "MRR@10", "answer_hit@5", "fact_accuracy", "citation_support", "refusal_f1")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown" elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU ({cpu_model()}), Python {platform.python_version()}"


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _short(text: str, n: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def to_markdown(data: dict[str, Any], previous: dict[str, Any] | None) -> str:
    results = data["results"]
    configs = data["configs"]
    primary = data["primary"]
    lines = [
        f"# Eval report: {data['dataset']}",
        "",
        f"- date: {data['started']} ({data['seconds']} s)",
        f"- machine: {data.get('machine', machine())}",
        f"- command: `{data.get('command', '')}`",
        f"- questions: {data['n_questions']} from `{Path(data['questions_file']).name}`; corpus `{data['corpus']}`",
        f"- embedding model `{data['embed_model']}`, chunk_chars {data['chunk_chars']}, rerank `{data['rerank']}`, "
        f"refuse_below {data['refuse_below']}",
        "",
        "Retrieval hit = a retrieved chunk containing a gold span (passage-id match for RGB-zh); R@k is success@k.",
        "",
        "## Metrics per configuration",
        "",
        "| metric | " + " | ".join(configs) + (" | previous " + primary if previous else "") + " |",
        "|---|" + "---|" * len(configs) + ("---|" if previous else ""),
    ]
    prev_metrics = (previous or {}).get("results", {}).get(primary, {}).get("metrics", {})
    for key in SHOWN:
        row = [_fmt(results[c]["metrics"].get(key)) for c in configs]
        if previous:
            row.append(_fmt(prev_metrics.get(key)))
        lines.append(f"| {key} | " + " | ".join(row) + " |")
    m = results[primary]["metrics"]
    lines += [
        "",
        f"Counts ({primary}): {m.get('n_answerable')} answerable, {m.get('n_unanswerable')} unanswerable, "
        f"{m.get('n_answered')} answered, refusals tp/fp/fn = {m.get('refusal_tp')}/{m.get('refusal_fp')}/{m.get('refusal_fn')}, "
        f"{m.get('n_unsupported_figures')} unsupported of {m.get('n_figures')} figures.",
        "",
        "## Latency per stage (" + primary + ", ms)",
        "",
        "| stage | p50 | p95 | n |",
        "|---|---|---|---|",
    ]
    stages = sorted({k.split(".")[1] for k in m if k.startswith("latency.")})
    for stage in stages:
        lines.append(
            f"| {stage} | {_fmt(m.get(f'latency.{stage}.p50'))} | {_fmt(m.get(f'latency.{stage}.p95'))} | "
            f"{_fmt(m.get(f'latency.{stage}.n'))} |"
        )
    lines += ["", f"## Worst failures ({primary})", ""]
    failures = results[primary]["failures"]
    if not failures:
        lines.append("None.")
    for f in failures:
        lines.append(f"- **{f['id']}** {_short(f['question'], 80)}")
        lines.append(f"  - expected: {_short(f['expected'], 120)}")
        lines.append(f"  - got: {_short(f['got'], 160)}")
        if f.get("citations"):
            lines.append(f"  - citations: {', '.join(f['citations'])}")
        if f.get("first_relevant_rank") is not None:
            lines.append(f"  - first relevant chunk at rank {f['first_relevant_rank']}")
    lines.append("")
    return "\n".join(lines)


def chart(data: dict[str, Any], previous: dict[str, Any] | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = data["configs"]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / max(1, len(configs))
    for i, config in enumerate(configs):
        values = [data["results"][config]["metrics"].get(k) or 0.0 for k in CHARTED]
        xs = [x + i * width for x in range(len(CHARTED))]
        ax.bar(xs, values, width=width, label=config)
    if previous:
        prev = previous.get("results", {}).get(data["primary"], {}).get("metrics", {})
        offset = configs.index(data["primary"]) * width if data["primary"] in configs else 0
        xs = [x + offset for x in range(len(CHARTED))]
        ax.scatter(xs, [prev.get(k) or 0.0 for k in CHARTED], color="black", marker="_", s=300, zorder=5,
                   label=f"previous {data['primary']}")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(CHARTED))])
    ax.set_xticklabels(CHARTED)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{data['dataset']}: {data['n_questions']} questions ({data['started']})")
    ax.legend(fontsize=8, ncol=3, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(data: dict[str, Any], out_dir: Path) -> Path:
    """Write ``<dataset>.{md,json,png}`` and ``latest.*``; return the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {**data, "machine": machine(), "command": "python -m evals " + " ".join(shlex.quote(a) for a in sys.argv[1:])}
    stem = out_dir / data["dataset"]
    previous = None
    if stem.with_suffix(".json").exists():
        try:
            previous = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        except ValueError:
            previous = None
    slim = {**data, "results": {c: {k: v for k, v in r.items() if k != "rows"} for c, r in data["results"].items()}}
    markdown = to_markdown(data, previous)
    for target in (stem, out_dir / "latest"):
        target.with_suffix(".json").write_text(json.dumps(slim, ensure_ascii=False, indent=1), encoding="utf-8")
        target.with_suffix(".md").write_text(markdown.replace("(latest.png)", f"({target.name}.png)"), encoding="utf-8")
        chart(data, previous, target.with_suffix(".png"))
    return stem.with_suffix(".md")
