"""BM25 keyword index: saved by builds, loaded by readers, same results either way; top-k selection."""

from __future__ import annotations

import shutil

import numpy as np

from index.builder import Builder
from index.keyword import BM25Index
from index.store import BulletinIndex, Filter

QUERIES = ["吕梁 三个一批 签约投资额", "清徐老陈醋", "晶科能源 56GW", "孝义经开区 招商", "规上工业增加值 -2.6%", "人才绿卡"]


def test_build_saves_the_fitted_index_for_the_committed_generation(settings) -> None:
    index = BulletinIndex(settings)
    Builder(index, show_progress=False).build(settings.corpus_dir)
    saved = index.keyword_index.directory / f"gen-{index.catalog.generation}"
    assert (saved / "ids.json").exists() and (saved / "df.json").exists()
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
