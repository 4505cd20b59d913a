"""Incremental, crash-safe index builds.

Order of a build, and why it survives ``kill -9`` at any point:

1. new vectors are upserted into Chroma, and the chunks' annotations (clause vectors,
   entities, places) into the catalog's annotation table (ids are content-derived, so old
   ones stay);
2. the catalog commits the new set of chunks in one SQLite transaction;
3. Chroma ids and annotations that the catalog no longer lists are deleted.

Readers only trust chunks the catalog lists, so before step 2 they see the old
index and after it the new one.  A killed build leaves at worst unlisted
vectors and annotations, which the next build deletes (it converges).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from index.annotate import ANNOTATOR, annotate
from index.catalog import SourceRecord, tokens_json
from index.chunking import chunk_bulletin, read_passages
from index.cleaning import fold_width
from index.embedding import canonical_model_name
from index.errors import IndexMismatchError
from index.lexicon import Lexicon, extract_terms
from index.loaders import SkipFile, Skipped, iter_corpus_files, load_file, load_manifest, max_file_bytes
from index.store import PASSAGES_CHUNKER, BulletinIndex
from index.types import Chunk

if TYPE_CHECKING:
    from collections.abc import Iterator

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    articles: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    embedded: int = 0
    orphans_deleted: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [
            f"files: {self.files_new} new, {self.files_changed} changed, {self.files_unchanged} unchanged, "
            f"{self.files_removed} removed, {len(self.skipped)} skipped",
            f"articles: {self.articles}",
            f"chunks: {self.chunks_added} added, {self.chunks_removed} removed, {self.chunks_total} in index "
            f"({self.embedded} embedded now)",
        ]
        if self.orphans_deleted:
            lines.append(f"cleaned up {self.orphans_deleted} vectors left by an interrupted build")
        lines += [f"skipped {s.path}: {s.reason}" for s in self.skipped]
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(f"time: {self.seconds:.1f} s")
        return "\n".join(lines)


def file_sha256(path: Path) -> str:
    """Content hash of a file (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def _build_lock(data_dir: Path, collection: str) -> Iterator[None]:
    """One build per collection at a time (a second one waits)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / f".build-{collection}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Builder:
    def __init__(self, index: BulletinIndex, show_progress: bool = True) -> None:
        self.index = index
        self.show_progress = show_progress

    def _bar(self, total: int, desc: str) -> tqdm:
        return tqdm(total=total, desc=desc, unit="chunk", file=sys.stderr, disable=not self.show_progress, leave=False)

    # --- the two kinds of corpus ------------------------------------------
    def _chunk_files(
        self, root: Path, report: BuildReport, force: bool = False
    ) -> tuple[dict[str, tuple[str, list[Chunk], int]], set[str]]:
        """Changed/new files (all of them with ``force``) → (sha, chunks, articles); plus the files seen."""
        catalog_sources = self.index.catalog.sources()
        manifest = load_manifest(root if root.is_dir() else root.parent)
        base = root if root.is_dir() else root.parent
        changed: dict[str, tuple[str, list[Chunk], int]] = {}
        seen: set[str] = set()
        files = list(iter_corpus_files(root))
        for path in tqdm(files, desc="reading", unit="file", file=sys.stderr, disable=not self.show_progress, leave=False):
            rel = path.relative_to(base).as_posix()
            entry = manifest.get(path.name)
            try:
                sha = file_sha256(path)
            except OSError as exc:
                report.skipped.append(Skipped(rel, f"cannot read file: {exc.strerror}"))
                if rel in catalog_sources:
                    seen.add(rel)  # keep what was indexed before
                continue
            if entry:  # a manifest edit (city, title) changes the file's chunks too
                sha = hashlib.sha256(f"{sha}\x00{json.dumps(entry, sort_keys=True)}".encode()).hexdigest()
            if not force and rel in catalog_sources and catalog_sources[rel].sha256 == sha:
                seen.add(rel)
                report.files_unchanged += 1
                report.articles += catalog_sources[rel].articles
                continue
            try:
                bulletin = load_file(path, rel, entry, max_bytes=max_file_bytes(self.index.settings.max_file_mb))
            except SkipFile as exc:
                report.skipped.append(Skipped(rel, str(exc)))
                if rel in catalog_sources:
                    seen.add(rel)
                    report.warnings.append(f"{rel}: kept the previously indexed version")
                continue
            chunks = chunk_bulletin(bulletin, self.index.settings.chunk_chars)
            report.warnings += [f"{rel}: {w}" for w in bulletin.warnings]
            report.articles += len(bulletin.articles)
            if rel in catalog_sources:
                report.files_changed += 1
            else:
                report.files_new += 1
            seen.add(rel)
            changed[rel] = (sha, chunks, len(bulletin.articles))
        return changed, seen

    def _chunk_jsonl(
        self, path: Path, report: BuildReport, force: bool = False
    ) -> tuple[dict[str, tuple[str, list[Chunk], int]], set[str]]:
        rel = path.name
        sha = file_sha256(path)
        old = self.index.catalog.sources().get(rel)
        if old and old.sha256 == sha and not force:
            report.files_unchanged += 1
            return {}, {rel}
        chunks = read_passages(path)
        report.files_changed += bool(old)
        report.files_new += not old
        return {rel: (sha, chunks, 0)}, {rel}

    # --- build ----------------------------------------------------------------
    def build(self, corpus: Path, rebuild: bool = False) -> BuildReport:
        start = time.monotonic()
        index = self.index
        settings = index.settings
        passages = corpus.is_file() and corpus.name.endswith((".jsonl", ".jsonl.gz"))
        chunker = PASSAGES_CHUNKER if passages else index.expected_chunker()
        with _build_lock(settings.data_dir, index.collection):
            meta = index.catalog.meta()
            if rebuild:
                # Catalog first: a kill in between leaves "not built" plus vectors the next build deletes.
                index.catalog.clear()
                index.dense_store.drop()
                meta = {}
            elif meta.get("embed_model") and meta["embed_model"] != (
                wanted := canonical_model_name(settings.embed_model, settings.embed_backend)
            ):
                raise IndexMismatchError(
                    f"the index '{index.collection}' was built with the embedding model {meta['embed_model']!r}; "
                    f"the current settings use {wanted!r}. Rebuild it from scratch with the new model: "
                    "python -m index build --rebuild (or set BULLETIN_EMBED_MODEL / BULLETIN_EMBED_BACKEND back)"
                )
            report = BuildReport()
            if not corpus.exists():
                raise FileNotFoundError(f"corpus path {corpus} does not exist")
            # Another chunker (new code or BULLETIN_CHUNK_CHARS) re-chunks every file; vectors of
            # unchanged passages come from the embedding cache.
            force = bool(meta.get("chunker")) and meta.get("chunker") != chunker
            if force:
                report.warnings.append(f"chunker changed from {meta.get('chunker')} to {chunker}: re-chunked every file")
            if passages:
                changed, seen = self._chunk_jsonl(corpus, report, force)
            else:
                changed, seen = self._chunk_files(corpus, report, force)
            old_sources = index.catalog.sources()
            removed = [p for p in old_sources if p not in seen]
            report.files_removed = len(removed)

            # Lexicon over the whole committed-to-be corpus. Its terms are kept per source, so a
            # re-index extracts them from the changed files only.
            terms_by_source = {} if passages else self._terms_by_source(meta, changed, seen)
            lexicon = Lexicon(set().union(*terms_by_source.values())) if terms_by_source else Lexicon.empty()
            lexicon_changed = lexicon.to_json() != meta.get("lexicon", "[]")
            kept_chunks: dict[str, Chunk] = {}
            retokenise: set[str] = set()
            if lexicon_changed:
                # Only texts containing an added or removed term can be cut differently (jieba's
                # total frequency is fixed: index/lexicon.py), so only their sources are retokenised.
                try:
                    old_terms = set(json.loads(meta.get("lexicon", "[]")))
                except ValueError:
                    old_terms = set()
                moved = old_terms ^ set(lexicon.terms)
                candidates = set(old_sources) & seen - set(changed)
                for chunk in index.catalog.iter_chunk_data():
                    if chunk.source in candidates:
                        kept_chunks[chunk.id] = chunk
                        if chunk.source not in retokenise:
                            text = chunk.indexed_text
                            cut = fold_width(text).lower()  # what jieba actually cuts
                            if any(t in text or t in cut for t in moved):
                                retokenise.add(chunk.source)

            new_ids = [c.id for _, cs, _ in changed.values() for c in cs]
            old_ids = index.catalog.chunk_ids()
            report.chunks_added = len(set(new_ids) - old_ids)
            # Another annotation recipe re-annotates every chunk (vectors come from the cache).
            annotator_changed = bool(meta.get("embed_model")) and meta.get("annotator") != ANNOTATOR
            unchanged_quick = (not changed and not removed and not lexicon_changed and meta.get("embed_model")
                               and not force and not annotator_changed)
            if unchanged_quick:
                if not index.catalog.figures_current():  # another figure extractor: rows re-extracted
                    report.warnings.append(f"figure table re-extracted ({index.catalog.refresh_figures()} rows)")
                report.orphans_deleted = self._collect_garbage()
                self._save_keyword_index()
                report.chunks_total = index.catalog.count()
                report.seconds = time.monotonic() - start
                return report

            embedder = index.embedder  # loads the model only when there is work to do
            versions = {"embed_model": embedder.name, "embed_dim": embedder.dim, "chunker": chunker, "annotator": ANNOTATOR}
            index.dense_store.ensure({k: v for k, v in versions.items() if k != "annotator"})
            all_new = [c for _, cs, _ in changed.values() for c in cs]
            present = index.dense_store.has([c.id for c in all_new])
            # An id covers source, offsets and text, not the context (city, title, section, item)
            # embedded with the text and kept as Chroma metadata: re-embed a kept id whose embedded text
            # or store metadata changed (a new date or issue label alone needs no new vector).
            committed = index.catalog.get([c.id for c in all_new if c.id in present])

            def same_vector(c: Chunk, committed: dict[str, Chunk] = committed) -> bool:
                old = committed.get(c.id)  # None: written by an interrupted build of this very content
                return old is None or (old.indexed_text == c.indexed_text and old.store_metadata() == c.store_metadata())

            todo = {c.id for c in all_new if c.id not in present or not same_vector(c)}
            to_annotate = all_new
            if annotator_changed:
                unchanged = {rel for rel in seen if rel not in changed}
                to_annotate = all_new + [c for c in index.catalog.iter_chunk_data() if c.source in unchanged]
                report.warnings.append(f"annotations changed from {meta.get('annotator')} to {ANNOTATOR}: re-annotated every chunk")
            self._annotate(to_annotate, todo)
            report.embedded = len(todo)

            # Tokens are serialised right away: one JSON string per chunk until the commit, not a
            # list of str objects (at 68k articles those lists alone took over a GB).
            replaced: dict[str, tuple[SourceRecord, list[tuple[Chunk, str]]]] = {}
            with self._bar(len(all_new), "tokenising") as bar:
                for rel, (sha, chunks, n_articles) in changed.items():
                    toks = []
                    for c in chunks:
                        toks.append((c, tokens_json(lexicon.tokenize(c.indexed_text))))
                        bar.update()
                    issue = chunks[0].issue_title if chunks else ""
                    replaced[rel] = (SourceRecord(rel, sha, tuple(c.id for c in chunks), n_articles, issue), toks)
            for rel in retokenise:
                rec = old_sources[rel]
                chunks = [kept_chunks[i] for i in rec.chunk_ids if i in kept_chunks]
                replaced[rel] = (rec, [(c, tokens_json(lexicon.tokenize(c.indexed_text))) for c in chunks])
            base_generation = index.catalog.generation
            index.catalog.commit(
                replaced,
                removed,
                {
                    **{k: str(v) for k, v in versions.items()},
                    "lexicon": lexicon.to_json(),
                    "lexicon_sources": json.dumps(terms_by_source, ensure_ascii=False, sort_keys=True),
                },
            )
            changed_sources = set(replaced)
            # The BM25 fit below streams the tokens back from the catalog: free the build's
            # working set first (at 68k articles it held about 1 GB).
            del replaced, changed, kept_chunks, all_new, todo, committed, to_annotate
            new_total = index.catalog.chunk_ids()
            report.chunks_removed = len(old_ids - new_total)
            report.orphans_deleted = max(self._collect_garbage() - report.chunks_removed, 0)
            self._save_keyword_index(base_generation, changed_sources)
            report.chunks_total = len(new_total)
            report.seconds = time.monotonic() - start
            return report

    def _annotate(self, chunks: list[Chunk], dense_todo: set[str]) -> None:
        """Annotate ``chunks`` (whole sources), then upsert the vectors of those in ``dense_todo``.

        Annotations are stored batch by batch (whole sources at a time, so memory stays bounded)
        and vectors written afterwards; both go in before the catalog commit and are keyed by
        chunk id, so readers see only what the commit lists.
        """
        import numpy as np

        index, settings = self.index, self.index.settings
        by_source: dict[str, list[Chunk]] = {}
        for c in chunks:
            by_source.setdefault(c.source, []).append(c)
        todo = [c for c in chunks if c.id in dense_todo]
        row = {c.id: n for n, c in enumerate(todo)}
        vectors = np.zeros((len(todo), index.embedder.dim), dtype=np.float32)
        batch: list[Chunk] = []
        with self._bar(len(chunks), "embedding") as bar:
            for i, group in enumerate(by_source.values()):
                batch += group
                if len(batch) < 512 and i < len(by_source) - 1:
                    continue
                pooled, notes = annotate(batch, index.embedder, progress=bar.update, batch_size=settings.embed_batch_size)
                for n, c in enumerate(batch):
                    if c.id in row:
                        vectors[row[c.id]] = pooled[n]
                index.catalog.put_annotations(ANNOTATOR, ((cid, *a.to_row()) for cid, a in notes.items()))
                batch = []
        if todo:
            with self._bar(len(todo), "writing") as bar:
                for i in range(0, len(todo), 256):
                    part = todo[i : i + 256]
                    index.dense_store.upsert([c.id for c in part], vectors[i : i + 256], [c.store_metadata() for c in part])
                    bar.update(len(part))

    def _terms_by_source(
        self, meta: dict[str, str], changed: dict[str, tuple[str, list[Chunk], int]], seen: set[str]
    ) -> dict[str, list[str]]:
        """Corpus terms (quoted names, zones, list items) per source of the new corpus.

        The union equals ``extract_terms`` over all texts (it keeps or drops each term on its
        own), so only changed sources, and sources an older index did not record, are read.
        """
        try:
            recorded = json.loads(meta.get("lexicon_sources", "{}"))
        except ValueError:
            recorded = {}
        out = {rel: sorted(extract_terms(c.text for c in cs)) for rel, (_, cs, _) in changed.items()}
        missing = seen - set(out) - set(recorded)
        texts: dict[str, list[str]] = {}
        if missing:
            for chunk in self.index.catalog.iter_chunk_data():
                if chunk.source in missing:
                    texts.setdefault(chunk.source, []).append(chunk.text)
        for rel in seen - set(out):
            out[rel] = recorded[rel] if rel in recorded else sorted(extract_terms(texts.get(rel, [])))
        return out

    def _save_keyword_index(self, base_generation: int | None = None, changed_sources: set[str] | None = None) -> None:
        """Fit BM25 on the committed chunks and save it for readers, unless already saved.

        After a commit, the fit updates the save of ``base_generation`` (the one before the
        commit) with the ``changed_sources`` only, when it can (``BM25Index.save``).
        """
        keyword = self.index.keyword_index
        if keyword.directory is not None and not keyword.is_saved(self.index.catalog.generation):
            keyword.save(base_generation, changed_sources or ())

    def _collect_garbage(self) -> int:
        """Delete vectors the catalog does not list (replaced chunks, leftovers of killed builds)."""
        self.index.catalog.drop_stale_annotations()
        store = self.index.dense_store
        if not store.exists():
            return 0
        stale = sorted(store.ids() - self.index.catalog.chunk_ids())
        if stale:
            store.delete(stale)
        return len(stale)
