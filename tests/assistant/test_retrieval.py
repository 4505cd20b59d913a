"""``assistant.retrieval``: dense/BM25/hybrid search, the city filter, the heuristic reranker and the
CrossEncoder seam (a tiny random ``transformers`` model saved under tmp_path; offline)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.query import analyse
from assistant.retrieval import (
    CrossEncoderReranker,
    HeuristicReranker,
    RetrievalConfig,
    Retriever,
    make_reranker,
    mentions,
    period_match,
)
from index.builder import Builder
from index.store import BulletinIndex, Filter
from index.types import Chunk, Hit
from tests.conftest import ROOT, make_settings

MODES = ("dense", "bm25", "hybrid")
QUESTIONS = [
    json.loads(line)["question"]
    for line in (ROOT / "evals/datasets/bulletins_qa.jsonl").read_text(encoding="utf-8").splitlines()
][::6]  # every 6th question: ~28 varied questions (Chinese, English, mixed)


def build_passages(tmp: Path, records: list[dict[str, str]]) -> BulletinIndex:
    """A jsonl passage corpus indexed with the fake embedder into ``tmp``."""
    tmp.mkdir(parents=True, exist_ok=True)
    corpus = tmp / "passages.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    index = BulletinIndex(make_settings(tmp / "data"))
    Builder(index, show_progress=False).build(corpus)
    return index


# --- the seed index ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rerank", ["none", "heuristic"])
def test_modes_return_committed_chunks_ranked_from_one(seed_index, mode: str, rerank: str) -> None:
    _, index = seed_index
    retriever = Retriever(index, RetrievalConfig(mode=mode, rerank=rerank))
    committed = index.chunks
    for question in QUESTIONS:
        hits = retriever.search(analyse(question), 10)
        assert hits, question
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
        assert all(h.chunk.id in committed and h.chunk == committed[h.chunk.id] for h in hits)
        assert len({h.chunk.id for h in hits}) == len(hits)
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True), (question, scores)
        if mode != "bm25":
            assert ("rerank" in hits[0].scores) == (rerank == "heuristic")


@pytest.mark.parametrize("mode", MODES)
def test_search_is_deterministic(seed_index, mode: str) -> None:
    _, index = seed_index
    first = Retriever(index, RetrievalConfig(mode=mode))
    second = Retriever(index, RetrievalConfig(mode=mode))
    for question in QUESTIONS:
        a = [(h.chunk.id, h.score, h.rank) for h in first.search(analyse(question), 10)]
        assert a == [(h.chunk.id, h.score, h.rank) for h in first.search(analyse(question), 10)]
        assert a == [(h.chunk.id, h.score, h.rank) for h in second.search(analyse(question), 10)]


def test_k_limits_and_timings_are_reported(seed_index) -> None:
    _, index = seed_index
    retriever = Retriever(index, RetrievalConfig())
    timings: dict[str, float] = {}
    hits = retriever.search(analyse("吕梁市“三个一批”活动签约投资额是多少？"), 3, timings=timings)
    assert len(hits) == 3 and {"dense_ms", "bm25_ms", "rerank_ms"} <= timings.keys()
    assert [h.chunk.id for h in hits] == [h.chunk.id for h in retriever.search(analyse("吕梁市“三个一批”活动签约投资额是多少？"), 10)][:3]


@pytest.mark.parametrize("mode", MODES)
def test_city_filter_only_returns_that_city(seed_index, mode: str) -> None:
    _, index = seed_index
    cities = sorted({c.city for c in index.chunks.values() if c.city})
    assert cities == ["吕梁市", "太原市"]
    retriever = Retriever(index, RetrievalConfig(mode=mode))
    for city in cities:
        flt = Filter(city=city)
        found_any = False
        for question in QUESTIONS:
            hits = retriever.search(analyse(question), 10, flt)
            assert all(h.chunk.city == city for h in hits), (city, question, [h.chunk.city for h in hits])
            assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
            found_any |= bool(hits)
        assert found_any
    assert retriever.search(analyse("开发区签约投资额"), 10, Filter(city="大同市")) == []


# --- ties --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def duplicates_index(tmp_path_factory: pytest.TempPathFactory) -> BulletinIndex:
    """Six copies of one passage, ids written in reverse order, plus an unrelated passage."""
    text = "吕梁市开发区签约项目12个，签约投资额24.07亿元。"
    records = [{"id": f"dup-{c}", "text": text} for c in "zyxwvu"] + [{"id": "other", "text": "太原市聚力培育9条重点产业链。"}]
    return build_passages(tmp_path_factory.mktemp("ties"), records)


@pytest.mark.parametrize("rerank", ["none", "heuristic"])
@pytest.mark.parametrize("mode", MODES)
def test_tied_passages_are_ordered_by_id_in_every_mode(duplicates_index: BulletinIndex, mode: str, rerank: str) -> None:
    """Identical passages score the same; their order must not depend on the store's insertion
    order (BM25 and RRF break ties by id; dense must too, or hybrid inherits the arbitrary order)."""
    retriever = Retriever(duplicates_index, RetrievalConfig(mode=mode, rerank=rerank))
    hits = retriever.search(analyse("吕梁市签约投资额是多少？"), 10)
    dups = [h.chunk.id for h in hits if h.chunk.id.startswith("dup-")]
    assert dups == sorted(dups) and len(dups) == 6, [(h.chunk.id, h.score) for h in hits]


# --- the heuristic reranker ------------------------------------------------------------------------------
SUBJECTS = [  # (what the question names, the passage's statement)
    ("签约投资额", "签约项目12个，签约投资额24.07亿元"),
    ("规上工业增加值", "8个工业类开发区规上工业增加值完成162.33亿元"),
    ("平台公司招引项目总投资", "平台公司招引项目10个、总投资36.175亿元"),
    ("基础设施建设投资", "平台公司完成基础设施建设投资0.64亿元"),
    ("立项备案项目", "立项备案项目53个，其中实行承诺制办理21个"),
    ("高层次人才", "为开发区引进高层次人才25名"),
    ("运营公司", "已成立运营公司13家，实现平台公司全覆盖"),
]
PERIOD_PAIRS = [("2020年", "2021年"), ("2022年", "2023年"), ("2019年", "2024年"), ("一季度", "全年"),
                ("一季度", "三季度"), ("上半年", "一季度"), ("二季度", "下半年")]


def _hit(cid: str, text: str, score: float, rank: int) -> Hit:
    return Hit(chunk=Chunk(id=cid, text=text, source="t.txt", city="吕梁市"), score=score, rank=rank, scores={"fused": score})


@pytest.mark.parametrize(("a", "b"), PERIOD_PAIRS)
def test_heuristic_reranker_prefers_the_asked_period_over_a_higher_fused_score(a: str, b: str) -> None:
    reranker = HeuristicReranker()
    for subject, statement in SUBJECTS:
        text_a, text_b = f"{a}，吕梁市{statement}。", f"{b}，吕梁市{statement}。"
        for asked, right, wrong in ((a, text_a, text_b), (b, text_b, text_a)):
            analysis = analyse(f"吕梁市{asked}{subject}是多少？")
            # The wrong period comes first with a better fused score; the reranker must swap them.
            hits = [_hit("wrong", wrong, 1.0, 1), _hit("right", right, 0.9, 2)]
            ranked = reranker.rerank(analysis, hits)
            assert [h.chunk.text for h in ranked] == [right, wrong], (asked, subject)
            assert [h.rank for h in ranked] == [1, 2] and "rerank" in ranked[0].scores


def test_period_match_scores() -> None:
    for a, b in PERIOD_PAIRS:
        analysis = analyse(f"吕梁市{a}签约投资额是多少？")
        assert period_match(analysis, f"{a}，签约投资额24.07亿元") > 0
        assert period_match(analysis, f"{b}，签约投资额24.07亿元") < 0
        assert period_match(analysis, "签约投资额24.07亿元") == 0  # silent on the period: neither
    assert period_match(analyse("签约投资额是多少？"), "2020年一季度") == 0  # no period asked


def test_heuristic_reranker_keeps_the_order_when_nothing_distinguishes() -> None:
    hits = [_hit("b", "吕梁市签约投资额24.07亿元", 1.0, 1), _hit("a", "吕梁市签约投资额24.07亿元", 1.0, 2)]
    assert [h.chunk.id for h in HeuristicReranker().rerank(analyse("吕梁签约投资额是多少？"), hits)] == ["b", "a"]
    assert HeuristicReranker().rerank(analyse("吕梁签约投资额？"), []) == []


def test_a_chinese_question_puts_a_foreign_page_fragment_below_chinese_passages() -> None:
    foreign = _hit("en", "CVPR2022 Biometrics Workshop - Pet Biometric Challenge. Prize $20000.", 1.0, 1)
    chinese = _hit("zh", "新奥尔良当地时间6月21日，CVPR 2022开幕。", 0.8, 2)
    ranked = HeuristicReranker().rerank(analyse("CVPR2022在哪举办？"), [foreign, chinese])
    assert [h.chunk.id for h in ranked] == ["zh", "en"]
    # An English question keeps the English passage where its score puts it.
    ranked = HeuristicReranker().rerank(analyse("Where was the CVPR 2022 workshop held?"), [foreign, chinese])
    assert ranked[0].chunk.id == "en"


def test_mentions_place_by_city_text_or_context() -> None:
    from assistant.query import find_places

    chunk = Chunk(id="c", text="孝义经开区完善充实招商引资委员会", source="s", city="吕梁市", context="吕梁市 · 招商")
    [lvliang], [xiaoyi], [taiyuan] = find_places("吕梁"), find_places("孝义市"), find_places("太原市")
    assert mentions(chunk, lvliang) and mentions(chunk, xiaoyi) and not mentions(chunk, taiyuan)


PERIODS = sorted({p for pair in PERIOD_PAIRS for p in pair})


@pytest.fixture(scope="module")
def periods_index(tmp_path_factory: pytest.TempPathFactory) -> BulletinIndex:
    """For every subject and period: a passage ``s{i}-{period}``, and a wordier one ``…-more`` that
    repeats the question's words (so without the period evidence it outranks the plain one)."""
    records = []
    for i, (subject, statement) in enumerate(SUBJECTS):
        for period in PERIODS:
            records.append({"id": f"s{i}-{period}", "text": f"{period}，吕梁市开发区{statement}。"})
            records.append({"id": f"s{i}-{period}-more", "text": f"{period}，吕梁市开发区{statement}。吕梁市开发区{subject}情况良好。"})
    return build_passages(tmp_path_factory.mktemp("periods"), records)


