"""``python -m index build|stats|search`` — build and inspect the bulletin index."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from index.builder import Builder
from index.errors import BulletinIndexError
from index.fusion import rrf, score_fusion
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
    return p


def _search(index: BulletinIndex, args: argparse.Namespace) -> list[dict]:
    settings = index.settings
    flt = Filter(city=args.city)
    dense = index.dense(args.query, settings.dense_k, flt) if args.mode in ("hybrid", "dense") else []
    bm25 = index.keyword(args.query, settings.bm25_k, flt) if args.mode in ("hybrid", "bm25") else []
    if args.mode == "dense":
        ranked = dense
    elif args.mode == "bm25":
        ranked = bm25
    elif settings.fusion == "rrf":
        ranked = rrf(
            [[i for i, _ in dense], [i for i, _ in bm25]], k=settings.rrf_k, weights=[settings.dense_weight, settings.bm25_weight]
        )
    else:
        ranked = score_fusion([dense, bm25], [settings.dense_weight, settings.bm25_weight], ["minmax", "max"])
    rows = []
    for rank, (cid, score) in enumerate(ranked[: args.k], 1):
        chunk = index.chunks[cid]
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
    except (BulletinIndexError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        index.close()
    return 0
