"""A dated multi-document corpus from real text, for trying many bulletins over time (evaluation only).

    python -m evals multi-issue --out DIR [--per-zone 3] [--report evals/reports/multi_issue.md]

Writes into ``DIR`` (never into the repository): the seed bulletin, the 28 zone-dev reports, and,
for each zone or place a zone-dev report is about, up to ``--per-zone`` dated CRUD-RAG news
articles that name it (``../shared/eval-data/crud-news``, skipping the ids of its
``reserved.txt``).  The news keep their dated header (「2023-08-16 18:24:57，正文：」), from which the
index dates them.  It then indexes ``DIR`` with the fake embedder (figures do not depend on
vectors) and reports what a many-issue corpus must have: documents per date, and the metrics of one
entity that two documents of different dates report (what 最新一期, trends and the newer-value
note are for).  The report holds counts, entity and metric names and dates, not the news text.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "eval-data"
ZONE_DEV = SHARED / "zone-dev" / "corpus"
NEWS = SHARED / "crud-news"


def subjects(text: str) -> list[str]:
    """What a report is about: the zones it names (孝义经开区), else its first county or city."""
    from index.gazetteer import gazetteer
    from index.lexicon import zone_names

    zones = list(dict.fromkeys(zone_names(text)))
    if zones:
        return zones[:2]
    g = gazetteer()
    places = [m.surface for m in g.find(text) if any(g.place(c).level in ("county", "city") for c in m.codes)]
    return places[:1]


def assemble(out: Path, per_zone: int = 3) -> dict[str, int]:
    """Write the corpus into ``out``; returns counts by kind of document."""
    if not ZONE_DEV.is_dir() or not (NEWS / "corpus_68k.jsonl.gz").is_file():
        raise FileNotFoundError(f"needs {ZONE_DEV} and {NEWS}/corpus_68k.jsonl.gz (../shared, evaluation data)")
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((REPO / "corpus").glob("*.txt")):
        shutil.copyfile(path, out / f"seed-{path.name}")
    wanted: dict[str, int] = {}
    for path in sorted(ZONE_DEV.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        (out / f"zone-dev-{path.name}").write_text(text, encoding="utf-8")
        for s in subjects(text):
            wanted.setdefault(s, per_zone)
    reserved = set((NEWS / "reserved.txt").read_text(encoding="utf-8").split())
    zone_dev_texts = {p.read_text(encoding="utf-8")[:200] for p in ZONE_DEV.glob("*.txt")}
    news = 0
    with gzip.open(NEWS / "corpus_68k.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            if not any(wanted.values()):
                break
            record = json.loads(line)
            text = record["text"]
            if record["id"] in reserved or text[:200] in zone_dev_texts or "正文" not in text[:200]:
                continue
            hit = next((s for s, left in wanted.items() if left and s in text), None)
            if hit is None:
                continue
            wanted[hit] -= 1
            name = "news-" + record["id"].split(":")[-2].replace("_", "-") + "-" + record["id"].split(":")[-1] + ".txt"
            (out / name).write_text(text, encoding="utf-8")
            news += 1
    return {"seed": len(list((REPO / "corpus").glob("*.txt"))), "zone-dev": len(list(ZONE_DEV.glob("*.txt"))),
            "news": news}


def repeated_metrics(corpus: Path) -> tuple[list[tuple[str, str, list[str]]], dict[str, int]]:
    """Index ``corpus`` (fake embedder) and list (entity, metric, dates) reported by documents of
    two or more dates; also the documents per year-month."""
    from index.builder import Builder
    from index.store import BulletinIndex, short_place
    from settings import Settings

    with tempfile.TemporaryDirectory(prefix="bulletin-multi-") as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), corpus_dir=corpus, embed_model="hashing")
        index = BulletinIndex(settings)
        try:
            Builder(index, show_progress=False).build(corpus)
            rows, _ = index.figures(limit=1_000_000)
            dates_of = {c.source: c.date for c in index.chunks.values()}
        finally:
            index.close()
    by_key: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for r in rows:
        if r.entity and len(r.metric) >= 3 and r.date:
            by_key[(short_place(r.entity), r.metric)].add((r.date, r.source))
    repeated = sorted(((e, m, sorted({d for d, _ in v})) for (e, m), v in by_key.items()
                       if len({d for d, _ in v}) >= 2 and len({s for _, s in v}) >= 2), key=lambda t: (t[0], t[1]))
    months: dict[str, int] = defaultdict(int)
    for d in dates_of.values():
        months[d[:7] or "undated"] += 1
    return repeated, dict(sorted(months.items()))


def run(out: Path, per_zone: int, report: Path | None) -> str:
    counts = assemble(out, per_zone)
    repeated, months = repeated_metrics(out)
    lines = [
        "# Multi-issue corpus (`python -m evals multi-issue`)", "",
        f"Documents: {counts['seed']} seed bulletin, {counts['zone-dev']} zone-dev reports, {counts['news']} dated "
        f"CRUD-RAG news articles naming the zones and places of the reports (up to {per_zone} each, reserved ids "
        "skipped). The corpus is written outside the repository; this report holds names, dates and counts only.", "",
        "| document month | documents |", "|---|---:|", *[f"| {m} | {n} |" for m, n in months.items()], "",
        f"Metrics of one entity reported by documents of two or more dates: {len(repeated)}.", "",
        "| entity | metric | document dates |", "|---|---|---|",
        *[f"| {e} | {m} | {', '.join(d)} |" for e, m, d in repeated[:40]], "",
    ]
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text("\n".join(lines), encoding="utf-8")
    return f"{sum(counts.values())} documents in {out}; {len(repeated)} metrics reported on two or more dates"
