"""``BulletinIndex``: one collection's catalog, dense store, keyword index and lexicon.

Reads only ever see the catalog's committed chunks: a dense hit whose id is
not committed (left by a killed build) is ignored until the next build
removes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from index.annotate import ANNOTATOR, Annotation, article_key
from index.catalog import Catalog
from index.chroma_store import ChromaStore
from index.chunking import chunker_version
from index.embedding import Embedder, canonical_model_name, make_embedder
from index.errors import BulletinIndexError, IndexMismatchError, IndexNotBuiltError
from index.figure_table import FigureRow
from index.keyword import BM25Index
from index.lexicon import Lexicon
from index.types import Chunk

if TYPE_CHECKING:
    from settings import Settings

PASSAGES_CHUNKER = "passages/1"


@dataclass(frozen=True)
class Filter:
    """Metadata filter for searches; empty fields match everything."""

    city: str = ""
    source: str = ""
    article_index: int | None = None
    date_from: str = ""  # ISO prefix (2024, 2024-05, 2024-05-20): documents dated on or after
    date_to: str = ""  # ISO prefix: documents dated up to (the whole month of 2024-05)

    def __bool__(self) -> bool:
        return bool(self.city or self.source or self.article_index is not None or self.date_from or self.date_to)

    def matches(self, chunk: Chunk) -> bool:
        return (
            (not self.city or chunk.city == self.city)
            and (not self.source or chunk.source == self.source)
            and (self.article_index is None or chunk.article_index == self.article_index)
            and self.dated(chunk)
        )

    def dated(self, chunk: Chunk) -> bool:
        """Within the date range (an undated document is outside any range).

        >>> f = Filter(date_from="2024-05", date_to="2024-06")
        >>> [f.dated(Chunk(id="c", text="", source="a.txt", date=d)) for d in ("2024-05-01", "2024-06-30", "2024-07-01", "")]
        [True, True, False, False]
        """
        if not (self.date_from or self.date_to):
            return True
        return bool(chunk.date) and chunk.date >= self.date_from and chunk.date[: len(self.date_to)] <= self.date_to

    def to_chroma(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.city:
            clauses.append({"city": self.city})
        if self.source:
            clauses.append({"source": self.source})
        if self.article_index is not None:
            clauses.append({"article_index": self.article_index})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass(frozen=True)
class IndexHealth:
    """What a health check needs of the index (the details are for operators, not the public)."""

    built: bool
    chunks: int
    sources: int
    generation: int
    embed_model: str | None
    store: str  # the Chroma server URL or the embedded store's folder
    store_reachable: bool
    problems: tuple[str, ...] = ()


class BulletinIndex:
    """Handles on one collection.  The embedding model loads lazily, on the first dense call."""

    def __init__(self, settings: Settings, collection: str | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.collection = collection or settings.collection
        self.catalog = Catalog(settings.catalog_dir / f"{self.collection}.sqlite")
        self._embedder = embedder
        self._keyword = BM25Index(self.catalog, settings.catalog_dir / f"{self.collection}.bm25")
        self._lock = threading.Lock()
        self._generation = -1
        self._chunks: dict[str, Chunk] = {}
        self._doc_freq: dict[str, int] = {}
        self._lexicon: Lexicon | None = None
        self._annotations: dict[str, Annotation] = {}
        self._contains: dict[str, bool] = {}
        self._cities: list[str] | None = None
        self._articles: dict[tuple, list[Chunk]] | None = None
        self._article_texts: dict[tuple, str] = {}
        self._dim = 0

    # --- components ---------------------------------------------------------
    @cached_property
    def dense_store(self) -> ChromaStore:
        url = self.settings.chroma_url
        return ChromaStore(self.collection, path=None if url else self.settings.chroma_path, url=url)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = make_embedder(
                    self.settings.embed_model, self.settings.model_cache_dir, self.settings.embed_cache_path,
                    backend=self.settings.embed_backend,
                )
            return self._embedder

    @property
    def embedder_loaded(self) -> bool:
        return self._embedder is not None

    def expected_chunker(self) -> str:
        return chunker_version(self.settings.chunk_chars)

    # --- state --------------------------------------------------------------
    def is_built(self) -> bool:
        return self.catalog.count() > 0

    def check(self) -> None:
        """Refuse an index built with another model or chunker, with the way out."""
        meta = self.catalog.meta()
        if not meta.get("embed_model"):
            raise IndexNotBuiltError(
                f"no index '{self.collection}' under {self.settings.data_dir}. Build it: python -m index build"
            )
        want_model = (
            self._embedder.name
            if self._embedder
            else canonical_model_name(self.settings.embed_model, self.settings.embed_backend)
        )
        chunker = meta.get("chunker", "")
        model_problems, chunk_problems = [], []
        if meta["embed_model"] != want_model:
            model_problems.append(f"embedding model {meta['embed_model']!r} (settings: {want_model!r})")
        if self._embedder is not None and str(self._embedder.dim) != meta.get("embed_dim"):
            model_problems.append(f"dimension {meta.get('embed_dim')} (model: {self._embedder.dim})")
        if not chunker.startswith("passages") and chunker != self.expected_chunker():
            chunk_problems.append(f"chunker {chunker!r} (settings: {self.expected_chunker()!r})")
        if meta.get("annotator") != ANNOTATOR:
            chunk_problems.append(f"annotations {meta.get('annotator') or 'none'!r} (this version: {ANNOTATOR!r})")
        if model_problems or chunk_problems:
            # Another model needs new vectors (--rebuild); another chunker only a re-chunk, which a
            # plain build does (unchanged passages keep their cached vectors).
            how = (
                "python -m index build --rebuild (or set BULLETIN_EMBED_MODEL / BULLETIN_EMBED_BACKEND back to what it was built with)"
                if model_problems
                else "python -m index build (a chunker change: or set BULLETIN_CHUNK_CHARS back to what it was built with)"
            )
            raise IndexMismatchError(
                f"the index '{self.collection}' under {self.settings.data_dir} was built with "
                + "; ".join(model_problems + chunk_problems)
                + f". Rebuild it with the current settings: {how}."
            )

    def _refresh(self) -> None:
        generation = self.catalog.generation
        if generation != self._generation:
            with self._lock:
                self._chunks = {chunk.id: chunk for chunk in self.catalog.iter_chunk_data()}
                self._doc_freq = self._keyword.doc_freq()
                self._lexicon = Lexicon.from_json(self.catalog.meta().get("lexicon", "[]"))
                self._annotations = {}
                self._contains = {}
                self._cities = None
                self._articles = None
                self._article_texts = {}
                self._dim = int(self.catalog.meta().get("embed_dim") or 0)
                self._generation = generation

    @property
    def keyword_index(self) -> BM25Index:
        return self._keyword

    @property
    def chunks(self) -> dict[str, Chunk]:
        self._refresh()
        return self._chunks

    def df(self, token: str) -> int:
        self._refresh()
        return self._doc_freq.get(token, 0)

    @property
    def lexicon(self) -> Lexicon:
        self._refresh()
        return self._lexicon or Lexicon.empty()

    # --- the narrow read API (web/, evals/ and the assistant use these, not the catalog) -------------
    @property
    def generation(self) -> int:
        return self.catalog.generation

    def chunk(self, chunk_id: str) -> Chunk | None:
        return self.chunks.get(chunk_id)

    def article(self, chunk_id: str) -> list[Chunk]:
        """The chunks of the article a chunk belongs to, in reading order (a jsonl passage is its own article)."""
        self._refresh()
        chunk = self._chunks.get(chunk_id)
        if chunk is None:
            return []
        if self._articles is None:
            groups: dict[tuple, list[Chunk]] = {}
            for c in self._chunks.values():
                groups.setdefault(article_key(c), []).append(c)
            for members in groups.values():
                members.sort(key=lambda c: (c.start, c.id))
            self._articles = groups
        return self._articles.get(article_key(chunk), [chunk])

    def article_text(self, chunk_id: str) -> str:
        """The whole text of a chunk's article (its chunks joined), memoised per generation."""
        self._refresh()
        members = self.article(chunk_id)
        if not members:
            return ""
        key = article_key(members[0])
        text = self._article_texts.get(key)
        if text is None:
            if len(self._article_texts) > 2_000:
                self._article_texts.clear()
            text = self._article_texts[key] = "\n".join(dict.fromkeys(c.text for c in members))
        return text

    def contains(self, text: str) -> bool:
        """Does any committed passage contain ``text``?  Memoised per generation (bounded)."""
        self._refresh()
        cache = self._contains
        if len(cache) > 10_000:
            cache.clear()
        found = cache.get(text)
        if found is None:
            found = cache[text] = any(text in c.text for c in self._chunks.values())
        return found

    def figures(self, place: str = "", metric: str = "", date_from: str = "", date_to: str = "",
                limit: int = 500, offset: int = 0, chunk_id: str = "", metric_exact: str = "") -> tuple[list[FigureRow], int]:
        """The figure table (built with the index), filtered; rows in date order and the total.

        ``place`` matches the place or zone a figure is about, by its short name too (吕梁市 finds
        rows of 吕梁); ``metric`` is a substring of the metric (签约投资额); dates are ISO prefixes.
        """
        self._refresh()
        return self.catalog.figures(entity=short_place(place), metric=metric.strip(), date_from=date_from.strip(),
                                    date_to=date_to.strip(), limit=limit, offset=offset, chunk_id=chunk_id,
                                    metric_exact=metric_exact)

    def cities(self) -> list[str]:
        """Cities the indexed articles speak for, most passages first."""
        self._refresh()
        if self._cities is None:
            counts: dict[str, int] = {}
            for c in self._chunks.values():
                if c.city:
                    counts[c.city] = counts.get(c.city, 0) + 1
            self._cities = sorted(counts, key=lambda c: (-counts[c], c))
        return self._cities

    def annotations(self, ids: list[str]) -> dict[str, Annotation]:
        """Build-time annotations of committed chunks (those missing, e.g. never annotated, are absent)."""
        self._refresh()
        cache = self._annotations
        missing = [i for i in ids if i not in cache]
        if missing:
            rows = self.catalog.annotation_rows(missing, ANNOTATOR)
            with self._lock:
                if len(cache) > 50_000:  # readers of a big index ask for a few passages at a time: bounded
                    cache.clear()
                for cid, (data, blob) in rows.items():
                    cache[cid] = Annotation.from_row(data, blob, self._dim)
        return {i: cache[i] for i in ids if i in cache}

    # --- searches -----------------------------------------------------------
    def get(self, ids: list[str]) -> list[Chunk]:
        chunks = self.chunks
        return [chunks[i] for i in ids if i in chunks]

    def dense(self, query: str, k: int, flt: Filter | None = None, vector=None) -> list[tuple[str, float]]:
        """(chunk id, cosine) best first, committed chunks only."""
        chunks = self.chunks
        if vector is None:
            vector = self.embedder.embed_query(query)
        # Ask for a few extra in case uncommitted leftovers of a killed build come back; a killed
        # build can leave hundreds of them, so widen the search until k committed hits are found.
        want = k + 8
        while True:
            found = self.dense_store.query(vector, want, where=flt.to_chroma() if flt else None)
            # Dates are not Chroma metadata: a date range is applied here, widening like the leftovers.
            hits = sorted(((cid, score) for cid, score in found if cid in chunks and (flt is None or flt.dated(chunks[cid]))),
                          key=lambda h: (-h[1], h[0]))
            if len(hits) >= k or len(found) < want:
                return hits[:k]
            want *= 4

    def keyword(self, query: str, k: int, flt: Filter | None = None) -> list[tuple[str, float]]:
        chunks = self.chunks
        allow: Callable[[str], bool] | None = (lambda cid: flt.matches(chunks[cid])) if flt else None
        return self._keyword.search(self.lexicon.tokenize(query), k, allow)

    def health(self) -> IndexHealth:
        problems: list[str] = []
        built, chunks, sources, model = False, 0, 0, None
        try:
            built = self.is_built()
            chunks = len(self.chunks)
            sources = len(self.catalog.sources())
            model = self.catalog.meta().get("embed_model")
            self.check()
        except BulletinIndexError as exc:
            problems.append(str(exc))
        except Exception as exc:  # a corrupt catalog must not take the health check down with it
            problems.append(f"index unreadable: {exc}")
        if not built or not chunks:
            problems.append("the index is empty: build it with `python -m index build`")
        try:
            reachable = bool(self.dense_store.heartbeat())
        except Exception as exc:
            reachable = False
            problems.append(f"store: {exc}")
        if not reachable:
            problems.append("the vector store does not answer its heartbeat")
        return IndexHealth(built, chunks, sources, self.catalog.generation, model,
                           self.settings.chroma_url or str(self.settings.chroma_path), reachable, tuple(problems))

    def stats(self) -> dict[str, Any]:
        meta = self.catalog.meta()
        sources = self.catalog.sources()
        cities: dict[str, int] = {}
        for c in self.chunks.values():
            cities[c.city or "-"] = cities.get(c.city or "-", 0) + 1
        return {
            "collection": self.collection,
            "data_dir": str(self.settings.data_dir),
            "store": self.settings.chroma_url or str(self.settings.chroma_path),
            "files": len(sources),
            "articles": sum(s.articles for s in sources.values()),
            "chunks": len(self.chunks),
            "chunks_by_city": dict(sorted(cities.items())),
            "embed_model": meta.get("embed_model"),
            "embed_dim": meta.get("embed_dim"),
            "chunker": meta.get("chunker"),
            "lexicon_terms": len(self.lexicon.terms),
            "generation": self.catalog.generation,
        }

    def close(self) -> None:
        self.catalog.close()


def short_place(name: str) -> str:
    """A place's short name for matching (吕梁市 → 吕梁; 眉县 and zone names stay as they are).

    >>> short_place("吕梁市"), short_place("眉县"), short_place("眉县经开区"), short_place("")
    ('吕梁', '眉县', '眉县经开区', '')
    """
    from index.gazetteer import gazetteer

    name = name.strip()
    g = gazetteer()
    found = g.find(name)
    if len(found) == 1 and found[0].surface == name:
        place = g.place(found[0].codes[0])
        return place.short if place.name == name else name
    return name
