"""The ONNX backends: fp32 gives torch's vectors whatever the batch, int8 ranks like them; cached
export, clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index import onnx_encoder
from index.embedding import (
    Embedder,
    EmbeddingError,
    HashingEmbedder,
    canonical_model_name,
    make_embedder,
)
from index.onnx_encoder import FORMAT_VERSION, MARKER, OnnxExportError, materialize_onnx, model_file
from settings import DEFAULT_EMBED_MODEL

PASSAGES = [
    "吕梁市“三个一批”活动共签约项目12个，签约投资额24.07亿元。",
    "太原市开发区规上工业增加值同比增长-2.6%，增速回落。",
    "大同市新能源装机容量达到56GW，风电光伏项目加快建设。",
    "晋中开发区完成固定资产投资85.3亿元，同比增长12.1%。",
    "长治市引进高层次人才25名，发放人才补贴300万元。",
    "运城市盐湖区推进“承诺制+标准地+全代办”改革，平均审批时间压缩60%。",
    "忻州开发区新建标准化厂房20万平方米，入驻企业36家。",
    "临汾市氢能重卡示范运营车辆达到200辆。",
    "The zone signed 12 projects with total investment of 2.4 billion yuan.",
    "阳泉市数字经济产业园引进华为、阿里云等企业8家（含3家外资企业）。",
]
QUERIES = ["吕梁签约投资额是多少", "太原工业增加值增速", "人才补贴多少钱", "氢能重卡有多少辆", "厂房面积"]


class _Counting(Embedder):
    """Records the texts of every encoder call."""

    def __init__(self) -> None:
        self.inner, self.calls = HashingEmbedder(16), []
        self.name, self.dim = "counting", 16

    def _encode(self, texts):
        self.calls.append(list(texts))
        return self.inner._encode(texts)


# --------------------------------------------------------------------------- no model needed


def test_unsigned_weights_give_exact_integer_products_on_any_cpu(tmp_path: Path) -> None:
    """uint8 activations near 255 times int8 weights near 127 overflow the 16-bit pair sums of
    AVX2's u8×s8 instruction; after ``_unsigned_weights`` ONNX Runtime must return the exact
    products, as a VNNI CPU does with the int8 weights."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    a = rng.integers(200, 256, size=(4, 64), dtype=np.uint8)
    w = rng.integers(100, 128, size=(64, 8), dtype=np.int8) * rng.choice(np.array([-1, 1], dtype=np.int8), size=(64, 8))
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w", "", "wz"], ["y"])], "g",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [4, 64])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [4, 8])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.zeros(8, dtype=np.int8), "wz")],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    assert onnx_encoder._unsigned_weights(path) == 1
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"a": a})[0]
    assert np.array_equal(got, a.astype(np.int64) @ w.astype(np.int64))
    assert {t.data_type for t in onnx.load(str(path)).graph.initializer} == {TensorProto.UINT8}



def test_batches_are_formed_longest_first_and_results_keep_input_order() -> None:
    texts = ["短", "一段很长很长的文字，" * 5, "中等长度的文字", "长一点的文字内容", "又短"]
    counting = _Counting()
    vectors = counting.embed_passages(texts, batch_size=2)
    assert [len(c) for c in counting.calls] == [2, 2, 1]
    lengths = [[len(t) for t in call] for call in counting.calls]
    assert lengths[0][0] == max(len(t) for t in texts) and lengths[-1] == [1]  # longest first, 「短」 last
    for text, vector in zip(texts, vectors, strict=True):
        assert np.allclose(vector, HashingEmbedder(16).embed_passages([text])[0])


@pytest.mark.parametrize(
    ("model", "backend", "recorded"),
    [
        ("hashing", "onnx-int8", "hashing:256"),
        (DEFAULT_EMBED_MODEL, "onnx", f"{DEFAULT_EMBED_MODEL}#onnx/{FORMAT_VERSION}"),
        ("hashing:64", "torch", "hashing:64"),
        (DEFAULT_EMBED_MODEL, "torch", DEFAULT_EMBED_MODEL),
        (DEFAULT_EMBED_MODEL, "onnx-int8", f"{DEFAULT_EMBED_MODEL}#onnx-int8/{FORMAT_VERSION}"),
    ],
)
def test_the_backend_is_part_of_the_recorded_name(model: str, backend: str, recorded: str) -> None:
    assert canonical_model_name(model, backend) == recorded


def test_unknown_backend_is_refused_before_loading(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match=r"unknown embedding backend 'openvino'.*onnx, onnx-int8, torch"):
        make_embedder(DEFAULT_EMBED_MODEL, tmp_path / "models", backend="openvino")
    assert not (tmp_path / "models").exists()


def _fake_st_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "models" / "some-model"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    return folder


def test_a_failed_export_leaves_nothing_that_looks_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _fake_st_folder(tmp_path)

    def broken_export(st_folder: Path, out: Path, recipe: str) -> None:
        (out / model_file(recipe)).write_bytes(b"half a model")
        raise RuntimeError("Exporting the operator 'aten::foo' to ONNX opset 17 is not supported")

    monkeypatch.setattr(onnx_encoder, "_export", broken_export)
    with pytest.raises(OnnxExportError, match=r"aten::foo.*BULLETIN_EMBED_BACKEND=torch"):
        materialize_onnx(folder, "fp32", log=lambda m: None)
    siblings = sorted(p.name for p in folder.parent.iterdir())
    assert siblings == ["some-model", "some-model.onnx-fp32.lock"]


