"""Ablations: does each kept rule or word list earn its place on the dev sets?

Every mechanism that is not learned (a data file of words, a calibrated weight, a filter) is
switched off in turn and the product configuration is run on every dev set.  A mechanism stays
only when it helps on at least two sets and costs none (DEVELOPERS.md).  Writes
``evals/reports/ablations.md``.

    python benchmarks/ablations.py [--dataset bulletins --dataset zone-dev ...] [--only NAME]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.calibrate import simulate  # noqa: E402
from evals.cli import CALIBRATION_SETS  # noqa: E402
from evals.datasets import SHARED_DATASETS, DatasetError, load_questions, resolve  # noqa: E402
from evals.runner import PRIMARY, evaluate  # noqa: E402
from settings import load_settings  # noqa: E402


@contextlib.contextmanager
def patched(target: str, value) -> Iterator[None]:
    with mock.patch(target, value):
        yield


def switched_off(flag: str, why: str) -> tuple[str, Callable[[], contextlib.AbstractContextManager], dict]:
    """An ablation that sets a module's boolean switch (``package.module.NAME``) to False."""
    return why, lambda: patched(flag, False), {}


@contextlib.contextmanager
def _no_era_years() -> Iterator[None]:
    """No era names and no 公元/西元 years (the time parser's pattern is cached: rebuilt on both sides)."""
    from index import periods

    periods._pattern.cache_clear()
    periods._era_re.cache_clear()
    with mock.patch("index.periods._eras", lambda: {"\0": (1, None)}), \
            mock.patch("index.periods.COMMON_ERA", "\0"):
        yield
    periods._pattern.cache_clear()
    periods._era_re.cache_clear()


