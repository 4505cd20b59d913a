"""Keyword (sparse) search behind a small interface.

Locally it is BM25 over jieba tokens stored in the catalog: our own small
implementation with exactly the scores of ``bm25s`` (method "lucene"; see
tests/index/test_keyword.py), fitted by streaming the catalog so a build never
holds every token list at once.  A distributed Chroma with sparse-vector
indexes (its Search API: sparse ``Knn`` + ``Rrf``) could implement the same
``KeywordIndex`` interface.

The fitted index is a term-major CSR matrix of precomputed BM25 weights
(``indptr`` int64 over the vocabulary, doc ``indices`` int32, ``weights``
float32) plus the vocabulary as sorted UTF-8 terms (one byte blob and its
offsets), so a reader memory-maps it and looks a query term up by binary
search: no load time, no per-term Python objects.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from array import array
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.catalog import Catalog

FORMAT = "bm25-csr/1"
_ARRAYS = ("indptr", "indices", "weights", "vocab", "vocab_offsets", "tf", "doc_len")
_BLOCK = 1 << 20  # postings per block when computing weights (bounds the float64 temporaries)


class KeywordIndex(ABC):
    @abstractmethod
    def search(self, tokens: list[str], k: int, allow: Callable[[str], bool] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, score) for query tokens, best first, ties broken by id."""


def _utf8(term: str) -> bytes:
    return term.encode("utf-8", "surrogatepass")  # byte order == code point order, lone surrogates included


class _Terms:
    """The vocabulary, sorted: term ``i`` is ``blob[offsets[i]:offsets[i + 1]]`` (UTF-8)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self.blob, self.offsets = blob, offsets
        # Plain memoryviews: indexing them is several times faster than indexing numpy arrays.
        self._bytes = memoryview(blob).cast("B")
        self._offsets = memoryview(offsets).cast("B").cast("q")
        self._n = len(offsets) - 1
        self.find = lru_cache(maxsize=16384)(self._find)  # query words repeat; a binary search is ~6 us

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> bytes:  # what ``bisect`` compares against
        return bytes(self._bytes[self._offsets[i] : self._offsets[i + 1]])

    def _find(self, term: str) -> int:
        """Row of ``term``, or -1 when it is not in the vocabulary."""
        key = _utf8(term)
        i = bisect_left(self, key)
        return i if i < self._n and self[i] == key else -1

    def __iter__(self) -> Iterator[str]:
        for i in range(self._n):
            yield self[i].decode("utf-8", "surrogatepass")


@dataclass
class _Streamed:
    """Documents as read from the catalog: per document its distinct (local) term ids and their counts."""

    ids: list[str]
    words: list[str]  # local term id -> word
    terms: np.ndarray  # int32, per (document, distinct term), documents in order
    tf: np.ndarray  # int32, aligned with ``terms``
    distinct: np.ndarray  # int32, distinct terms per document
    lengths: np.ndarray  # int64, tokens per document


def _stream(documents: Iterable[tuple[str, list[str]]]) -> _Streamed:
    ids: list[str] = []
    vocab: dict[str, int] = {}
    add = vocab.setdefault
    terms_buf, tf_buf, distinct, lengths = array("i"), array("i"), array("i"), array("q")
    for cid, tokens in documents:
        tokens = tokens or [""]  # as the bm25s fit this replaces: an empty document is one "" token
        ids.append(cid)
        row = np.fromiter((add(t, len(vocab)) for t in tokens), dtype=np.int32, count=len(tokens))
        terms, counts = np.unique(row, return_counts=True)
        terms_buf.frombytes(terms.tobytes())
        tf_buf.frombytes(counts.astype(np.int32).tobytes())
        distinct.append(len(terms))
        lengths.append(len(tokens))
    return _Streamed(
        ids,
        list(vocab),
        np.frombuffer(terms_buf, dtype=np.int32),
        np.frombuffer(tf_buf, dtype=np.int32),
        np.frombuffer(distinct, dtype=np.int32),
        np.frombuffer(lengths, dtype=np.int64),
    )


def _encode(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted words → (UTF-8 blob, offsets)."""
    encoded = [_utf8(w) for w in words]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