def _period_misses(retriever: Retriever) -> list[tuple[str, str, list[str]]]:
    """Questions where another period's passage outranks the asked period's plain passage."""
    misses = []
    for i, (subject, _) in enumerate(SUBJECTS):
        for a, b in PERIOD_PAIRS:
            for asked, other in ((a, b), (b, a)):
                ids = [h.chunk.id for h in retriever.search(analyse(f"吕梁市开发区{asked}{subject}是多少？"), 30)]
                right, rival = f"s{i}-{asked}", f"s{i}-{other}-more"
                ok = bool(ids) and ids[0] in (right, right + "-more") and right in ids
                if not ok or (rival in ids and ids.index(rival) < ids.index(right)):
                    misses.append((subject, asked, ids[:4]))
    return misses


@pytest.mark.parametrize("mode", MODES)
def test_retriever_ranks_the_asked_period_first(periods_index: BulletinIndex, mode: str) -> None:
    assert not _period_misses(Retriever(periods_index, RetrievalConfig(mode=mode, rerank="heuristic")))


def test_the_period_preference_comes_from_the_reranker(periods_index: BulletinIndex) -> None:
    """Control: without the reranker, dense retrieval prefers the wordier passage of the wrong period."""
    assert _period_misses(Retriever(periods_index, RetrievalConfig(mode="dense", rerank="none")))


