"""Eval corpora assembled on first use from ``../shared``, into folders outside the repository.

The texts they hold are evaluation data (CRUD-RAG news, MRC paragraphs) that must never be
copied into the repository, so each dataset names its sources (ids, a split rule) and this
module writes them out where the index builder can read them:

* ``multi-issue`` — the dated corpus of ``evals.multi_issue`` (seed, zone-dev, dated news);
* ``zone-holdout`` to ``zone-holdout5`` — the 25 CRUD-RAG
  reports each one's ``evals/datasets/zone_holdout*_sources.json`` lists, on which its questions
  were written blind;
* ``mrc-held`` — the paragraphs and questions of the MRC articles the answer selector holds
  aside (``assistant.selector.mrc.split_of``): a public reading-comprehension set the selector
  never trained on, answered end to end (retrieval over all held-aside paragraphs, then the
  answer), so a reader change is measured on more than RGB-zh's 192 questions.

A folder is complete when its marker holds the recipe it was made by; an interrupted or
outdated one is made again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
NEWS = SHARED / "eval-data" / "crud-news" / "corpus_68k.jsonl.gz"
ZONE_HOLDOUT_SOURCES = REPO / "evals" / "datasets" / "zone_holdout_sources.json"
# dataset -> the file listing the CRUD-RAG ids its corpus is made of
NEWS_SOURCES = {"zone-holdout": ZONE_HOLDOUT_SOURCES,
                "zone-holdout2": REPO / "evals" / "datasets" / "zone_holdout2_sources.json",
                "zone-holdout3": REPO / "evals" / "datasets" / "zone_holdout3_sources.json",
                "zone-holdout4": REPO / "evals" / "datasets" / "zone_holdout4_sources.json",
                "zone-holdout5": REPO / "evals" / "datasets" / "zone_holdout5_sources.json"}
MARKER = ".assembled"  # written last, holding the recipe


class AssemblyError(FileNotFoundError):
    """The shared data a dataset is assembled from is missing; the message says which."""


def crud_articles(ids: Iterable[str], path: Path | None = None) -> dict[str, str]:
    """The texts of these CRUD-RAG ids (one pass over the 68k-article file)."""
    wanted = set(ids)
    path = path or NEWS
    if not path.is_file():
        raise AssemblyError(f"needs {path} (../shared/eval-data/crud-news, evaluation data)")
    found: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if len(found) == len(wanted):
                break
            record = json.loads(line)
            if record["id"] in wanted:
                found[record["id"]] = record["text"]
    missing = sorted(wanted - set(found))
    if missing:
        raise AssemblyError(f"{len(missing)} article ids are not in {path}: {', '.join(missing[:3])}…")
    return found


def file_name(crud_id: str) -> str:
    """A file name for a CRUD-RAG id.

    >>> file_name("crud:documents_dup_part_10_part_1:1475")
    'documents-dup-part-10-part-1-1475.txt'
    """
    _, part, n = crud_id.split(":")
    return f"{part.replace('_', '-')}-{n}.txt"


def _news(name: str) -> Callable[[Path], None]:
    """The builder of a corpus of the CRUD-RAG articles ``NEWS_SOURCES[name]`` lists."""

    def build(out: Path) -> None:
        ids = json.loads(NEWS_SOURCES[name].read_text(encoding="utf-8"))["ids"]
        for crud_id, text in crud_articles(ids).items():
            (out / file_name(crud_id)).write_text(text, encoding="utf-8")

    return build


def _mrc_held(out: Path) -> None:
    from assistant.selector.mrc import MRC_DIR, MRCDataError, load, split_of

    try:
        paragraphs = [p for p in load(MRC_DIR) if split_of(p.article) == "held"]
    except MRCDataError as exc:
        raise AssemblyError(str(exc)) from exc
    corpus = out / "corpus"
    corpus.mkdir()
    with (out / "questions.jsonl").open("w", encoding="utf-8") as fh:
        for p in paragraphs:
            (corpus / f"{p.id}.txt").write_text(p.context, encoding="utf-8")
            for q in p.questions:
                # One required fact, the gold answer (CMRC's alternatives are not kept by ``load``).
                record = {"id": q.id, "question": q.question, "answers": [[q.answer]], "source": p.id}
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def _multi_issue(out: Path) -> None:
    from evals.multi_issue import assemble

    try:
        assemble(out)
    except FileNotFoundError as exc:
        raise AssemblyError(str(exc)) from exc


def _recipe(name: str) -> str:
    """What a folder was made from: the dataset, and the file that lists its sources."""
    sources = NEWS_SOURCES.get(name)
    digest = hashlib.sha1(sources.read_bytes()).hexdigest()[:12] if sources else "1"
    return f"{name}:{digest}"


BUILDERS: dict[str, Callable[[Path], None]] = {
    "multi-issue": _multi_issue, "mrc-held": _mrc_held, **{name: _news(name) for name in NEWS_SOURCES},
}


def ensure(name: str, out: Path) -> Path:
    """``out`` holding dataset ``name``'s assembled files, made now unless already complete."""
    recipe = _recipe(name)
    marker = out / MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == recipe:
        return out
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        BUILDERS[name](tmp)
        (tmp / MARKER).write_text(recipe + "\n", encoding="utf-8")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