def test_export_runs_once_and_again_when_the_weights_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _fake_st_folder(tmp_path)
    exports = []

    def fake_export(st_folder: Path, out: Path, recipe: str) -> None:
        exports.append(recipe)
        (out / model_file(recipe)).write_bytes(b"model")

    monkeypatch.setattr(onnx_encoder, "_export", fake_export)
    first = materialize_onnx(folder, "fp32", log=lambda m: None)
    assert materialize_onnx(folder, "fp32", log=lambda m: None) == first and exports == ["fp32"]
    assert json.loads((first / MARKER).read_text())["format"] == onnx_encoder.FORMAT_VERSION
    int8 = materialize_onnx(folder, "int8", log=lambda m: None)  # each recipe has its own folder
    assert int8 != first and (int8 / "model.int8.onnx").exists() and exports == ["fp32", "int8"]
    (folder / "model.safetensors").write_bytes(b"other weights, other size")
    materialize_onnx(folder, "fp32", log=lambda m: None)
    assert exports == ["fp32", "int8", "fp32"]


def test_an_unknown_recipe_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    folder = _fake_st_folder(tmp_path)
    with pytest.raises(ValueError, match=r"unknown ONNX recipe 'int4'.*fp32, int8"):
        materialize_onnx(folder, "int4", log=lambda m: None)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["some-model"]


# --------------------------------------------------------------------------- real model


@pytest.fixture(scope="module")
def both(model_dir: Path):
    return make_embedder(DEFAULT_EMBED_MODEL, model_dir, backend="torch"), make_embedder(
        DEFAULT_EMBED_MODEL, model_dir, backend="onnx-int8"
    )


@pytest.fixture(scope="module")
def onnx_fp32(model_dir: Path):
    return make_embedder(DEFAULT_EMBED_MODEL, model_dir, backend="onnx")


@pytest.mark.model
def test_fp32_onnx_gives_the_vectors_of_torch(both, onnx_fp32) -> None:
    torch_fp32, _ = both
    cosines = (torch_fp32.embed_passages(PASSAGES) * onnx_fp32.embed_passages(PASSAGES)).sum(axis=1)
    assert cosines.min() > 0.9999, cosines
    q = PASSAGES[0]
    assert float(torch_fp32.embed_query(q) @ onnx_fp32.embed_query(q)) > 0.9999


@pytest.mark.model
def test_fp32_gives_a_text_the_same_vector_alone_and_in_any_batch(onnx_fp32) -> None:
    """A re-index embeds only the changed chunks, in other batches than a full build."""
    texts = [onnx_fp32.passage_prefix + p for p in PASSAGES]
    together = onnx_fp32._encoder.encode(texts)
    alone = np.vstack([onnx_fp32._encoder.encode([t]) for t in texts])
    assert np.abs(together - alone).max() < 1e-5
    pooled, parts = onnx_fp32._encoder.encode_with_spans(texts[:2], [[(9, 14)], [(9, 12), (12, 20)]])
    assert np.abs(pooled - alone[:2]).max() < 1e-5 and [p.shape for p in parts] == [(1, 384), (2, 384)]


@pytest.mark.model
def test_int8_vectors_depend_on_the_batch_only_slightly(both) -> None:
    """int8's dynamic quantisation scale is per input tensor, so the batch moves a vector, but only
    a little (cosine ~0.998, benchmarks/RESULTS.md); the fp32 recipe is batch-free (test above)."""
    _, int8 = both
    texts = [int8.passage_prefix + p for p in PASSAGES]
    together = int8._encoder.encode(texts)
    alone = np.vstack([int8._encoder.encode([t]) for t in texts])
    cosines = (together * alone).sum(axis=1)
    assert cosines.min() > 0.99, cosines


@pytest.mark.model
def test_int8_vectors_stay_close_to_fp32(both) -> None:
    fp32, int8 = both
    a, b = fp32.embed_passages(PASSAGES), int8.embed_passages(PASSAGES)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() > 0.98 and cosines.mean() > 0.99, cosines
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)


@pytest.mark.model
def test_int8_ranks_passages_like_fp32(both) -> None:
    fp32, int8 = both
    a, b = fp32.embed_passages(PASSAGES), int8.embed_passages(PASSAGES)
    for query in QUERIES:
        top_fp32 = np.argsort(-(a @ fp32.embed_query(query)))[:3].tolist()
        top_int8 = np.argsort(-(b @ int8.embed_query(query)))[:3].tolist()
        assert top_int8[0] == top_fp32[0], query
        assert len(set(top_int8) & set(top_fp32)) >= 2, query


@pytest.mark.model
def test_int8_records_its_own_name_and_prefixes(both) -> None:
    _, int8 = both
    assert int8.name == f"{DEFAULT_EMBED_MODEL}#onnx-int8/{FORMAT_VERSION}" and int8.dim == 384
    assert (int8.query_prefix, int8.passage_prefix) == ("query: ", "passage: ")