def test_period_aliases_rank_like_the_canonical_period(periods_index: BulletinIndex) -> None:
    retriever = Retriever(periods_index, RetrievalConfig(rerank="heuristic"))
    for alias in ("第一季度", "Q1", "1-3月"):
        hits = retriever.search(analyse(f"吕梁市开发区{alias}签约投资额是多少？"), 3)
        assert hits[0].chunk.id in ("s0-一季度", "s0-一季度-more"), (alias, [h.chunk.id for h in hits])


# --- make_reranker ------------------------------------------------------------------------------------
def test_make_reranker() -> None:
    assert make_reranker("none") is None
    assert make_reranker("") is None
    assert isinstance(make_reranker("heuristic"), HeuristicReranker)


def test_retriever_builds_its_reranker_from_the_config(seed_index) -> None:
    _, index = seed_index
    assert Retriever(index, RetrievalConfig(rerank="none")).reranker is None
    assert isinstance(Retriever(index, RetrievalConfig(rerank="heuristic")).reranker, HeuristicReranker)
    settings = make_settings(Path("/nonexistent"), rerank="none", dense_k=7, rrf_k=11)
    config = RetrievalConfig.from_settings(settings)
    assert (config.mode, config.rerank, config.dense_k, config.rrf_k) == ("hybrid", "none", 7, 11)


