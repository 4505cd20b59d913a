"""``python -m assistant.selector train`` — rebuild the learned selector weights (fixed seed).

Writes ``assistant/data/selector/{ranker.txt,answerability.txt,meta.json}`` and records the run
(data hashes, time, held-aside scores) in ``benchmarks/RESULTS.md``.  Needs
``../shared/train-data/mrc`` and the default embedding model (``make model``); takes about a
quarter of an hour on 2 cores.  ``train --residual-only`` keeps the shipped ranker and
answerability model and fits only the residual's weights (about 9 minutes): how the shipped
weights were made.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

from assistant.selector import WEIGHTS_DIR

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "RESULTS.md"
SECTION = "## Answer selector (python -m assistant.selector train)"


def results_section(meta: dict) -> str:
    held = meta["held_aside"]
    rows = [f"| {name} | {held[name]['clause_accuracy']:.3f} | {held[name]['quote_holds_answer']:.3f} |"
            for name in ("selector", "ranker without the residual", "e5_clause only", "cov_clause only") if name in held]
    residual = meta.get("residual") or {"features": [], "weights": []}
    base = meta.get("base")
    fitted = (f"The rankers and the answerability model are `{base['version']}` (`{base['command']}`, trained "
              f"{base['trained']} for `{base['features_version']}`); this run fitted only the residual. " if base else "")
    data = "; ".join(f"{name} sha256 {d['sha256_16']}… ({d['licence']})" for name, d in meta["data"].items())
    return "\n".join([
        SECTION,
        "",
        f"Trained {meta['trained']} in {meta['seconds']} s (`{meta['command']}`, seed {meta['seed']}, LightGBM "
        f"{meta['lightgbm']}: a LambdaRank ranker of {meta['rounds']['ranker']} rounds and an answerability model of "
        f"{meta['rounds']['answerability']} rounds{_folds(meta)}, {len(meta['features'])} features "
        f"`{meta['features_version']}`), "
        f"weights `{meta['version']}`. Data: {data}. Split: {meta['split']}; {meta['groups']['train']} training and "
        f"{meta['groups']['held']} held-aside groups, {meta['rows']} candidate rows.",
        "",
        f"{fitted}Residual (features added after the ranker, fitted with it frozen on cross-fitted scores): "
        + (", ".join(f"`{n}` {w:+.3f}" for n, w in zip(residual["features"], residual["weights"])) or "none") + ".",
        "",
        f"Held-aside articles ({held['questions']} questions; the gold clause is among the quotable candidates of the "
        f"top 8 retrieved passages for {held['gold_among_candidates']:.3f} of them). Clause accuracy: the top-ranked "
        "clause is the gold one; quote holds answer: the sentence the answerer would quote contains the gold answer.",
        "",
        "| scorer | clause accuracy | quote holds answer |",
        "|---|---:|---:|",
        *rows,
        "",
        f"Answerability (is the best clause the gold one): AUC {held['answerability_auc']}; no-answer separation "
        f"(gold paragraph retrieved vs. not): AUC {held['no_answer_auc']} over {held['noanswer_groups']} no-answer "
        "groups. Spans inside the clause are not predicted, so span EM/F1 do not apply.",
        "",
    ])


def _folds(meta: dict) -> str:
    folds = meta.get("answerability_folds", 1)
    return f" learned from {folds}-fold cross-fitted ranker scores" if folds > 1 else " learned from the ranker's own scores"


def record(meta: dict, path: Path = RESULTS) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    section = results_section(meta)
    pattern = re.compile(re.escape(SECTION) + r".*?(?=\n## |\Z)", re.S)
    text = pattern.sub(lambda _m: section.rstrip("\n") + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    from assistant.selector import SelectorError
    from assistant.selector.mrc import MRCDataError
    from assistant.selector.train import train
    from settings import SettingsError, load_settings

    p = argparse.ArgumentParser(prog="python -m assistant.selector", description="The learned answer selector.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="rebuild the weights from ../shared/train-data/mrc (fixed seed)")
    t.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="where the weights go (default: the shipped ones)")
    t.add_argument("--limit", type=int, help="only the first N questions (a quick check, not for shipping)")
    t.add_argument("--no-record", action="store_true", help="do not update benchmarks/RESULTS.md")
    t.add_argument("--ensemble", type=int, default=1, help="rankers to train with seeds seed, seed+1, … and average (default 1)")
    t.add_argument("--folds", type=int, default=5,
                   help="cross-fitting folds for the answerability model's ranker scores (1: in-sample scores)")
    t.add_argument("--feature-cache", type=Path,
                   help="save the training groups here, or reuse them if present (only the learner changes; not for shipping)")
    t.add_argument("--near-negatives", action="store_true",
                   help="no-answer groups for half the questions from their own article without the answer "
                        "(tried, not shipped: benchmarks/RESULTS.md)")
    t.add_argument("--residual-only", action="store_true",
                   help="keep the rankers and answerability model of --base and fit only the residual's weights "
                        "(features added since they were trained)")
    t.add_argument("--base", type=Path, default=WEIGHTS_DIR, help="with --residual-only: the weights kept (default: the shipped ones)")
    sub.add_parser("info", help="show the shipped weights' version and scores")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.command == "info":
        print((WEIGHTS_DIR / "meta.json").read_text(encoding="utf-8"))
        return 0
    try:
        settings = load_settings()
        if args.ensemble < 1:
            print("error: --ensemble must be 1 or more", file=sys.stderr)
            return 2
        if args.folds < 1:
            print("error: --folds must be 1 or more", file=sys.stderr)
            return 2
        meta = train(settings, args.out, limit=args.limit, cache=args.feature_cache, ensemble=args.ensemble,
                     folds=args.folds, near=args.near_negatives, residual_on=args.base if args.residual_only else None)
    except (SettingsError, MRCDataError, SelectorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.no_record and args.out == WEIGHTS_DIR:
        record(meta)
    print(json.dumps({k: meta[k] for k in ("version", "held_aside", "seconds")}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
