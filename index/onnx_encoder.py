"""An ONNX Runtime copy of a sentence-transformers encoder, for fast CPU embedding.

fp32 torch is the wall of every build on a laptop CPU (benchmarks/RESULTS.md). This module
exports the model's transformer once to ONNX with ONNX Runtime's fused attention, LayerNorm and
GELU, and runs it with ONNX Runtime, in one of two recipes:

- ``int8`` (backend ``onnx-int8``, the default): weights quantised to int8 per output channel
  (dynamic quantisation: activations stay float, so no calibration data is needed), within a
  cosine of ~0.997 of fp32. The selector was trained and the eval sets measured on these vectors.
  Dynamic quantisation picks one activation scale per input tensor, so a text's vector depends on
  the other texts of its batch (cosine 0.996-0.998) and, through rounding at that scale, on the
  CPU's last bits: answers near a tie can differ between CPUs and between a full build and a
  re-index (benchmarks/RESULTS.md, "Embedding numerics, a second CPU").
- ``fp32`` (backend ``onnx``): the exported graph as is, the model's own vectors whatever the batch
  and on every x86 CPU up to the last bits; as fast as int8 on an AVX-512 CPU.

The export needs torch and transformers (already installed for sentence-transformers) and
takes ~20 s once; the result is cached beside the model folder, written to a temporary
sibling and renamed into place, so a killed export never looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Bump when the export or quantisation recipe changes: the recorded model name carries it, so an
# index or embedding cache of another recipe is refused or re-embedded, never mixed.
# 3: weights stored as uint8 with zero point 128 (``_unsigned_weights``).
# The fp32 recipe was added at 3; the int8 recipe is unchanged, so its indexes stay valid.
FORMAT_VERSION = 3
RECIPES = ("fp32", "int8")
MARKER = "onnx.json"


def model_file(recipe: str) -> str:
    """The model file a recipe's folder holds.

    >>> model_file("int8"), model_file("fp32")
    ('model.int8.onnx', 'model.fp32.onnx')
    """
    if recipe not in RECIPES:
        raise ValueError(f"unknown ONNX recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    return f"model.{recipe}.onnx"


class OnnxExportError(RuntimeError):
    """The model could not be exported or quantised; the message says what to do."""


def _pooling(st_folder: Path) -> str:
    """``mean`` or ``cls``, from the sentence-transformers pooling config.

    Other poolings (max, weighted) are not exported: the torch backend handles them.
    """
    modules = json.loads((st_folder / "modules.json").read_text(encoding="utf-8"))
    for module in modules:
        if module["type"].endswith("Pooling"):
            config = json.loads((st_folder / module["path"] / "config.json").read_text(encoding="utf-8"))
            if config.get("pooling_mode_mean_tokens"):
                return "mean"
            if config.get("pooling_mode_cls_token"):
                return "cls"
    raise OnnxExportError(
        f"{st_folder}: only mean or CLS pooling can run on ONNX; use BULLETIN_EMBED_BACKEND=torch for this model"
    )


def _max_length(st_folder: Path) -> int:
    path = st_folder / "sentence_bert_config.json"
    if path.exists():
        return int(json.loads(path.read_text(encoding="utf-8")).get("max_seq_length", 512))
    return 512


def _source_stamp(st_folder: Path, recipe: str) -> dict:
    """What the export depends on: the recipe, the weights (size + mtime) and the library versions."""
    import onnxruntime

    weights = [p for p in sorted(st_folder.iterdir()) if p.suffix in (".safetensors", ".bin")]
    return {
        "format": FORMAT_VERSION,
        "recipe": recipe,
        "weights": [[p.name, p.stat().st_size, int(p.stat().st_mtime)] for p in weights],
        "onnxruntime": onnxruntime.__version__,
    }


def _export(st_folder: Path, out: Path, recipe: str) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class LastHidden(torch.nn.Module):
        """Keyword call of the HF model: positional arguments differ between architectures."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    # Eager attention exports as plain MatMul/Softmax, which ONNX Runtime's optimizer fuses into
    # its Attention kernel; the SDPA export is not fused and ran 1.7x slower on news articles.
    try:
        base = AutoModel.from_pretrained(str(st_folder), add_pooling_layer=False, attn_implementation="eager")
    except TypeError:  # architectures without a pooling layer do not take the argument
        base = AutoModel.from_pretrained(str(st_folder), attn_implementation="eager")
    model = LastHidden(base.eval())
    ids = torch.ones((2, 8), dtype=torch.long)
    fp32 = out / "model.fp32.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow are expected
        torch.onnx.export(
            model, (ids, torch.ones_like(ids)), str(fp32),
            input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "last_hidden_state")},
            opset_version=17, dynamo=False,
        )
    fused = _fuse(fp32, base.config)
    target = out / model_file(recipe)
    if recipe == "int8":
        quantize_dynamic(
            str(fused), str(target), weight_type=QuantType.QInt8, per_channel=True,
            extra_options={"DefaultTensorType": 1},  # FLOAT, for tensors shape inference leaves untyped
        )
        _unsigned_weights(target)
    elif fused != target:  # fp32: the fused graph replaces the raw export of the same name
        os.replace(fused, target)
    for path in {fp32, fused} - {target}:
        path.unlink(missing_ok=True)
    shutil.copy(st_folder / "tokenizer.json", out / "tokenizer.json")