def test_only_the_head_is_reranked(seed_index) -> None:
    _, index = seed_index
    analysis = analyse("吕梁开发区一季度规上工业增加值完成多少？")
    plain = Retriever(index, RetrievalConfig(rerank="none")).search(analysis, 30)
    head = Retriever(index, RetrievalConfig(rerank="heuristic", rerank_top_n=5)).search(analysis, 30)
    assert {h.chunk.id for h in head[:5]} == {h.chunk.id for h in plain[:5]}
    assert [h.chunk.id for h in head[5:]] == [h.chunk.id for h in plain[5:]]
    assert [h.rank for h in head] == list(range(1, len(head) + 1))


# --- the CrossEncoder seam ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory, seed_index) -> Iterator[Path]:
    """A 2-layer random BertForSequenceClassification (num_labels=1) with a character WordPiece vocab."""
    with pytest.MonkeyPatch.context() as mp:  # everything is local: never ask the Hugging Face hub
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        yield _save_tiny_cross_encoder(tmp_path_factory.mktemp("cross-encoder"), seed_index)


def _save_tiny_cross_encoder(out: Path, seed_index) -> Path:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    _, index = seed_index
    chars = sorted({ch for c in index.chunks.values() for ch in c.indexed_text + "".join(QUESTIONS) if not ch.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    (out / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    # The vocab path goes in positionally: transformers 4 calls it vocab_file, 5 calls it vocab.
    tokenizer = transformers.BertTokenizerFast(str(out / "vocab.txt"), model_max_length=512)
    assert len(tokenizer) == len(dict.fromkeys(vocab)), "the tokenizer did not load the vocab"
    torch.manual_seed(1234)
    config = transformers.BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=512, num_labels=1, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        initializer_range=0.5,
    )
    transformers.BertForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def direct_logits(tiny_cross_encoder: Path):
    """The tiny model called directly through transformers (no sentence-transformers)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_cross_encoder)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_cross_encoder).eval()

    def logits(pairs: list[tuple[str, str]]) -> list[float]:
        enc = tokenizer([list(p) for p in pairs], padding=True, truncation=True, max_length=512, return_tensors="pt")
        with torch.no_grad():
            return model(**enc).logits[:, 0].tolist()

    return logits


def test_cross_encoder_reorders_hits_by_its_own_scores(seed_index, tiny_cross_encoder: Path, direct_logits) -> None:
    _, index = seed_index
    reranker = CrossEncoderReranker(str(tiny_cross_encoder))
    assert reranker.name == str(tiny_cross_encoder)
    base = Retriever(index, RetrievalConfig(rerank="none"))
    for question in QUESTIONS[:5]:
        analysis = analyse(question)
        hits = base.search(analysis, 8)
        logits = direct_logits([(analysis.search_text, h.chunk.indexed_text) for h in hits])
        by_id = dict(zip((h.chunk.id for h in hits), logits, strict=True))
        gaps = sorted(logits)
        assert min(b - a for a, b in itertools.pairwise(gaps)) > 1e-5, "random model gave near-equal scores; change the seed"
        expected = sorted(by_id, key=lambda cid: -by_id[cid])
        ranked = reranker.rerank(analysis, hits)
        assert [h.chunk.id for h in ranked] == expected, question
        assert [h.rank for h in ranked] == list(range(1, len(hits) + 1))
        assert all(h.scores["rerank"] == pytest.approx(h.score, abs=1e-6) for h in ranked)
        # Only the model's scores decide: the input order does not matter.
        assert [h.chunk.id for h in reranker.rerank(analysis, hits[::-1])] == expected
    assert reranker.rerank(analyse("吕梁"), []) == []


def test_cross_encoder_plugs_into_the_retriever_by_path(seed_index, tiny_cross_encoder: Path, direct_logits) -> None:
    _, index = seed_index
    retriever = Retriever(index, RetrievalConfig(rerank=str(tiny_cross_encoder), rerank_top_n=6))
    assert isinstance(retriever.reranker, CrossEncoderReranker)
    analysis = analyse("吕梁市“三个一批”活动签约投资额是多少？")
    hits = retriever.search(analysis, 10)
    plain = Retriever(index, RetrievalConfig(rerank="none")).search(analysis, 10)
    head_logits = direct_logits([(analysis.search_text, h.chunk.indexed_text) for h in plain[:6]])
    by_id = dict(zip((h.chunk.id for h in plain[:6]), head_logits, strict=True))
    assert [h.chunk.id for h in hits[:6]] == sorted(by_id, key=lambda cid: -by_id[cid])
    assert [h.chunk.id for h in hits[6:]] == [h.chunk.id for h in plain[6:]]
