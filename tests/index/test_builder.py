"""index/builder.py + index/store.py: full, incremental and forced builds; both stores always agree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from index.builder import Builder
from index.chunking import chunk_bulletin, chunker_version
from index.embedding import CachedEmbedder, HashingEmbedder
from index.errors import IndexMismatchError, IndexNotBuiltError
from index.loaders import load_file
from index.store import BulletinIndex, Filter
from settings import Settings
from tests.conftest import make_settings
from tests.index._support import (
    SEED_NAME,
    CountingEmbedder,
    assert_consistent,
    bulletin_text,
    expected_chunk_ids,
    seed_article_text,
)

pytestmark = pytest.mark.integration  # starts processes or servers: `make test`, not plain `pytest`

QUERY = "吕梁 三个一批 签约投资额"


def _build(index: BulletinIndex, corpus: Path, rebuild: bool = False):
    report = Builder(index, show_progress=False).build(corpus, rebuild=rebuild)
    assert report.chunks_total == index.catalog.count()
    return report


@pytest.fixture
def built(tmp_path: Path, corpus_copy: Path):
    """A fresh index over a writable copy of the seed corpus, with a counting embedder."""
    settings = make_settings(tmp_path / "data", corpus_dir=corpus_copy)
    counter = CountingEmbedder(HashingEmbedder())
    index = BulletinIndex(settings, embedder=CachedEmbedder(counter, settings.embed_cache_path))
    report = _build(index, corpus_copy)
    yield index, corpus_copy, report, counter
    index.close()


def _ids_by_source(index: BulletinIndex) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for chunk in index.chunks.values():
        out.setdefault(chunk.source, set()).add(chunk.id)
    return out


# --------------------------------------------------------------------------- first build


def test_first_build_of_the_seed(built) -> None:
    index, corpus, report, counter = built
    seed_chunks = chunk_bulletin(
        load_file(corpus / SEED_NAME, SEED_NAME, json.loads((corpus / "manifest.json").read_text())[SEED_NAME]), 200
    )
    assert (report.files_new, report.files_changed, report.files_unchanged, report.files_removed) == (1, 0, 0, 0)
    assert report.articles == 2 and report.skipped == []
    assert report.chunks_added == report.chunks_total == report.embedded == len(seed_chunks)
    assert counter.encoded == len(seed_chunks)
    ids = assert_consistent(index)
    assert ids == {c.id for c in seed_chunks}

    stats = index.stats()
    assert (stats["files"], stats["articles"], stats["chunks"]) == (1, 2, len(seed_chunks))
    assert set(stats["chunks_by_city"]) == {"太原市", "吕梁市", "-"}  # "-": the 刊名 chunk
    assert stats["chunks_by_city"]["-"] == 1
    assert sum(stats["chunks_by_city"].values()) == len(seed_chunks)
    assert (stats["embed_model"], stats["embed_dim"], stats["chunker"]) == ("hashing:256", "256", chunker_version(200))
    assert stats["lexicon_terms"] > 20 and "三个一批" in index.lexicon.terms
    index.check()


def test_searches_return_committed_chunks(built) -> None:
    index, *_ = built
    keyword = index.keyword(QUERY, 5)
    assert "24.07亿元" in index.chunks[keyword[0][0]].text
    dense = index.dense(QUERY, 5)
    assert len(dense) == 5 and all(cid in index.chunks for cid, _ in dense)
    assert [s for _, s in dense] == sorted((s for _, s in dense), reverse=True)
    assert any("24.07亿元" in index.chunks[cid].text for cid, _ in dense)

    lvliang = Filter(city="吕梁市")
    assert all(index.chunks[cid].city == "吕梁市" for cid, _ in index.dense("开发区 项目", 10, lvliang))
    assert all(index.chunks[cid].city == "吕梁市" for cid, _ in index.keyword("开发区 项目", 10, lvliang))
    taiyuan = index.keyword("清徐老陈醋", 3, Filter(city="太原市"))
    assert "清徐老陈醋省级专业镇" in index.chunks[taiyuan[0][0]].text
    assert index.keyword("清徐老陈醋", 3, Filter(city="吕梁市")) == []
    assert index.keyword("", 3) == []


def test_rebuild_with_nothing_changed_touches_nothing(built) -> None:
    index, corpus, first, counter = built
    generation = index.catalog.generation
    before = assert_consistent(index)
    report = _build(index, corpus)
    assert (report.files_new, report.files_changed, report.files_unchanged, report.files_removed) == (0, 0, 1, 0)
    assert (report.embedded, report.chunks_added, report.chunks_removed, report.orphans_deleted) == (0, 0, 0, 0)
    assert report.articles == 2
    assert index.catalog.generation == generation  # not even a commit
    assert counter.encoded == first.embedded
    assert assert_consistent(index) == before


# --------------------------------------------------------------------------- incremental


def test_adding_a_file_adds_only_its_chunks(built) -> None:
    index, corpus, *_ = built
    before = assert_consistent(index)
    text = seed_article_text("吕梁市", "# 晋中市：以“三个一批”活动为抓手").replace("吕梁", "晋中")
    (corpus / "晋中.md").write_text(text, encoding="utf-8")

    report = _build(index, corpus)
    assert (report.files_new, report.files_unchanged) == (1, 1)
    by_source = _ids_by_source(index)
    assert by_source[SEED_NAME] == before  # nothing of the seed changed
    new = by_source["晋中.md"]
    assert new == expected_chunk_ids(corpus) - before
    assert report.chunks_added == report.embedded == len(new)
    added = index.get(sorted(new))
    assert {c.city for c in added} == {"晋中市"}
    assert {c.article_title for c in added} == {"晋中市：以“三个一批”活动为抓手"}
    assert any("签约投资额24.07亿元" in c.text for c in added)
    assert_consistent(index)
    assert index.stats()["chunks_by_city"]["晋中市"] == len(new)


def test_changing_one_figure_re_embeds_one_chunk(built) -> None:
    index, corpus, first, counter = built
    before = {c.id: c for c in index.chunks.values()}
    seed = corpus / SEED_NAME
    seed.write_text(seed.read_text(encoding="utf-8").replace("24.07 亿元", "25.08 亿元"), encoding="utf-8")

    report = _build(index, corpus)
    after = {c.id: c for c in index.chunks.values()}
    assert (report.files_changed, report.embedded, report.chunks_added, report.chunks_removed) == (1, 1, 1, 1)
    (gone,) = set(before) - set(after)
    (new,) = set(after) - set(before)
    assert "24.07亿元" in before[gone].text and "25.08亿元" in after[new].text
    assert counter.encoded == first.embedded + 1
    assert_consistent(index)
    assert "25.08亿元" in index.chunks[index.keyword("签约投资额", 1)[0][0]].text


def test_editing_a_paragraph_only_touches_chunks_from_there_on(built) -> None:
    index, corpus, *_ = built
    before = {c.id: c for c in index.chunks.values()}
    seed = corpus / SEED_NAME
    text = seed.read_text(encoding="utf-8")
    old = "推进土地储备入库，"
    assert text.count(old) == 1
    seed.write_text(text.replace(old, "推进土地储备入库、加快收储，"), encoding="utf-8")  # longer: offsets shift

    report = _build(index, corpus)
    after = {c.id: c for c in index.chunks.values()}
    changed = set(before) - set(after)
    assert changed and len(changed) <= 3
    edit_at = next(c for c in after.values() if "加快收储" in c.text).start
    for cid in changed:
        chunk = before[cid]
        assert chunk.article_index == 1 and chunk.end > edit_at, "a chunk before the edit changed"
    assert all(c.id in after for c in before.values() if c.article_index == 0)  # the other article is untouched
    assert report.embedded == len(set(after) - set(before)) <= 3
    assert_consistent(index)


def test_context_change_re_embeds_chunks_that_kept_their_id(built) -> None:
    """An item heading edited: later paragraphs of that item keep text and id but not their context."""
    index, corpus, *_ = built
    seed = corpus / SEED_NAME
    seed.write_text(
        seed.read_text(encoding="utf-8").replace("一是构建现代化产业体系", "一是打造现代化产业体系"), encoding="utf-8"
    )
    report = _build(index, corpus)
    item = "一是打造现代化产业体系，筑牢高质量发展硬支撑"
    in_item = [c for c in index.chunks.values() if c.item == item]
    assert len(in_item) >= 4
    assert report.embedded == len(in_item)  # the changed chunk and every chunk whose context changed
    assert_consistent(index)  # no stale vector, no stale Chroma metadata


def test_manifest_change_is_picked_up(built) -> None:
    index, corpus, *_ = built
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    manifest[SEED_NAME]["articles"][1]["city"] = "晋中市"
    (corpus / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")

    report = _build(index, corpus)
    assert report.files_changed == 1
    assert {c.city for c in index.chunks.values() if c.article_index == 1} == {"晋中市"}
    hits = index.dense(QUERY, 50, Filter(city="晋中市"))
    assert hits and all(index.chunks[cid].article_index == 1 for cid, _ in hits)
    assert_consistent(index)


def test_removing_a_file_removes_exactly_its_chunks_from_both_stores(built) -> None:
    index, corpus, *_ = built
    seed_ids = assert_consistent(index)
    (corpus / "大同.txt").write_text(bulletin_text(1, "大同市"), encoding="utf-8")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "长治.md").write_text("# 长治市：项目建设\n\n" + bulletin_text(2, "长治市"), encoding="utf-8")
    _build(index, corpus)
    by_source = _ids_by_source(index)
    assert set(by_source) == {SEED_NAME, "大同.txt", "sub/长治.md"}
    datong = by_source["大同.txt"]

    (corpus / "大同.txt").unlink()
    report = _build(index, corpus)
    assert (report.files_removed, report.chunks_removed, report.embedded) == (1, len(datong), 0)
    ids = assert_consistent(index)
    assert ids == seed_ids | by_source["sub/长治.md"]
    assert not ids & datong and not index.dense_store.ids() & datong
    assert "大同.txt" not in index.catalog.sources()
    assert all(index.chunks[cid].source != "大同.txt" for cid, _ in index.dense("大同市 项目", 20))

    shutil.rmtree(corpus / "sub")
    _build(index, corpus)
    assert assert_consistent(index) == seed_ids


def test_removing_every_file_empties_the_index(built) -> None:
    index, corpus, *_ = built
    (corpus / SEED_NAME).unlink()
    report = _build(index, corpus)
    assert report.files_removed == 1 and report.chunks_total == 0
    assert assert_consistent(index) == set()
    assert index.dense(QUERY, 5) == [] and index.keyword(QUERY, 5) == []


def test_single_file_build_and_missing_corpus(tmp_path: Path, corpus_copy: Path) -> None:
    settings = make_settings(tmp_path / "data", corpus_dir=corpus_copy)
    index = BulletinIndex(settings)
    report = _build(index, corpus_copy / SEED_NAME)
    assert report.files_new == 1 and set(index.catalog.sources()) == {SEED_NAME}
    assert index.chunks[index.keyword(QUERY, 1)[0][0]].article_title.startswith("吕梁市：")  # manifest still applies
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _build(index, tmp_path / "nowhere")
    index.close()


# --------------------------------------------------------------------------- versions


def test_chunk_chars_change_re_chunks_everything(built, monkeypatch: pytest.MonkeyPatch) -> None:
    index, corpus, first, _ = built
    data_dir = index.settings.data_dir
    mean_before = sum(len(c.text) for c in index.chunks.values()) / len(index.chunks)
    monkeypatch.setenv("BULLETIN_CHUNK_CHARS", "80")
    settings = Settings(_env_file=None, data_dir=data_dir, embed_model="hashing", corpus_dir=corpus)
    assert settings.chunk_chars == 80
    smaller = BulletinIndex(settings)
    with pytest.raises(IndexMismatchError, match="chunker"):
        smaller.check()

    report = _build(smaller, corpus)
    assert any("chunker changed" in w for w in report.warnings)
    assert report.files_changed == 1 and report.files_unchanged == 0
    assert smaller.catalog.meta()["chunker"] == chunker_version(80)
    assert report.chunks_total > first.chunks_total
    assert smaller.catalog.chunk_ids() == expected_chunk_ids(corpus, 80)
    assert sum(len(c.text) for c in smaller.chunks.values()) / len(smaller.chunks) < mean_before
    smaller.check()
    assert_consistent(smaller)
    assert _build(smaller, corpus).files_unchanged == 1  # and then it is stable again
    smaller.close()


def test_model_mismatch_is_refused_until_rebuild(tmp_path: Path, corpus_copy: Path) -> None:
    data = tmp_path / "data"
    old = BulletinIndex(make_settings(data, corpus_dir=corpus_copy, embed_model="hashing:64"))
    _build(old, corpus_copy)
    old.check()
    assert old.dense_store.metadata()["embed_dim"] == 64
    old.close()

    new = BulletinIndex(make_settings(data, corpus_dir=corpus_copy))  # hashing = hashing:256
    with pytest.raises(IndexMismatchError) as info:
        new.check()
    message = str(info.value)
    assert "hashing:64" in message and "hashing:256" in message
    assert "python -m index build --rebuild" in message

    with pytest.raises(IndexMismatchError) as info:
        _build(new, corpus_copy)
    assert "hashing:64" in str(info.value) and "python -m index build --rebuild" in str(info.value)
    assert new.catalog.meta()["embed_model"] == "hashing:64"  # the refused build changed nothing

    report = _build(new, corpus_copy, rebuild=True)
    assert report.files_new == 1 and report.embedded == report.chunks_total
    new.check()
    assert new.catalog.meta()["embed_model"] == "hashing:256"
    assert new.dense_store.metadata()["embed_dim"] == 256
    assert_consistent(new)
    assert len(new.dense(QUERY, 3)) == 3
    new.close()


def test_explicit_embedder_dimension_mismatch(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    _build(BulletinIndex(settings), settings.corpus_dir)
    odd = BulletinIndex(settings, embedder=HashingEmbedder(64))
    with pytest.raises(IndexMismatchError, match="dimension 256"):
        odd.check()


def test_check_on_a_missing_index(tmp_path: Path) -> None:
    index = BulletinIndex(make_settings(tmp_path / "data"))
    assert not index.is_built()
    with pytest.raises(IndexNotBuiltError, match="python -m index build"):
        index.check()


def test_chroma_collection_of_another_model_is_refused(tmp_path: Path) -> None:
    """A catalog that was lost (or another data dir) must not mix vectors of two models in one collection."""
    settings = make_settings(tmp_path / "data", embed_model="hashing:64")
    _build(BulletinIndex(settings), settings.corpus_dir)
    shutil.rmtree(settings.catalog_dir)
    index = BulletinIndex(make_settings(tmp_path / "data"))
    with pytest.raises(IndexMismatchError, match="embed_model='hashing:64'"):
        _build(index, settings.corpus_dir)


# --------------------------------------------------------------------------- embedding cache


def test_rebuild_reuses_the_embedding_cache(built) -> None:
    index, corpus, first, counter = built
    calls = counter.encoded
    assert calls == first.embedded
    report = _build(index, corpus, rebuild=True)
    assert report.files_new == 1
    assert report.embedded == first.embedded  # Chroma was dropped: every vector written again …
    assert counter.encoded == calls  # … but none computed again
    assert_consistent(index)

    # A new index object over the same data dir (a new process, say) shares the cache file.
    counter2 = CountingEmbedder(HashingEmbedder())
    again = BulletinIndex(index.settings, embedder=CachedEmbedder(counter2, index.settings.embed_cache_path))
    _build(again, corpus, rebuild=True)
    assert counter2.encoded == 0
    again.close()


def test_embedder_is_not_loaded_when_nothing_changed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    _build(BulletinIndex(settings), settings.corpus_dir)
    fresh = BulletinIndex(settings)
    _build(fresh, settings.corpus_dir)
    assert not fresh.embedder_loaded
    fresh.keyword(QUERY, 3)
    assert not fresh.embedder_loaded  # keyword search needs no model either


# --------------------------------------------------------------------------- readers see commits


def test_a_second_reader_sees_new_commits(built) -> None:
    index, corpus, *_ = built
    reader = BulletinIndex(index.settings)
    assert set(reader.chunks) == set(index.chunks)
    generation = reader.catalog.generation
    (corpus / "大同.txt").write_text(bulletin_text(5, "大同市"), encoding="utf-8")
    _build(index, corpus)
    assert reader.catalog.generation == generation + 1
    assert set(reader.chunks) == set(index.chunks)
    assert any(c.city == "大同市" for c in reader.chunks.values())
    assert reader.df("大同市") >= 1 and reader.df("不存在的词") == 0
    reader.close()


def test_dense_ignores_vectors_the_catalog_does_not_list(built) -> None:
    """What a killed build leaves behind: vectors in Chroma that no commit lists."""
    import numpy as np

    index, corpus, *_ = built
    top = index.dense(QUERY, 1)[0][0]
    vector = index.embedder.embed_query(QUERY)
    orphans = [f"c-orphan{n:08d}" for n in range(60)]  # more than the few extra hits dense() asks for
    index.dense_store.upsert(
        orphans,
        np.asarray([vector] * len(orphans)),
        [{"city": "吕梁市", "source": "gone.txt"}] * len(orphans),
    )
    assert set(orphans) <= index.dense_store.ids()
    assert index.dense(QUERY, 1)[0][0] == top
    hits = index.dense(QUERY, 5)
    assert len(hits) == 5 and not {cid for cid, _ in hits} & set(orphans)
    assert len(index.dense(QUERY, 5, Filter(city="吕梁市"))) == 5
    assert not {cid for cid, _ in index.dense(QUERY, 50)} & set(orphans)
    report = _build(index, corpus)  # nothing changed, but the build cleans up
    assert report.orphans_deleted == len(orphans) and report.embedded == 0
    assert_consistent(index)


def test_max_file_mb_setting_applies_to_builds(tmp_path: Path, corpus_copy: Path) -> None:
    (corpus_copy / "huge.txt").write_text("吕梁市开发区建设稳步推进。\n" * 160_000, encoding="utf-8")  # ~2.2 MB
    index = BulletinIndex(make_settings(tmp_path / "data", corpus_dir=corpus_copy, max_file_mb=1))
    report = Builder(index, show_progress=False).build(corpus_copy)
    assert [s.path for s in report.skipped] == ["huge.txt"]
    assert "BULLETIN_MAX_FILE_MB" in report.skipped[0].reason and report.articles == 2
    index.close()


def test_lexicon_is_kept_per_source_and_equals_a_full_extraction(tmp_path: Path, corpus_copy: Path) -> None:
    from index.lexicon import Lexicon

    index = BulletinIndex(make_settings(tmp_path / "data", corpus_dir=corpus_copy))
    builder = Builder(index, show_progress=False)
    builder.build(corpus_copy)
    (corpus_copy / "新增.txt").write_text("朔州市开发区推行“拿地即开工”模式，建成朔州智能制造产业园。\n", encoding="utf-8")
    report = builder.build(corpus_copy)
    assert report.files_new == 1
    meta = index.catalog.meta()
    per_source = json.loads(meta["lexicon_sources"])
    assert sorted(per_source) == sorted(index.catalog.sources()) and "拿地即开工" in per_source["新增.txt"]
    every_text = [c.text for c in index.catalog.iter_chunk_data()]
    assert meta["lexicon"] == Lexicon.from_texts(every_text).to_json()
    assert "拿地即开工" in index.lexicon.tokenize("推行拿地即开工模式")
    (corpus_copy / "新增.txt").unlink()
    builder.build(corpus_copy)
    assert "拿地即开工" not in index.catalog.meta()["lexicon"]
    index.close()


def test_a_new_corpus_term_retokenises_only_the_texts_containing_it(tmp_path: Path, corpus_copy: Path) -> None:
    """Incremental tokens equal a fresh build's, although only the affected sources were retokenised."""
    (corpus_copy / "甲.txt").write_text("大同市开发区建设“数字孪生工厂”，打造智慧园区。\n", encoding="utf-8")
    (corpus_copy / "乙.txt").write_text("晋城市开发区数字孪生工厂项目开工，园区道路同步建设。\n", encoding="utf-8")
    index = BulletinIndex(make_settings(tmp_path / "a", corpus_dir=corpus_copy))
    builder = Builder(index, show_progress=False)
    builder.build(corpus_copy)
    retokenised: list[str] = []
    original = index.lexicon.__class__.tokenize

    (corpus_copy / "甲.txt").write_text("大同市开发区建设智慧园区。\n", encoding="utf-8")  # the quoted term disappears
    def counting(self, text):
        retokenised.append(text)
        return original(self, text)

    index.lexicon.__class__.tokenize = counting
    try:
        builder.build(corpus_copy)
    finally:
        index.lexicon.__class__.tokenize = original
    assert "数字孪生工厂" not in index.catalog.meta()["lexicon"]
    assert any("晋城市" in t for t in retokenised)  # 乙 contains the removed term
    assert not any("吕梁" in t for t in retokenised)  # the seed does not: kept as it was
    fresh = BulletinIndex(make_settings(tmp_path / "b", corpus_dir=corpus_copy))
    Builder(fresh, show_progress=False).build(corpus_copy)
    assert dict(index.catalog.iter_tokens()) == dict(fresh.catalog.iter_tokens())
    index.close()
    fresh.close()