def _unsigned_weights(path: Path) -> int:
    """Store the int8 weights of the integer matrix products as uint8 with zero point 128 (the same
    integers, shifted), in place; returns how many weight tensors changed.

    Why: on x86 CPUs without VNNI, ONNX Runtime multiplies uint8 activations by int8 weights with
    an instruction whose 16-bit sums saturate, so the same model gave other vectors on an AVX2-only
    machine than on a VNNI one (mean cosine 0.997 between the two, enough to move eval answers).
    uint8 × uint8 products are computed exactly on every x86 CPU, so with the weights shifted
    every machine computes what the VNNI one did."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    initializers = {i.name: i for i in model.graph.initializer}
    # (weight, weight zero point) input positions of the ops quantize_dynamic writes.
    slots = {"MatMulInteger": (1, 3), "QAttention": (1, 7)}
    done: set[str] = set()
    for node in model.graph.node:
        if node.op_type not in slots or len(node.input) <= slots[node.op_type][1]:
            continue
        weight, zero = (node.input[i] for i in slots[node.op_type])
        w, z = initializers.get(weight), initializers.get(zero)
        if weight in done or w is None or z is None or w.data_type != onnx.TensorProto.INT8:
            continue
        for tensor in (w, z):
            shifted = numpy_helper.to_array(tensor).astype(np.int16) + 128
            tensor.CopyFrom(numpy_helper.from_array(shifted.astype(np.uint8), tensor.name))
        done.add(weight)
    onnx.save(model, str(path))
    return len(done)


def _fuse(fp32: Path, config) -> Path:
    """Fuse attention, LayerNorm and GELU with ONNX Runtime's transformer optimizer (BERT-like
    encoders); another architecture is quantised unfused."""
    from onnxruntime.transformers import optimizer

    heads, hidden = getattr(config, "num_attention_heads", 0), getattr(config, "hidden_size", 0)
    if not heads or not hidden:
        return fp32
    fused = fp32.with_name("model.fused.onnx")
    try:
        optimizer.optimize_model(str(fp32), model_type="bert", num_heads=heads, hidden_size=hidden).save_model_to_file(
            str(fused)
        )
    except Exception:
        return fp32
    return fused


def materialize_onnx(st_folder: Path, recipe: str, log=print) -> Path:
    """Return ``<st_folder>.onnx-<recipe>/`` holding the exported model, exporting it once.

    Raises:
        OnnxExportError: the export or the quantisation failed (the message has the cause).
    """
    from filelock import FileLock

    st_folder = Path(st_folder)
    model_file(recipe)  # refuses an unknown recipe before anything is written
    final = st_folder.with_name(f"{st_folder.name}.onnx-{recipe}")
    stamp = _source_stamp(st_folder, recipe)

    def complete() -> bool:
        try:
            return json.loads((final / MARKER).read_text(encoding="utf-8")) == stamp
        except (OSError, ValueError):
            return False

    if complete():
        return final
    with FileLock(str(final) + ".lock"):
        if complete():
            return final
        log(f"Exporting the embedding model to {recipe} ONNX in {final}, once (about 20 s)…")
        tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        tmp.mkdir(parents=True)
        try:
            try:
                _export(st_folder, tmp, recipe)
            except Exception as exc:  # torch/onnx raise many types; the cause is in the message
                raise OnnxExportError(
                    f"could not export {st_folder} to {recipe} ONNX ({type(exc).__name__}: {exc}); "
                    "set BULLETIN_EMBED_BACKEND=torch to embed with torch instead"
                ) from exc
            (tmp / MARKER).write_text(json.dumps(stamp), encoding="utf-8")
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


class OnnxEncoder:
    """Tokenise, run the exported transformer, pool and L2-normalise, like sentence-transformers.

    Texts must already carry their prefix (``query: `` / ``passage: ``).
    """

    def __init__(self, st_folder: Path, recipe: str, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = materialize_onnx(st_folder, recipe)
        self.recipe = recipe
        self.pooling = _pooling(st_folder)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(_max_length(st_folder))
        pad_id = self.tokenizer.token_to_id("<pad>")
        self.tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="<pad>" if pad_id is not None else "[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or max(1, len(os.sched_getaffinity(0)))
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(folder / model_file(recipe)), options, providers=["CPUExecutionProvider"])
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def _run(self, texts: Sequence[str]):
        batch = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
        return batch, mask, self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        _, mask, hidden = self._run(texts)
        return self._pool(hidden, mask)

    def encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Pooled vectors plus one vector per character span, mean-pooled from the same token
        states (late chunking: a clause's vector sees its passage at no extra encoder cost)."""
        from index.embedding import pool_spans

        batch, mask, hidden = self._run(texts)
        parts = [pool_spans(hidden[i], e.offsets, sp) for i, (e, sp) in enumerate(zip(batch, spans))]
        return self._pool(hidden, mask), parts

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            pooled = hidden[:, 0, :]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
