"""The MiniLM embedder on onnxruntime: exported once from the installed weights, then run.

Written here rather than taken from sentence-transformers' ``backend="onnx"``: that path
needs optimum-onnx, which pins transformers below 4.58, and this project runs transformers
5. The export is three library calls, done once into the model cache (``rag prepare`` does
it at set-up; otherwise the first use does, ~15 s):

1. ``torch.onnx.export`` of the encoder with eager attention, so that
2. onnxruntime's transformer optimizer recognises and fuses it (embedding + layer norm,
   attention, bias + GELU, skip + layer norm): ~1.2x faster than the plain export;
3. onnxruntime's dynamic quantization of the weights to int8, per output channel (one
   scale per row keeps vectors within cosine ~0.99 of fp32's; one scale per tensor drifted
   to ~0.94 on the same abstracts).

Pooling and normalising (mean over real tokens, unit length) are done here in numpy, as
the model's sentence-transformers config says.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from filelock import FileLock

from rag.embedding import EMBED_MODEL, Embedder, embedder_path
from rag.errors import RagError

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def onnx_file(cache_dir: Path, quantized: bool) -> Path:
    """Where the exported graph lives in the model cache."""
    return cache_dir / "embedder" / f"{EMBED_MODEL}-{'int8' if quantized else 'fp32'}.onnx"


def _export_fp32(target: Path) -> None:
    """Plain ONNX export of the encoder (last hidden state out), then fused by onnxruntime."""
    import torch
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    source = embedder_path()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        """Positional inputs, one tensor out: what the exporter traces best."""

        def __init__(self, bert) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = tokenizer(["a short one", "a somewhat longer sample text"], padding=True,
                       return_tensors="pt")  # fmt: skip
    raw = target.with_name(target.stem + ".raw.onnx")
    dynamic = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes about Python control flow in the encoder
        torch.onnx.export(
            Encoder(model),
            tuple(sample[name] for name in INPUTS),
            str(raw),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    try:
        fused = optimize_model(
            str(raw),
            model_type="bert",
            num_heads=model.config.num_attention_heads,
            hidden_size=model.config.hidden_size,
        )
        fused.save_model_to_file(str(target))
    finally:
        raw.unlink(missing_ok=True)


def _quantize(source: Path, target: Path) -> None:
    """int8 weights, one scale per output channel; activations quantized on the fly."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # It logs a tip about pre-processing (shape inference) on the root logger; the fused
    # graph gains nothing from it.
    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            # The fused operators are not in ONNX's shape inference: their outputs are fp32.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.level = level


def _partial(path: Path) -> Path:
    return path.with_name(path.stem + ".partial.onnx")


def prepare_onnx_embedder(cache_dir: Path, quantized: bool) -> Path:
    """The exported graph, built on first use (several processes: one builds, others wait).

    The int8 graph is quantized from the fp32 one, which is kept (~90 MB) for ``onnx``.
    """
    target = onnx_file(cache_dir, quantized)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = onnx_file(cache_dir, quantized=False)
    with FileLock(str(target.parent / ".export.lock")):
        try:
            if not fp32.exists():
                _export_fp32(_partial(fp32))
                _partial(fp32).replace(fp32)
            if quantized and not target.exists():
                _quantize(fp32, _partial(target))
                _partial(target).replace(target)
        except Exception as exc:
            raise RagError(
                f"could not export the embedder to ONNX ({type(exc).__name__}: {exc}); "
                "set RAG_EMBED_BACKEND=torch to embed with PyTorch instead"
            ) from None
        finally:
            for leftover in target.parent.glob("*.partial*.onnx"):
                leftover.unlink(missing_ok=True)
    return target


class OnnxEmbedder(Embedder):
    """MiniLM on onnxruntime's CPU provider, fp32 or int8."""

    def __init__(self, cache_dir: Path, quantized: bool, batch_size: int) -> None:
        import onnxruntime
        from transformers import AutoTokenizer

        self.backend = "onnx-int8" if quantized else "onnx"
        path = prepare_onnx_embedder(cache_dir, quantized)
        tokenizer = AutoTokenizer.from_pretrained(str(embedder_path()))
        super().__init__(tokenizer, batch_size)
        self.max_tokens = 256  # sentence_bert_config.json's max_seq_length
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: its warnings are about graph internals
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise RagError(
                f"cannot load the embedder graph {path} ({type(exc).__name__}); delete it to "
                "rebuild it, or set RAG_EMBED_BACKEND=torch"
            ) from None
        self._inputs = [i.name for i in self.session.get_inputs()]

    def _one(self, text: str) -> np.ndarray:
        tokens = self.tokenizer(
            text, truncation=True, max_length=self.max_tokens, return_tensors="np"
        )
        hidden = self.session.run(
            None, {name: tokens[name].astype(np.int64) for name in self._inputs}
        )[0][0]
        pooled = hidden.mean(axis=0)  # one text, no padding: every token counts
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit vectors, one text per run (``batch_size`` is not used).

        Dynamic int8 quantization scales the activations of a whole run together, so in a
        batch a text's vector would depend on its neighbours and their padding. One text per
        run makes each vector a function of its text alone, and on 2 cores it is also the
        fastest (80 abstracts/s against 65 in length-sorted batches of 32).
        """
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._one(text)
        return out
