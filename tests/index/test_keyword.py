"""BM25 keyword index: saved by builds, loaded by readers, same results either way; top-k selection;
the same scores as the ``bm25s`` reference implementation."""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.builder import Builder
from index.catalog import Catalog, SourceRecord, tokens_json
from index.keyword import BM25Index
from index.store import BulletinIndex, Filter
from index.types import Chunk
from tests.conftest import make_settings
from tests.index._support import bulletin_text

QUERIES = ["吕梁 三个一批 签约投资额", "清徐老陈醋", "晶科能源 56GW", "孝义经开区 招商", "规上工业增加值 -2.6%", "人才绿卡"]


def test_build_saves_the_fitted_index_for_the_committed_generation(settings) -> None:
    index = BulletinIndex(settings)
    Builder(index, show_progress=False).build(settings.corpus_dir)
    saved = index.keyword_index.directory / f"gen-{index.catalog.generation}"
    assert (saved / "ids.json").exists() and (saved / "bm25.json").exists()
    assert index.keyword_index.is_saved(index.catalog.generation)
    assert len(list(index.keyword_index.directory.glob("gen-*"))) == 1


def test_loaded_and_refitted_indexes_agree(settings) -> None:
    index = BulletinIndex(settings)
    Builder(index, show_progress=False).build(settings.corpus_dir)
    loaded = BulletinIndex(settings)
    from_disk = {q: loaded.keyword(q, 10) for q in QUERIES}
    shutil.rmtree(index.keyword_index.directory)  # as after a build killed before saving
    refitted = BulletinIndex(settings)
    assert {q: refitted.keyword(q, 10) for q in QUERIES} == from_disk
    assert all(from_disk[q] for q in QUERIES)
    assert refitted.df("吕梁") == loaded.df("吕梁") > 0


def test_top_k_matches_a_full_deterministic_sort(seed_index) -> None:
    _, index = seed_index
    keyword: BM25Index = index.keyword_index
    ids, model, _ = keyword._fresh()
    for q in QUERIES:
        tokens = index.lexicon.tokenize(q)
        scores = np.asarray(model.get_scores(tokens), dtype=np.float64)
        full = sorted((i for i in np.flatnonzero(scores > 0)), key=lambda i: (-scores[i], ids[i]))
        for k in (1, 3, 10, 100):
            assert keyword.search(tokens, k) == [(ids[i], float(scores[i])) for i in full[:k]]


def test_filtered_search_looks_deeper_than_k(seed_index) -> None:
    _, index = seed_index
    hits = index.keyword("开发区 项目 投资", 5, Filter(city="太原市"))
    assert len(hits) == 5
    assert all(index.chunks[cid].city == "太原市" for cid, _ in hits)


# --------------------------------------------------------------------------- equivalence with bm25s

# Single characters and pairs from a small pool, so documents repeat tokens and share many terms.
POOL = "开发区项目投资签约工业增加值同比增长光伏组件就业重点工程吕梁太原大同晋中招商引资园区企业产业新能源"


class _ListCatalog:
    """What ``BM25Index`` reads of a catalog: a generation and (id, tokens) of the committed chunks."""

    def __init__(self, docs: list[list[str]], generation: int = 1) -> None:
        self.docs, self.generation = docs, generation

    def iter_tokens(self) -> Iterator[tuple[str, list[str]]]:
        for i, tokens in enumerate(self.docs):
            yield f"c{i:04d}", list(tokens)


