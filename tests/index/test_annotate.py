"""Build-time annotations: clause vectors, entities and article places, stored with the chunks."""

from __future__ import annotations

import numpy as np

from index.annotate import Annotation, annotate, dequantise, quantise
from index.clauses import clause_spans
from index.embedding import HashingEmbedder
from index.types import Chunk


def test_clauses_keep_quotes_and_brackets_whole() -> None:
    text = "吕梁市以“三个一批，一批”活动为抓手（含孝义、汾阳），签约项目12个；开工10个。"
    assert [text[a:b] for a, b in clause_spans(text)] == [
        "吕梁市以“三个一批，一批”活动为抓手（含孝义、汾阳），", "签约项目12个；", "开工10个。"]


def test_one_vector_per_clause_and_places_per_article() -> None:
    a = Chunk(id="a", text="眉县经开区签约项目12个，总投资24.07亿元。", source="s.txt", context="某县 · 简报", article_index=0)
    b = Chunk(id="b", text="下一步将加快建设。", source="s.txt", context="某县 · 简报", article_index=0)
    c = Chunk(id="c", text="萧山区推进招商。", source="s.txt", context="另县 · 简报", article_index=1)
    pooled, notes = annotate([a, b, c], HashingEmbedder(dim=16))
    assert pooled.shape == (3, 16)
    assert notes["a"].vectors.shape == (2, 16)
    assert notes["a"].places == notes["b"].places  # one article
    assert "610326" in notes["b"].places and "610326" not in notes["c"].places  # 眉县 is not in article 1


def test_annotation_round_trip() -> None:
    v = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ann = Annotation(((0, 2), (2, 5), (5, 9)), v, ((0, 2, "LOC"),), frozenset({"610326"}))
    back = Annotation.from_row(*ann.to_row(), dim=8)
    assert back.clauses == ann.clauses and back.entities == ann.entities and back.places == ann.places
    assert np.allclose(back.vectors, v, atol=0.02)
    assert np.allclose(dequantise(quantise(np.zeros((0, 8))), 8), np.zeros((0, 8)))
