"""``python -m index build|stats|search`` — build and inspect the bulletin index."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from index.builder import Builder
from index.errors import BulletinIndexError
from index.fusion import fuse
from index.store import BulletinIndex, Filter


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m index", description="Build and inspect the bulletin index.")
    p.add_argument("--collection", help="collection name (default: BULLETIN_COLLECTION or 'bulletins')")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="index a corpus folder, a file, or a jsonl of {id,text} passages")
    b.add_argument("path", nargs="?", type=Path, help="default: BULLETIN_CORPUS_DIR (corpus/)")
    b.add_argument("--rebuild", action="store_true", help="drop the index and build it from scratch")
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    sub.add_parser("stats", help="what is in the index")
    s = sub.add_parser("search", help="debug view of a search: rank, score, source, city, section, text")
    s.add_argument("query")
    s.add_argument("--k", type=int, default=5)
    s.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid")
    s.add_argument("--city", default="", help="only passages of this city, e.g. 吕梁市")
    s.add_argument("--json", action="store_true")
    f = sub.add_parser("figures", help="the figure table: place, metric, value, unit, period, date, source")
    f.add_argument("--place", default="", help="place or zone the figures are about, e.g. 吕梁市")
    f.add_argument("--metric", default="", help="a word of the metric, e.g. 签约投资额")
    f.add_argument("--from", dest="date_from", default="", help="documents dated on or after (YYYY[-MM[-DD]])")
    f.add_argument("--to", dest="date_to", default="", help="documents dated up to (YYYY[-MM[-DD]])")
    f.add_argument("--limit", type=int, default=200)
    f.add_argument("--csv", action="store_true", help="CSV on stdout (UTF-8 with BOM, for Excel)")
    f.add_argument("--json", action="store_true")
    return p


FIGURE_FIELDS = ("entity", "metric", "value", "unit", "normalised", "base", "period", "date", "source", "chunk_id",
                 "start", "end", "text")


def _figures(index: BulletinIndex, args: argparse.Namespace) -> None:
    import csv

    rows, total = index.figures(args.place, args.metric, args.date_from, args.date_to, limit=args.limit)
    if args.csv:
        sys.stdout.write("\ufeff")
        out = csv.DictWriter(sys.stdout, fieldnames=FIGURE_FIELDS, extrasaction="ignore", lineterminator="\n")
        out.writeheader()
        out.writerows(r.to_dict() for r in rows)
    elif args.json:
        print(json.dumps({"total": total, "rows": [r.to_dict() for r in rows]}, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            print(f"{r.entity or '-'}\t{r.metric or '-'}\t{r.text}\t{r.period or '-'}\t{r.date or '-'}\t{r.source}")
    if not args.csv and not args.json:
        print(f"{len(rows)} of {total} rows" + (" (raise --limit for more)" if total > len(rows) else ""), file=sys.stderr)


def _search(index: BulletinIndex, args: argparse.Namespace) -> list[dict]:
    settings = index.settings
    flt = Filter(city=args.city)
    dense = index.dense(args.query, settings.dense_k, flt) if args.mode in ("hybrid", "dense") else []
    bm25 = index.keyword(args.query, settings.bm25_k, flt) if args.mode in ("hybrid", "bm25") else []
    ranked = fuse(dense, bm25, args.mode, settings.fusion, (settings.dense_weight, settings.bm25_weight), settings.rrf_k)
    rows = []
    for rank, (cid, score) in enumerate(ranked[: args.k], 1):
        chunk = index.chunk(cid)
        rows.append(
            {
                "rank": rank,
                "score": round(score, 4),
                "id": cid,
                "source": chunk.source,
                "city": chunk.city,
                "section": " · ".join(x for x in (chunk.section, chunk.item) if x),
                "text": chunk.display_text,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    from settings import SettingsError, load_settings

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    index = BulletinIndex(settings, collection=args.collection)
    try:
        if args.command == "build":
            path = args.path or settings.corpus_dir
            print(f"building index '{index.collection}' from {path} into {settings.chroma_url or settings.data_dir}", file=sys.stderr)
            report = Builder(index, show_progress=not args.quiet).build(path, rebuild=args.rebuild)
            print(report.summary())
        elif args.command == "stats":
            index.check()
            print(json.dumps(index.stats(), ensure_ascii=False, indent=2))
        elif args.command == "search":
            index.check()
            rows = _search(index, args)
            if args.json:
                print(json.dumps(rows, ensure_ascii=False, indent=2))
            elif not rows:
                print("no results")
            for r in [] if args.json else rows:
                print(f"#{r['rank']}  score {r['score']}  {r['source']}  {r['city'] or '-'}  {r['section'] or '-'}  [{r['id']}]")
                print(f"    {r['text']}\n")
        elif args.command == "figures":
            index.check()
            _figures(index, args)
    except (BulletinIndexError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        index.close()
    return 0