def _tokens(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        pool = POOL[: rng.choice([6, 20, len(POOL)])]  # some tokens common, some rare
        out.append(rng.choice(pool) + (rng.choice(POOL) if rng.random() < 0.5 else ""))
    return out


def _corpus(seed: int, n_docs: int = 300) -> list[list[str]]:
    rng = random.Random(seed)
    docs = [_tokens(rng, rng.randint(1, 150)) for _ in range(n_docs)]
    docs[7] = []  # a chunk with no tokens
    docs[8] = docs[9][:]  # identical documents tie
    return docs


def _queries(seed: int) -> list[list[str]]:
    rng = random.Random(seed + 1000)
    queries = []
    for n in range(60):
        q = _tokens(rng, rng.randint(1, 8))
        if n % 3 == 0:
            q += ["未见过的词", "zzz"]  # unseen tokens
        if n % 4 == 0:
            q += q[:2]  # a repeated token counts again
        queries.append(q)
    return [*queries, ["未见过的词"], ["开", "开", "开"]]


def _reference(docs: list[list[str]]):
    bm25s = pytest.importorskip("bm25s")  # requirements-dev.txt: the reference implementation
    model = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    model.index([tokens or [""] for tokens in docs], show_progress=False)  # what the old fit passed
    return model


def _top(scores: np.ndarray, ids: list[str], k: int) -> list[str]:
    scores = np.asarray(scores, dtype=np.float64)
    return [ids[i] for i in sorted(np.flatnonzero(scores > 0), key=lambda i: (-scores[i], ids[i]))[:k]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scores_equal_bm25s_lucene(seed: int) -> None:
    docs = _corpus(seed)
    index = BM25Index(_ListCatalog(docs))
    ref = _reference(docs)
    ids, model, df = index._fresh()
    for query in _queries(seed):
        ours, theirs = model.get_scores(query), ref.get_scores(query)
        assert np.allclose(ours, theirs, rtol=1e-6, atol=0), query
        assert np.array_equal(ours, theirs)  # same float32 arithmetic: bit for bit
        for k in (1, 5, 30):
            top = [cid for cid, _ in index.search(query, k)]
            assert top == _top(theirs, ids, k)
    assert dict(df) == dict(Counter(t for tokens in docs for t in set(tokens or [""])))
    assert df.get("未见过的词", 0) == 0


def test_save_and_memory_mapped_load_round_trip(tmp_path: Path) -> None:
    docs = _corpus(4)
    saving = BM25Index(_ListCatalog(docs), tmp_path / "bm25")
    saving.save()
    saved = tmp_path / "bm25" / "gen-1"
    assert json.loads((saved / "ids.json").read_text(encoding="utf-8")) == [f"c{i:04d}" for i in range(len(docs))]

    fitted = BM25Index(_ListCatalog(docs))  # no directory: fits in memory
    reader = BM25Index(_ListCatalog(docs), tmp_path / "bm25")
    ids, model, df = reader._fresh()
    assert isinstance(model.indices, np.memmap) and isinstance(model.weights, np.memmap)
    assert ids == fitted._fresh()[0]
    for query in _queries(4):
        assert reader.search(query, 10) == fitted.search(query, 10)
    assert dict(df) == dict(fitted.doc_freq())

    # Another generation (or another format / parameters) is stale: refit in memory.
    stale = BM25Index(_ListCatalog(docs[:50], generation=2), tmp_path / "bm25")
    assert len(stale._fresh()[0]) == 50 and not isinstance(stale._fresh()[1].indices, np.memmap)
    assert not BM25Index(_ListCatalog(docs), tmp_path / "bm25", k1=1.5).is_saved(1)


def test_a_save_replaces_older_generations_and_leftovers(tmp_path: Path) -> None:
    folder = tmp_path / "bm25"
    BM25Index(_ListCatalog(_corpus(5)), folder).save()
    (folder / ".tmp-killed").mkdir()  # a save killed half-way
    (folder / "gen-0").mkdir()  # e.g. a save in an older format
    BM25Index(_ListCatalog(_corpus(5), generation=2), folder).save()
    assert sorted(p.name for p in folder.iterdir()) == ["gen-2"]


def test_empty_corpus(tmp_path: Path) -> None:
    index = BM25Index(_ListCatalog([]), tmp_path / "bm25")
    assert index.search(["开发区"], 5) == []
    assert index.doc_freq().get("开发区", 0) == 0 and len(index.doc_freq()) == 0
    index.save()
    reader = BM25Index(_ListCatalog([]), tmp_path / "bm25")
    assert reader.is_saved(1) and reader._fresh()[0] == [] and reader.search(["开发区"], 5) == []


def test_documents_without_tokens() -> None:
    docs = [[], ["开发区", "项目"], [], ["项目"]]
    index = BM25Index(_ListCatalog(docs))
    ref = _reference(docs)
    model = index._fresh()[1]
    assert np.array_equal(model.get_scores(["项目"]), ref.get_scores(["项目"]))
    assert [cid for cid, _ in index.search(["项目", "开发区"], 10)] == ["c0001", "c0003"]
    assert index.search([], 10) == [] and index.search(["未见过的词"], 10) == []
    only_empty = BM25Index(_ListCatalog([[], []]))
    assert only_empty.search(["项目"], 3) == [] and only_empty.doc_freq().get("项目", 0) == 0


# --------------------------------------------------------------------------- a build's update of the saved fit


def _commit(catalog: Catalog, sources: dict[str, list[list[str]]], removed: tuple[str, ...] = ()) -> None:
    """Commit ``sources`` (path → its chunks' tokens; a chunk's id is derived from path and tokens)."""
    replaced = {}
    for path, docs in sources.items():
        chunks = [(Chunk(id=f"{path}:{n}:{'/'.join(tokens)[:40]}", text="", source=path), tokens) for n, tokens in enumerate(docs)]
        record = SourceRecord(path, "sha", tuple(c.id for c, _ in chunks), len(chunks))
        replaced[path] = (record, [(c, tokens_json(tokens) if n % 2 else tokens) for n, (c, tokens) in enumerate(chunks)])
    catalog.commit(replaced, removed, {})


def _same_fit(a: BM25Index, b: BM25Index, queries: list[list[str]]) -> None:
    ids_a, model_a, df_a = a._fresh()
    ids_b, model_b, df_b = b._fresh()
    assert sorted(ids_a) == sorted(ids_b) and len(ids_a) == len(set(ids_a))
    assert dict(df_a) == dict(df_b)
    for query in queries:
        by_id_a = dict(zip(ids_a, model_a.get_scores(query).tolist(), strict=True))
        by_id_b = dict(zip(ids_b, model_b.get_scores(query).tolist(), strict=True))
        assert by_id_a == by_id_b, query  # bit for bit
        assert a.search(query, 20) == b.search(query, 20)


def test_a_build_updates_the_previous_save_with_the_changed_sources_only(tmp_path: Path, monkeypatch) -> None:
    rng = random.Random(7)
    catalog = Catalog(tmp_path / "catalog.sqlite")
    corpus = {f"s{i:02d}.txt": [_tokens(rng, rng.randint(0, 60)) for _ in range(rng.randint(1, 8))] for i in range(30)}
    _commit(catalog, corpus)
    folder = tmp_path / "bm25"
    BM25Index(catalog, folder).save()
    assert BM25Index(catalog, folder).is_saved(1)

    # One source edited (with words no other chunk has), one removed, one added, one unchanged but
    # re-committed; words only the removed source had must leave the vocabulary.
    corpus["s03.txt"] = [["全新词甲", "开发区"], [], ["全新词乙", "全新词乙", "项"]]
    corpus["s10.txt"] = corpus["s10.txt"][:1]
    corpus["new.txt"] = [["项目", "全新词丙"]]
    _commit(catalog, {k: corpus[k] for k in ("s03.txt", "s10.txt", "new.txt", "s04.txt")}, removed=("s29.txt",))
    read: list[set[str] | None] = []
    original = Catalog.iter_tokens
    monkeypatch.setattr(Catalog, "iter_tokens", lambda self, sources=None: read.append(sources and set(sources)) or original(self, sources))
    BM25Index(catalog, folder).save(1, {"s03.txt", "s10.txt", "new.txt", "s04.txt"})
    assert read == [{"s03.txt", "s10.txt", "new.txt", "s04.txt"}]  # the other sources' tokens were not read
    monkeypatch.undo()

    updated = BM25Index(catalog, folder)
    assert updated.is_saved(2) and isinstance(updated._fresh()[1].weights, np.memmap)
    queries = [*_queries(7), ["全新词甲"], ["全新词乙", "开发区"], ["全新词丙"]]
    _same_fit(updated, BM25Index(catalog), queries)  # the same as a fit of the whole catalog
    assert updated.doc_freq().get("全新词乙") == 1
    assert sorted(p.name for p in folder.iterdir()) == ["gen-2"]


def test_an_update_falls_back_to_a_fit_when_its_base_does_not_fit(tmp_path: Path) -> None:
    rng = random.Random(8)
    catalog = Catalog(tmp_path / "catalog.sqlite")
    _commit(catalog, {f"s{i}.txt": [_tokens(rng, 20)] for i in range(6)})
    folder = tmp_path / "bm25"
    BM25Index(catalog, folder).save()
    _commit(catalog, {"s1.txt": [["开发区"]]})
    # Wrong claims about what changed: the result would not list exactly the committed chunks.
    index = BM25Index(catalog, folder)
    assert index._update(*index._load(1)[:2], changed_sources={"s2.txt"}) is None
    _commit(catalog, {"s2.txt": [["项目"]]})  # two commits since the save of generation 1
    index.save(1, {"s2.txt"})
    _same_fit(BM25Index(catalog, folder), BM25Index(catalog), _queries(8))


def test_an_incremental_build_saves_what_a_refit_gives(tmp_path: Path, monkeypatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(12):
        (corpus / f"b{i:02d}.txt").write_text(bulletin_text(i), encoding="utf-8")
    settings = make_settings(tmp_path / "data", corpus_dir=corpus)
    index = BulletinIndex(settings)
    Builder(index, show_progress=False).build(corpus)

    edited = corpus / "b03.txt"
    edited.write_text(edited.read_text(encoding="utf-8").replace("带动就业", "带动新增就业岗位"), encoding="utf-8")
    (corpus / "b11.txt").unlink()
    (corpus / "b12.txt").write_text(bulletin_text(12), encoding="utf-8")
    fits = []
    original = BM25Index._fit
    monkeypatch.setattr(BM25Index, "_fit", lambda self: fits.append(1) or original(self))
    report = Builder(index, show_progress=False).build(corpus)
    assert report.files_changed == report.files_new == report.files_removed == 1
    assert fits == []  # the save of the previous build was updated, not refitted
    monkeypatch.undo()

    queries = ["带动新增就业岗位", "第12-0-0批项目总投资", "第11-0-0批项目", "开发区 签约投资额", "光伏组件"]
    from_update = {q: BulletinIndex(settings).keyword(q, 10) for q in queries}
    shutil.rmtree(index.keyword_index.directory)
    refitted = BulletinIndex(settings)
    assert {q: refitted.keyword(q, 10) for q in queries} == from_update
    assert from_update["带动新增就业岗位"] and from_update["第12-0-0批项目总投资"]


def test_an_unchanged_build_neither_refits_nor_resaves(settings, monkeypatch) -> None:
    index = BulletinIndex(settings)
    Builder(index, show_progress=False).build(settings.corpus_dir)
    saved = index.keyword_index.directory / f"gen-{index.catalog.generation}" / "bm25.json"
    before = saved.stat().st_mtime_ns
    calls = []
    monkeypatch.setattr(BM25Index, "save", lambda self, *a, **k: calls.append("save"))
    monkeypatch.setattr(BM25Index, "_fit", lambda self: calls.append("fit"))
    report = Builder(index, show_progress=False).build(settings.corpus_dir)
    assert report.embedded == 0 and report.files_unchanged >= 1 and calls == []
    assert saved.stat().st_mtime_ns == before
