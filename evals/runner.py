"""Run the assistant over a question set, one or several retrieval configurations side by side.

Configurations:

* ``dense`` / ``bm25`` — one retriever alone;
* ``hybrid-rrf`` — both fused by reciprocal-rank fusion (k=60, equal weights), no rerank;
* ``hybrid`` — both fused by the configured fusion (default: normalised scores), no rerank;
* ``hybrid+rerank`` — the product default (hybrid + the configured rerank);
* ``naive-langchain`` — the tutorial baseline: LangChain's RecursiveCharacterTextSplitter
  (1000/200) over the raw text, dense retrieval only; answered by the same extractive answerer
  so that only chunking and retrieval differ.

Every corpus is indexed into its own collection under the settings' data dir (reused across
runs; the embedding cache makes rebuilding cheap).
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from assistant.chain import BulletinAssistant
from assistant.retrieval import RetrievalConfig
from evals import metrics
from evals.datasets import Dataset, load_questions
from index.builder import Builder
from index.loaders import SkipFile, iter_corpus_files, read_text
from index.store import BulletinIndex
from settings import Settings


class ChunkTexts:
    """Chunk texts looked up by id through the index's narrow read API (``chunk(id)``), for the
    metrics' ``chunk_texts.get``: a lookup per judged id, not a copy of every chunk."""

    def __init__(self, index: BulletinIndex) -> None:
        self._index = index

    def get(self, chunk_id: str, default: str | None = None) -> str | None:
        chunk = self._index.chunk(chunk_id)
        return chunk.text if chunk is not None else default


CONFIG_NAMES = ("dense", "bm25", "hybrid-rrf", "hybrid", "hybrid+rerank", "naive-langchain")
PRIMARY = "hybrid+rerank"


def retrieval_config(name: str, settings: Settings) -> RetrievalConfig:
    base = RetrievalConfig.from_settings(settings)
    return {
        "dense": replace(base, mode="dense", rerank="none"),
        "bm25": replace(base, mode="bm25", rerank="none"),
        "hybrid-rrf": replace(base, mode="hybrid", fusion="rrf", dense_weight=1.0, bm25_weight=1.0, rerank="none"),
        "hybrid": replace(base, mode="hybrid", rerank="none"),
        "hybrid+rerank": base,
        "naive-langchain": replace(base, mode="dense", rerank="none"),
    }[name]


def _slug(path: Path, extra: str = "") -> str:
    digest = hashlib.sha1(f"{path.resolve()}|{extra}".encode()).hexdigest()[:10]
    return f"eval-{digest}"


def open_index(settings: Settings, dataset: Dataset, show_progress: bool = True) -> BulletinIndex:
    """The dataset's corpus, indexed (incrementally) into its own collection."""
    index = BulletinIndex(settings, collection=_slug(dataset.corpus))
    Builder(index, show_progress=show_progress).build(dataset.corpus)
    return index


def naive_chunks(corpus: Path) -> Iterable[dict[str, str]]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    if corpus.is_file() and corpus.name.endswith(".jsonl"):
        with corpus.open(encoding="utf-8") as fh:
            docs = [(json.loads(line)["id"], json.loads(line)["text"]) for line in fh if line.strip()]
    else:
        docs = []
        for path in iter_corpus_files(corpus):
            try:
                docs.append((path.name, read_text(path)))
            except SkipFile:
                continue
    for doc_id, text in docs:
        for n, piece in enumerate(splitter.split_text(text)):
            yield {"id": f"{doc_id}#{n}", "text": piece}


def open_naive_index(settings: Settings, dataset: Dataset, show_progress: bool = True) -> BulletinIndex:
    index = BulletinIndex(settings, collection=_slug(dataset.corpus, "naive-1000-200"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "naive.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for record in naive_chunks(dataset.corpus):
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        Builder(index, show_progress=show_progress).build(path)
    return index


def answer_all(
    assistant: BulletinAssistant, questions: list[dict[str, Any]], desc: str, show_progress: bool = True
) -> dict[str, dict[str, Any]]:
    """One run record per question: retrieved ids, answer, refusal, citations, timings."""
    run: dict[str, dict[str, Any]] = {}
    for q in tqdm(questions, desc=desc, unit="q", file=sys.stderr, leave=False, disable=not show_progress):
        t0 = time.perf_counter()
        answer = assistant.ask(q["question"], q.get("history") or [])
        timings = dict(answer.timings_ms)
        timings["wall_ms"] = (time.perf_counter() - t0) * 1000
        run[q["id"]] = {
            "id": q["id"],
            "retrieved": answer.retrieved[:10],
            "answer": answer.text,
            "refused": answer.refused,
            "citations": [{"n": c.n, "chunk_id": c.chunk_id, "text": c.text} for c in answer.citations],
            "unsupported_figures_reported": answer.unsupported_figures,
            "confidence": answer.confidence,
            "timings_ms": {k: round(v, 2) for k, v in timings.items()},
        }
    return run


def evaluate(
    settings: Settings,
    dataset: Dataset,
    configs: list[str],
    run_out: Path | None = None,
    show_progress: bool = True,
    keep_run: bool = False,
) -> dict[str, Any]:
    """Run every configuration and return the report data (metrics, rows, failures)."""
    questions = load_questions(dataset.questions)
    started = time.time()
    index = open_index(settings, dataset, show_progress)
    results: dict[str, Any] = {}
    for name in configs:
        idx = open_naive_index(settings, dataset, show_progress) if name == "naive-langchain" else index
        assistant = BulletinAssistant(settings, index=idx, retrieval=retrieval_config(name, settings))
        run = answer_all(assistant, questions, desc=name, show_progress=show_progress)
        if name == "naive-langchain" and dataset.corpus_is_passages:
            # Its chunks are pieces "<passage id>#<n>": judge retrieval on the passages they came from.
            for record in run.values():
                record["retrieved"] = list(dict.fromkeys(cid.rsplit("#", 1)[0] for cid in record["retrieved"]))
        judged = index if (name == "naive-langchain" and dataset.corpus_is_passages) else idx
        chunk_texts = ChunkTexts(judged)
        rows = metrics.per_question(questions, run, chunk_texts)
        results[name] = {
            "metrics": metrics.aggregate(questions, run, chunk_texts),
            "failures": metrics.worst_failures(rows, 15),
            "rows": rows,
            **({"run": run} if keep_run else {}),
        }
        if run_out is not None and name == (PRIMARY if PRIMARY in configs else configs[0]):
            run_out.parent.mkdir(parents=True, exist_ok=True)
            with run_out.open("w", encoding="utf-8") as fh:
                for q in questions:
                    record = {k: run[q["id"]][k] for k in ("id", "retrieved", "answer", "refused", "citations", "confidence")}
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return {
        "dataset": dataset.name,
        "questions_file": str(dataset.questions),
        "corpus": str(dataset.corpus),
        "n_questions": len(questions),
        "embed_model": settings.embed_model,
        "chunk_chars": settings.chunk_chars,
        "rerank": settings.rerank,
        "refuse_below": settings.refuse_below,
        "configs": configs,
        "primary": PRIMARY if PRIMARY in configs else configs[0],
        "results": results,
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
    }