class BM25Matrix:
    """A fitted BM25 index: precomputed weights per (term, document); with the term counts (``tf``,
    aligned with ``indices``) and document lengths it was computed from, so a build can update it."""

    def __init__(
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        weights: np.ndarray,
        terms: _Terms,
        tf: np.ndarray,
        doc_len: np.ndarray,
    ) -> None:
        self.indptr, self.indices, self.weights, self.terms = indptr, indices, weights, terms
        self.tf, self.doc_len = tf, doc_len
        self.n_docs = len(doc_len)

    def arrays(self) -> dict[str, np.ndarray]:
        """What a save writes (``.npy`` each)."""
        return {
            "indptr": self.indptr,
            "indices": self.indices,
            "weights": self.weights,
            "vocab": self.terms.blob,
            "vocab_offsets": self.terms.offsets,
            "tf": self.tf,
            "doc_len": self.doc_len,
        }

    def get_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every document (float32), as ``bm25s.BM25.get_scores``: the postings of
        each query token are added in query order, a repeated token counts again, an unknown one not."""
        scores = np.zeros(self.n_docs, dtype=np.float32)
        for token in tokens:
            row = self.terms.find(token)
            if row >= 0:
                start, end = int(self.indptr[row]), int(self.indptr[row + 1])
                np.add.at(scores, self.indices[start:end], self.weights[start:end])
        return scores


class _DocFreq(Mapping):
    """Documents per term, read from the matrix (df = row length), without a dict of the vocabulary."""

    def __init__(self, model: BM25Matrix | None) -> None:
        self._model = model

    def __getitem__(self, term: str) -> int:
        row = self._model.terms.find(term) if self._model is not None and isinstance(term, str) else -1
        if row < 0:
            raise KeyError(term)
        return int(self._model.indptr[row + 1] - self._model.indptr[row])

    def __len__(self) -> int:
        return len(self._model.terms) if self._model is not None else 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._model.terms) if self._model is not None else iter(())


class BM25Index(KeywordIndex):
    """BM25 over the catalog's tokens.

    A build fits it once and saves it (``save``) beside the catalog, tagged with the
    catalog generation it was fitted on; readers memory-map that folder and only refit
    in memory when it is missing or stale (e.g. a build killed before saving).
    """

    def __init__(self, catalog: Catalog, directory: Path | None = None, k1: float = 1.2, b: float = 0.75) -> None:
        self.catalog = catalog
        self.directory = directory
        self.k1, self.b = k1, b
        self._generation = -1
        self._ids: list[str] = []
        self._model: BM25Matrix | None = None
        self._df: Mapping[str, int] = _DocFreq(None)
        self._lock = threading.Lock()

    # --- fit ------------------------------------------------------------------
    def _fit(self) -> tuple[list[str], BM25Matrix | None, Mapping[str, int]]:
        """Fit on the committed catalog, streaming it: per document only its distinct term ids and counts."""
        docs = _stream(self.catalog.iter_tokens())
        if not docs.ids:
            return [], None, _DocFreq(None)
        # The vocabulary sorted (its order is the matrix's row order), as a UTF-8 blob plus offsets.
        by_word = sorted(range(len(docs.words)), key=docs.words.__getitem__)
        blob, offsets = _encode([docs.words[i] for i in by_word])
        rank = np.empty(len(by_word), dtype=np.int32)
        rank[np.asarray(by_word, dtype=np.int64)] = np.arange(len(by_word), dtype=np.int32)
        del by_word, docs.words[:]
        postings = {
            "rows": rank[docs.terms],
            "doc_of": np.repeat(np.arange(len(docs.ids), dtype=np.int32), docs.distinct),
            "tf": docs.tf,
        }
        del rank
        docs.terms = docs.tf = docs.distinct = None  # only ``postings`` holds them now: _matrix frees them early
        model = self._matrix(postings, docs.lengths, blob, offsets)
        return docs.ids, model, _DocFreq(model)

    def _update(
        self, base_ids: list[str], base: BM25Matrix, changed_sources: Collection[str]
    ) -> tuple[list[str], BM25Matrix | None, Mapping[str, int]] | None:
        """The fit of the catalog, from the fit of the commit before it (``base``) when the last commit
        replaced the chunks of ``changed_sources`` and removed others: keep the base's documents whose
        chunk is still committed under an unchanged source, read only the changed sources' tokens.
        The same matrix as ``_fit`` (tests/index/test_keyword.py); None when that is not cheaper or
        the documents would not be exactly the committed chunks (then the caller fits)."""
        committed = self.catalog.chunk_sources()
        changed = set(changed_sources)
        n_changed = sum(1 for source in committed.values() if source in changed)
        if n_changed > len(committed) // 2:
            return None  # mostly new: a fit reads about as much
        keep = np.fromiter(
            ((source := committed.get(cid)) is not None and source not in changed for cid in base_ids),
            dtype=bool,
            count=len(base_ids),
        )
        kept_ids = [cid for cid, k in zip(base_ids, keep.tolist(), strict=True) if k]
        added = _stream(self.catalog.iter_tokens(sources=changed))
        if len(kept_ids) + len(added.ids) != len(committed) or len(added.ids) != n_changed:
            return None
        if not committed:
            return [], None, _DocFreq(None)

        # The base's postings of kept documents, renumbered.
        doc_map = (np.cumsum(keep, dtype=np.int64) - 1).astype(np.int32)
        posting_kept = keep[base.indices]
        old_rows = np.repeat(np.arange(len(base.terms), dtype=np.int32), np.diff(base.indptr))[posting_kept]
        old_docs = doc_map[base.indices[posting_kept]]
        old_tf = np.asarray(base.tf)[posting_kept]
        del doc_map, posting_kept

        # Words the base does not know go into the sorted vocabulary: new word j (in sorted order)
        # lands before base term pos[j], so base row r moves down by #{j: pos[j] <= r}.
        found = [base.terms._find(w) for w in added.words]
        new_words = sorted(w for w, row in zip(added.words, found, strict=True) if row < 0)
        encoded = [_utf8(w) for w in new_words]
        pos = np.array([bisect_left(base.terms, e) for e in encoded], dtype=np.int64)
        shift = np.searchsorted(pos, np.arange(len(base.terms)), side="right").astype(np.int32)
        new_row = {w: int(p) + j for j, (w, p) in enumerate(zip(new_words, pos.tolist(), strict=True))}
        local = np.array(
            [row + shift[row] if row >= 0 else new_row[w] for w, row in zip(added.words, found, strict=True)],
            dtype=np.int32,
        )
        old_rows += shift[old_rows]
        offsets, blob = np.asarray(base.terms.offsets), np.asarray(base.terms.blob)
        lengths = np.insert(np.diff(offsets), pos, [len(e) for e in encoded])
        cuts = offsets[pos].tolist()
        pieces = [blob[a:b].tobytes() for a, b in zip([0, *cuts], [*cuts, len(blob)], strict=True)]
        merged = b"".join(piece + word for piece, word in zip(pieces, [*encoded, b""], strict=True))
        merged_offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=merged_offsets[1:])

        postings = {
            "rows": np.concatenate([old_rows, local[added.terms]]),
            "doc_of": np.concatenate(
                [old_docs, len(kept_ids) + np.repeat(np.arange(len(added.ids), dtype=np.int32), added.distinct)]
            ),
            "tf": np.concatenate([old_tf, added.tf]),
        }
        del old_rows, old_docs, old_tf
        doc_len = np.concatenate([np.asarray(base.doc_len)[keep], added.lengths])
        model = self._matrix(postings, doc_len, np.frombuffer(merged, dtype=np.uint8), merged_offsets)
        return kept_ids + added.ids, model, _DocFreq(model)

    def _matrix(self, postings: dict[str, np.ndarray], doc_len: np.ndarray, blob: np.ndarray, offsets: np.ndarray) -> BM25Matrix:
        """The weights matrix from postings (``rows``, ``doc_of``, ``tf``: int32 arrays, taken out of
        ``postings`` so each is freed once used) in any order, as long as a row's documents come in
        ascending order; rows that no document has any more are dropped."""
        n_docs, n_terms = len(doc_len), len(offsets) - 1
        rows = postings.pop("rows")
        df = np.bincount(rows, minlength=n_terms)
        if not df.all():  # words only removed documents had
            keep = df > 0
            rows = (np.cumsum(keep, dtype=np.int64) - 1).astype(np.int32)[rows]
            lengths = np.diff(offsets)
            blob = blob[np.repeat(keep, lengths)]
            offsets = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
            np.cumsum(lengths[keep], out=offsets[1:])
            df = df[keep]
        indptr = np.zeros(len(df) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        order = np.argsort(rows, kind="stable")  # term-major; documents stay ascending within a term
        del rows
        indices = postings.pop("doc_of")[order]
        tf = postings.pop("tf")[order]
        del order

        # bm25s "lucene", computed as bm25s does: idf = ln(1 + (N - df + 0.5) / (df + 0.5)) in float64,
        # kept as float32; weight = idf * tf / (k1 * ((1 - b) + b * dl / avgdl) + tf) in float64, kept
        # as float32.  (One log per distinct df value; the float64 temporaries are per block.)
        avgdl = doc_len.mean()
        values, which = np.unique(df, return_inverse=True)
        idf = np.array([math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) for d in values.tolist()], dtype=np.float32)
        posting_idf = np.repeat(idf[which], df)
        weights = np.empty(len(indices), dtype=np.float32)
        for start in range(0, len(indices), _BLOCK):
            block = slice(start, start + _BLOCK)
            tf64 = tf[block].astype(np.float64)
            norm = self.k1 * ((1 - self.b) + (self.b * doc_len[indices[block]]) / avgdl) + tf64
            weights[block] = posting_idf[block].astype(np.float64) * (tf64 / norm)
        return BM25Matrix(indptr, indices, weights, _Terms(blob, offsets), tf, doc_len)

    # --- saved copies ---------------------------------------------------------
    def _saved_dir(self, generation: int) -> Path | None:
        return self.directory / f"gen-{generation}" if self.directory else None

    def _params(self) -> dict[str, object]:
        return {"format": FORMAT, "k1": self.k1, "b": self.b}

    def is_saved(self, generation: int) -> bool:
        """A complete save of this generation in the current format exists."""
        path = self._saved_dir(generation)
        try:
            meta = json.loads((path / "bm25.json").read_text(encoding="utf-8")) if path else {}
        except (OSError, ValueError):
            return False
        return bool(meta) and all(meta.get(k) == v for k, v in self._params().items())

    def save(self, base_generation: int | None = None, changed_sources: Collection[str] = ()) -> None:
        """Fit on the committed catalog and save atomically; older saves are removed.

        A build passes the generation it started from and the sources its commit replaced:
        when that generation's save is on disk and the commit was the only one since, the
        fit is an update of it that reads only those sources' tokens (``_update``).
        Call it under the build lock (``Builder`` does): it also removes the temporary
        folders of saves that a killed build left behind.
        """
        if self.directory is None:
            return
        generation = self.catalog.generation
        fitted = None
        if base_generation is not None and generation == base_generation + 1:
            base = self._load(base_generation)
            if base is not None and base[1] is not None:
                fitted = self._update(base[0], base[1], changed_sources)
        ids, model, _ = fitted or self._fit()
        self.directory.mkdir(parents=True, exist_ok=True)
        for leftover in self.directory.glob(".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.directory))
        try:
            self._write_arrays(tmp, model)
            (tmp / "ids.json").write_text(json.dumps(ids, ensure_ascii=False), encoding="utf-8")
            meta = {**self._params(), "generation": generation, "n_docs": len(ids)}
            (tmp / "bm25.json").write_text(json.dumps(meta), encoding="utf-8")  # written last: marks it complete
            final = self._saved_dir(generation)
            if final.exists():
                shutil.rmtree(final)  # e.g. a save in an older format
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in self.directory.glob("gen-*"):
            if old.name != f"gen-{generation}":
                shutil.rmtree(old, ignore_errors=True)
        # Serve from the memory-mapped copy: the fitted arrays are freed.
        loaded = self._load(generation) or (ids, model, _DocFreq(model))
        with self._lock:
            self._ids, self._model, self._df = loaded
            self._generation = generation

    def _write_arrays(self, folder: Path, model: BM25Matrix | None) -> None:
        for name, values in (model.arrays() if model is not None else {}).items():
            np.save(folder / f"{name}.npy", values, allow_pickle=False)

    def _load(self, generation: int) -> tuple[list[str], BM25Matrix | None, Mapping[str, int]] | None:
        path = self._saved_dir(generation)
        if path is None or not self.is_saved(generation):
            return None
        try:
            ids = json.loads((path / "ids.json").read_text(encoding="utf-8"))
            if not ids:
                return [], None, _DocFreq(None)
            a = {name: np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _ARRAYS}
            indptr = a["indptr"]
            n_postings = int(indptr[-1])
            if (
                len(indptr) != len(a["vocab_offsets"])
                or not len(a["indices"]) == len(a["weights"]) == len(a["tf"]) == n_postings
                or len(a["doc_len"]) != len(ids)
            ):
                return None
            terms = _Terms(a["vocab"], a["vocab_offsets"])
            model = BM25Matrix(indptr, a["indices"], a["weights"], terms, a["tf"], a["doc_len"])
        except (OSError, ValueError):
            return None  # half-removed by a concurrent build: refit instead
        return ids, model, _DocFreq(model)

    def _fresh(self) -> tuple[list[str], BM25Matrix | None, Mapping[str, int]]:
        generation = self.catalog.generation
        with self._lock:
            if generation != self._generation:
                loaded = self._load(generation) or self._fit()
                self._ids, self._model, self._df = loaded
                self._generation = generation
            return self._ids, self._model, self._df

    # --- reads ----------------------------------------------------------------
    def doc_freq(self) -> Mapping[str, int]:
        """Documents per term (read-only mapping; ``.get(term, 0)``)."""
        return self._fresh()[2]

    def search(self, tokens: list[str], k: int, allow: Callable[[str], bool] | None = None) -> list[tuple[str, float]]:
        ids, model, _ = self._fresh()
        if model is None or not tokens:
            return []
        scores = np.asarray(model.get_scores(tokens), dtype=np.float64)
        candidates = np.flatnonzero(scores > 0)
        want = k
        while True:
            # Top ``want`` by partition, plus everything tied with the last one, then a
            # deterministic sort (score descending, id ascending) of that small set only.
            if len(candidates) > want:
                part = candidates[np.argpartition(-scores[candidates], want - 1)[:want]]
                cutoff = scores[part].min()
                top = candidates[scores[candidates] >= cutoff]
            else:
                top = candidates
            order = sorted(top.tolist(), key=lambda i: (-scores[i], ids[i]))
            out = [(ids[i], float(scores[i])) for i in order if allow is None or allow(ids[i])][:k]
            if len(out) >= k or len(top) == len(candidates):
                return out
            want *= 4  # a filter rejected many: look deeper