@contextlib.contextmanager
def _modern_years_only() -> Iterator[None]:
    """Years only from 1900 to 2099, as before (the time parser's pattern is cached: rebuilt on both sides)."""
    from index import periods

    periods._pattern.cache_clear()
    with mock.patch("index.periods.YEAR", r"(?:19|20)\d{2}"), \
            mock.patch("assistant.condense.YEAR_RE", re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")):
        yield
    periods._pattern.cache_clear()


def _names_edition(text: str, end: int) -> bool:
    from assistant.features import names_edition

    return names_edition(text, end)


def _no_outline() -> contextlib.AbstractContextManager:
    return patched("assistant.chain.BulletinAssistant._outline_answer", lambda self, turn: None)


ABLATIONS: dict[str, tuple[str, Callable[[], contextlib.AbstractContextManager] | None, dict]] = {
    "product": ("everything on (the shipped defaults)", None, {}),
    "no-support": ("cross-document answer support off (BULLETIN_SUPPORT_WEIGHT=0)", None, {"support_weight": 0.0}),
    "no-colloquial": ("colloquial → report words (assistant/data/colloquial.tsv) off",
                      lambda: patched("assistant.query.colloquial", lambda: ()), {}),
    "no-head-nouns": ("head nouns of questions without a question word off",
                      lambda: patched("assistant.query.head_nouns", lambda: ()), {}),
    "no-junk-filter": ("candidate filter of date-only clauses off",
                       lambda: patched("assistant.candidates._quotable", lambda text: True), {}),
    "no-outline": ("structure answers from the 【section】/一是 outline off", _no_outline, {}),
    "no-metric": ("metric-modifier constraint (MetricAsked: 工业投资增速 needs 工业, 投资) off",
                  lambda: patched("assistant.constraints.METRIC_CONSTRAINT", False), {}),
    "no-asking": ("question-clause constraint (Asking: a clause that asks, 「…是什么」, answers nothing) off",
                  lambda: patched("assistant.constraints.ASKING_CONSTRAINT", False), {}),
    "no-ordinal": ("ordinal constraint (OrdinalAsked: 第一棒 is not answered by 第19棒) off",
                   lambda: patched("assistant.constraints.ORDINAL_CONSTRAINT", False), {}),
    "untyped-support": ("answer support voted by every entity and figure, not only those of the asked type",
                        lambda: patched("assistant.features.TYPED_SUPPORT", False), {}),
    "passage-support": ("answer support counts other passages, not other documents (a bulletin confirming itself)",
                        lambda: patched("assistant.features.SUPPORT_BY_DOCUMENT", False), {}),
    "no-rerank": ("heuristic rerank (place/period/term/unit evidence) off", None, {"rerank": "none"}),
    "mtime-year": ("a date from the file's mtime counts as the report's year for the year and period constraints",
                   lambda: patched("assistant.constraints._doc_year", _any_doc_year), {}),
    "no-day-in-span": ("a day inside the asked month or span (8月7日 for 2023年8月) contradicts it",
                       lambda: patched("index.periods.DAY_WITHIN_SPAN", False), {}),
    "no-comparison-base": ("a period after 比/较 (「比上年同期增长39%」) counts as a period the text reports on",
                           lambda: patched("index.periods.COMPARISON_BASE", False), {}),
    "no-counted-head": ("any count answers 「多少个X」 even where the sentence does not name X (8条生产线, 两个重点项目之一 "
                        "for 多少个岗位)",
                        lambda: patched("assistant.features.COUNTED_HEAD", False), {}),
    "no-precise-figure": ("a rough figure (逾285亿元) is quoted even where another top clause states it exactly (285.49亿元)",
                          lambda: patched("assistant.extractive.PRECISE_FIGURE", False), {}),
    "no-rate-verb": ("「年处理」「亩产」 do not state a figure per 年 / 亩 (only 每年, /年, 年均, 年度 do)",
                     lambda: patched("assistant.constraints.states_rate", lambda per, tagged: False), {}),
    "no-antecedent": ("MetricAsked looks in the figure's own sentence only, not in the one 「该项目」 points back to",
                      lambda: patched("assistant.constraints.refers_back", lambda text: False), {}),
    "no-fill-depth": ("passages ruled out by a passage-level constraint leave the answerer fewer than its depth to read",
                      lambda: patched("assistant.extractive.FILL_DEPTH", False), {}),
    "modern-years-only": ("a year is 1900–2099 only: 「1388年」「1941年」 are no periods", _modern_years_only, {}),
    "no-era-years": ("no years of an era (民国十六年, 昭和49年) or of the common era (公元前221年, 西元337年): "
                     "only four-digit years", _no_era_years, {}),
    "edition-any-noun": ("a year before any noun names an edition and dates nothing (「1932年富兰克林…当选」), not only "
                         "one of what the question asks about", lambda: patched("assistant.constraints.edition_asked",
                                                                               lambda text, end, question, names=(): _names_edition(text, end)), {}),
    "who-quote-alone": ("a 谁 / 哪家 answer whose quote points back (「他提出…」「与该公司签订…」) is quoted alone, "
                      "without the sentence naming who", lambda: patched("assistant.extractive.ANTECEDENT", False), {}),
    "editions-of-people": ("a year before a person or a place the question names is an edition of them and dates nothing "
                           "(「1284年元世祖再派…」 does not say when 元世祖 did)",
                           lambda: patched("assistant.features.NAMES_END_EDITIONS", False), {}),
    "cite-before-mark": ("the [n] of a quoted sentence goes before its closing 「。」, which the quote drops",
                         lambda: patched("assistant.extractive.SENTENCE_CLOSE", ""), {}),
    "ordinal-as-amount": ("「第几」 asks an amount like 「多少」: 「全美第五」 does not answer 「名列第几」, 「学生1000余名」 does",
                          lambda: patched("assistant.constraints.ORDINAL_ANSWERS", False), {}),
    "numbered-times-only": ("「何时」 is answered only by a time with a number: 「东汉时期」「清末民初」 are none",
                            lambda: patched("assistant.constraints.NAMED_TIMES", False), {}),
    "no-general-measure": ("「多少个」 needs a figure counted with 个, not any measure word (2000人)",
                           lambda: patched("assistant.features.GENERAL_MEASURE_WORD", "\0"), {}),
    "no-after-modifiers": ("the name after the question word does not qualify the counted thing "
                           "(「多少项央企项目」 is answered by any count of 项目)",
                           lambda: patched("assistant.features.AFTER_MODIFIERS", False), {}),
    "no-governing-period": ("a sentence stating no period is not read in the span its article set off before "
                            "(「上半年，…。全区完成…109.6亿元」 answers 「一季度…」)",
                            lambda: patched("assistant.constraints.GOVERNING_PERIOD", False), {}),
    "member-as-group": ("a member's figure (「12个项目中，长电科技…项目的投资额」) may be answered by the group's total "
                        "or by a list naming the member among others",
                        lambda: patched("assistant.constraints.MEMBER_CONSTRAINT", False), {}),
    "region-as-modifier": ("地区 / 区域 in a metric's name must be said beside the figure (「全市地区生产总值」 is not "
                           "answered by 「全市生产总值」)", lambda: patched("assistant.features.REGION_WORDS", False), {}),
    "no-asked-head": ("the selector's residual off: the kind a 什么 / 哪 question asks for (「什么调度办法」) "
                      "is not looked for in the clause", lambda: patched("assistant.features.ASKED_HEAD", False), {}),
    "no-counted-which": ("a count after the which-word hides the asked kind (「哪四个领域」 asks for no head)",
                         lambda: patched("assistant.features.COUNTED_WHICH", False), {}),
    "no-list-enumeration": switched_off(
        "assistant.extractive.LIST_ENUMERATION", "a list question's answer is its best sentence alone, with no "
        "enumeration of the asked kind from the same article (「…分为哪几类」 answered by the lead sentence)"),
    "no-asks-in-a-series": switched_off(
        "assistant.query.ASKS_IN_A_SERIES", "two asks joined by 、 (「投资多少、占地多少亩」) are one question, "
        "answered by one clause"),
    "any-figure-covers": switched_off(
        "assistant.chain.METRIC_COVERED", "a compound question's figure part counts as answered by an earlier part "
        "holding any figure of its kind, whatever it measures (「投资8亿元」 for 「新增年产值多少」)"),
    "bare-figures-refine": switched_off(
        "assistant.extractive.ABOUT_REFINES", "only a figure without 约/超过 may replace a rough one in the quote "
        "(「超过1500亿元」 stays though 「约1548.2亿元」 is in the article)"),
    "shared-words-cover": switched_off(
        "assistant.chain.DISTINCT_WORDS_COVER", "a draft covers a compound question's part when it says most of that "
        "part's words, the subject all parts share included (the lead naming 天合光能 covers 「…什么时候开工建设的」)"),
    "carried-period-for-when": switched_off(
        "assistant.chain.OWN_PERIOD_FOR_WHEN", "a when-part of a compound question is bounded by the period an "
        "earlier part names (「8月1日下线的…？…什么时候开工的？」 cannot be answered by 2022年7月)"),
    "member-needs-of": switched_off(
        "assistant.constraints.MEMBER_WITHOUT_OF", "a member's figure is recognised only in 「…中，X的…多少」: "
        "「95项重点项目中，京雄商铁路（北京段）总投资是多少」 may be answered by the group's total"),
    "no-introduced-lists": switched_off(
        "assistant.lists.LIST_INTRODUCED", "an enumeration must name the asked kind in two of its items; a list "
        "introduced by the kind (「分五个组成部分：A、B…」) or doing what the question asks (「A、B分别作表态发言」) is none"),
}


def _any_doc_year(p) -> int | None:
    """The year of any date a passage carries, the file's mtime included (before 2026-12-06)."""
    return int(p.hit.chunk.date[:4]) if p.hit.chunk.date else None


def score(questions, run) -> tuple[float, float]:
    """(fact accuracy over answerable questions, (facts + traps refused) / questions)."""
    answerable = [q for q in questions if not q.get("unanswerable")]
    facts = sum(simulate(q, run[q["id"]], 0.0)[0] for q in answerable if q["id"] in run)
    total = sum(simulate(q, run[q["id"]], 0.0)[0] for q in questions if q["id"] in run)
    return facts / max(len(answerable), 1), total / max(len(questions), 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", action="append", help=f"dev sets (default: {', '.join(CALIBRATION_SETS)})")
    p.add_argument("--only", action="append", choices=list(ABLATIONS), help="run only these ablations (repeatable)")
    p.add_argument("--out", type=Path, default=ROOT / "evals" / "reports" / "ablations.md")
    args = p.parse_args(argv)
    settings = load_settings()
    names = args.dataset or list(CALIBRATION_SETS)
    datasets = []
    for name in names:
        try:
            datasets.append(resolve(name))
        except DatasetError as exc:
            if name not in SHARED_DATASETS:
                raise
            print(f"skipped {name}: {exc}", file=sys.stderr)
    rows = []
    for key in args.only or list(ABLATIONS):
        what, patch, overrides = ABLATIONS[key]
        s = settings.model_copy(update=overrides)
        cells = {}
        with patch() if patch else contextlib.nullcontext():
            for ds in datasets:
                data = evaluate(s, ds, [PRIMARY], show_progress=False, keep_run=True)
                cells[ds.name] = score(load_questions(ds.questions), data["results"][PRIMARY]["run"])
        rows.append((key, what, cells))
        print(key, {k: f"{v[0]:.3f}/{v[1]:.3f}" for k, v in cells.items()}, flush=True)
    base = dict(rows[0][2]) if rows and rows[0][0] == "product" else {}
    lines = [
        "# Ablations (`python benchmarks/ablations.py`)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')}, product configuration, calibrated threshold. Each cell: fact accuracy "
        "on answerable questions / (facts found + traps refused) ÷ questions; in brackets the change of the second "
        "number against the product. A mechanism stays when switching it off costs on at least two sets and gains on none.",
        "",
        "| ablation | what is off | " + " | ".join(d.name for d in datasets) + " |",
        "|---|---|" + "---:|" * len(datasets),
    ]
    for key, what, cells in rows:
        def cell(name: str, cells=cells, key=key) -> str:
            fa, total = cells[name]
            delta = "" if key == "product" or name not in base else f" ({total - base[name][1]:+.3f})"
            return f"{fa:.3f} / {total:.3f}{delta}"

        lines.append(f"| {key} | {what} | " + " | ".join(cell(d.name) for d in datasets) + " |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
