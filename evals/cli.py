"""``python -m evals run|gate|import-feedback``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from assistant.selector import SelectorError
from evals.datasets import REPO, SHARED_DATASETS, DatasetError, resolve
from evals.runner import CONFIG_NAMES, PRIMARY, evaluate
from index.errors import BulletinIndexError

THRESHOLDS = REPO / "evals" / "thresholds.json"
# The dev sets the refusal threshold is calibrated on: each has traps as well as answerable questions
# but RGB-zh (news), and none is a held-out set.  mrc-held has no traps, so it would only ever argue
# for answering everything; it is measured, not calibrated on.
CALIBRATION_SETS = ("bulletins", "holdout", "zone-dev", "zone-holdout", "rgb-zh")
# For these, lower is better; every other gated metric must stay at or above its threshold.
LOWER_IS_BETTER = ("unsupported_figure_rate",)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evals", description="Evaluate the bulletin assistant.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run configurations side by side and write a report")
    r.add_argument("--dataset", default="bulletins", help="bulletins | holdout | rgb-zh | PATH to a question jsonl")
    r.add_argument("--corpus", help="a folder of bulletins, or a jsonl of {id,text} passages (default: the dataset's)")
    r.add_argument("--config", action="append", choices=[*CONFIG_NAMES, "all"],
                   help="configuration(s) to run (repeatable; default: all)")
    r.add_argument("--run-out", type=Path, help=f"write the {PRIMARY} run, one JSON line per question")
    r.add_argument("--report-dir", type=Path, default=REPO / "evals" / "reports", help="where reports go")
    r.add_argument("--no-report", action="store_true", help="print metrics only")
    r.add_argument("--quiet", action="store_true")
    g = sub.add_parser("gate", help="fail (exit 1) when the product config regresses below evals/thresholds.json")
    g.add_argument("--dataset", action="append",
                   help="dataset(s) to gate (repeatable; default: every dataset of the thresholds file)")
    g.add_argument("--thresholds", type=Path, default=THRESHOLDS)
    g.add_argument("--quiet", action="store_true")
    c = sub.add_parser("calibrate", help="choose the refusal threshold on several dev sets at once")
    c.add_argument("--dataset", action="append", help=f"dataset(s) (default: {', '.join(CALIBRATION_SETS)})")
    c.add_argument("--report", type=Path, default=REPO / "evals" / "reports" / "calibration.md")
    c.add_argument("--support-weights", default="0,1,2,3", help="answer-support weights to try (comma-separated)")
    c.add_argument("--dense-weights", default="", help="fusion dense weights to try, BM25 = 1 − dense (default: the "
                   "current BULLETIN_DENSE_WEIGHT only)")
    c.add_argument("--quiet", action="store_true")
    x = sub.add_parser("figures", help="precision and recall of the figure table on hand-labelled figures")
    x.add_argument("--labels", type=Path, default=REPO / "evals" / "figures" / "labels.jsonl")
    x.add_argument("--report", type=Path, default=REPO / "evals" / "reports" / "figures.md")
    m = sub.add_parser("multi-issue", help="assemble a dated multi-document corpus from ../shared (evaluation only)")
    m.add_argument("--out", type=Path, required=True, help="where to write the corpus (outside the repository)")
    m.add_argument("--per-zone", type=int, default=3, help="news articles per zone or place of a zone-dev report")
    m.add_argument("--report", type=Path, default=REPO / "evals" / "reports" / "multi_issue.md")
    f = sub.add_parser("import-feedback", help="turn 「答案有误」 feedback into eval cases to review")
    f.add_argument("--feedback", type=Path, help="feedback JSONL (default: BULLETIN_DATA_DIR/feedback.jsonl)")
    f.add_argument("--out", type=Path, default=REPO / "evals" / "datasets" / "feedback_cases.jsonl")
    return p


def _summary(data: dict) -> str:
    keys = ("R@1", "R@5", "MRR@10", "answer_hit@5", "fact_accuracy", "citation_support", "unsupported_figure_rate",
            "refusal_precision", "refusal_recall")
    rows = [f"{'config':<16}" + "".join(f"{k:>16}" for k in keys)]
    for name, result in data["results"].items():
        m = result["metrics"]
        rows.append(f"{name:<16}" + "".join(f"{'–' if m.get(k) is None else f'{m[k]:.3f}':>16}" for k in keys))
    return "\n".join(rows)


def gate(data: dict, thresholds: dict[str, float]) -> list[str]:
    """Regressions of the primary config against thresholds (empty list = pass)."""
    metrics = data["results"][data["primary"]]["metrics"]
    problems = []
    for key, limit in thresholds.items():
        value = metrics.get(key)
        if value is None:
            problems.append(f"{key}: not measured (threshold {limit})")
        elif key in LOWER_IS_BETTER and value > limit:
            problems.append(f"{key} = {value:.3f} > {limit}")
        elif key not in LOWER_IS_BETTER and value < limit:
            problems.append(f"{key} = {value:.3f} < {limit}")
    return problems


def main(argv: list[str] | None = None) -> int:
    from settings import SettingsError, load_settings

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "import-feedback":
            print(run_import_cmd(settings, args))
            return 0
        if args.command == "calibrate":
            print(run_calibrate(settings, args))
            return 0
        if args.command == "gate":
            return run_gate(settings, args)
        if args.command == "multi-issue":
            from evals.multi_issue import run as run_multi

            if args.out.resolve().is_relative_to(REPO):
                print(f"error: --out {args.out} is inside the repository; the news text must stay outside it",
                      file=sys.stderr)
                return 2
            print(run_multi(args.out, args.per_zone, args.report))
            print(f"report: {args.report}")
            return 0
        if args.command == "figures":
            from evals.figures import run as run_figures

            print(run_figures(args.labels, args.report))
            print(f"report: {args.report}")
            return 0
        dataset = resolve(args.dataset, getattr(args, "corpus", None))
        configs = list(CONFIG_NAMES) if not args.config or "all" in args.config else list(dict.fromkeys(args.config))
        data = evaluate(settings, dataset, configs, run_out=args.run_out, show_progress=not args.quiet)
        print(_summary(data))
        if not args.no_report:
            from evals.report import write

            print(f"report: {write(data, args.report_dir)}")
        return 0
    except (DatasetError, BulletinIndexError, SelectorError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run_gate(settings, args: argparse.Namespace) -> int:
    """Gate every dataset named (default: all in the thresholds file); a dataset read from
    ../shared that is absent is skipped with a message, a regression fails."""
    spec = {k: v for k, v in json.loads(args.thresholds.read_text(encoding="utf-8")).items() if not k.startswith("_")}
    names = args.dataset or list(spec)
    failed = False
    for name in names:
        try:
            dataset = resolve(name)
        except DatasetError as exc:
            if name in SHARED_DATASETS and not args.dataset:  # asked for by default, not by name
                print(f"eval gate skipped {name}: {exc}")
                continue
            raise
        name = dataset.name
        if name not in spec:
            print(f"error: {args.thresholds} has no thresholds for dataset {name!r}", file=sys.stderr)
            return 2
        data = evaluate(settings, dataset, [PRIMARY], show_progress=not args.quiet)
        print(f"[{name}]\n{_summary(data)}")
        problems = gate(data, spec[name])
        if problems:
            failed = True
            print(f"EVAL GATE FAILED on {name} (regression below evals/thresholds.json):\n  " + "\n  ".join(problems),
                  file=sys.stderr)
        else:
            print(f"eval gate passed: {len(spec[name])} thresholds on {name}")
    return 1 if failed else 0


def run_calibrate(settings, args: argparse.Namespace) -> str:
    from evals.calibrate import best, sweep
    from evals.datasets import load_questions

    names = args.dataset or list(CALIBRATION_SETS)
    weights = [float(w) for w in args.support_weights.split(",")]
    dense_weights = [float(w) for w in args.dense_weights.split(",")] if args.dense_weights else [settings.dense_weight]
    rows = []
    for dense in dense_weights:
        for weight in weights:
            free = settings.model_copy(update={"refuse_below": 0.0, "support_weight": weight, "dense_weight": dense,
                                               "bm25_weight": round(1.0 - dense, 4)})
            runs = {}
            for name in names:
                dataset = resolve(name)
                data = evaluate(free, dataset, [PRIMARY], show_progress=not args.quiet, keep_run=True)
                runs[dataset.name] = (load_questions(dataset.questions), data["results"][PRIMARY]["run"])
            rows += [{**r, "support_weight": weight, "dense_weight": dense}
                     for r in sweep(runs, [i / 100 for i in range(0, 61, 2)])]
    chosen = best(rows)
    lines = ["# Refusal threshold, answer-support and fusion weight calibration (`python -m evals calibrate`)", "",
             "Each dataset answered once per (dense weight, support weight) without a threshold; refusing below τ "
             "simulated. Score: (facts found on answerable questions + traps refused) / questions; the chosen triple "
             "maximises the mean over the datasets, so no set gains at another's expense. The BM25 weight is "
             "1 − dense weight.", "",
             "| dense weight | support weight | τ | " + " | ".join(f"{n} score / false refusals / traps refused" for n in names)
             + " | mean |",
             "|---:|---:|---:|" + "---|" * len(names) + "---:|"]
    for r in rows:
        cells = " | ".join(f"{r[n]['score']:.3f} / {r[n]['false_refusals']} / {r[n]['traps_refused']}" for n in names)
        mark = " **chosen**" if r is chosen else ""
        lines.append(f"| {r['dense_weight']:.2f} | {r['support_weight']:.2f} | {r['tau']:.2f}{mark} | {cells} | "
                     f"{r['mean']:.4f} |")
    lines += ["", f"Chosen: BULLETIN_DENSE_WEIGHT={chosen['dense_weight']}, "
              f"BULLETIN_BM25_WEIGHT={round(1.0 - chosen['dense_weight'], 4)}, "
              f"BULLETIN_SUPPORT_WEIGHT={chosen['support_weight']}, BULLETIN_REFUSE_BELOW={chosen['tau']} "
              "(settings.py defaults)."]
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"{lines[-1]}\nreport: {args.report}"


def run_import_cmd(settings, args: argparse.Namespace) -> str:
    from evals.feedback import run_import

    return run_import(args.feedback or settings.feedback_path, args.out)
