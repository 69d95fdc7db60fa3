"""The embedder's backends: torch (reference), onnx (fp32) and onnx-int8, on real weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.embedding import load_embedder
from rag.errors import RagError
from rag.loaders import load_default_corpus
from rag.settings import Settings
from tests.conftest import make_settings
from tests.made_up import PAPERS

CACHE = str(Settings.load().model_cache_dir)  # the set-up's exports, shared with the app


@pytest.fixture(scope="module")
def abstracts() -> list[str]:
    return [p.text for p in load_default_corpus()[:40]]


def _vectors(backend: str, texts: list[str]) -> np.ndarray:
    return np.array(load_embedder("cpu", 16, backend, CACHE).embed(texts))


def test_onnx_backends_give_torch_vectors(abstracts: list[str]) -> None:
    reference = _vectors("torch", abstracts)
    assert np.allclose(np.linalg.norm(reference, axis=1), 1, atol=1e-4)
    fp32 = _vectors("onnx", abstracts)
    assert np.abs(fp32 - reference).max() < 1e-3
    int8 = _vectors("onnx-int8", abstracts)
    cosines = (int8 * reference).sum(axis=1)
    assert cosines.min() > 0.97, cosines.min()
    # Not the same as fp32: the int8 graph is really quantized.
    assert np.abs(int8 - reference).max() > 1e-3


def test_backends_share_tokenizer_limit_and_order(abstracts: list[str]) -> None:
    torch_embedder = load_embedder("cpu", 16, "torch", CACHE)
    onnx_embedder = load_embedder("cpu", 16, "onnx-int8", CACHE)
    assert onnx_embedder.tokenize(abstracts[0]) == torch_embedder.tokenize(abstracts[0])
    assert onnx_embedder.max_tokens == torch_embedder.max_tokens
    # A text's vector does not depend on what it is embedded with (one text per run).
    mixed = ["short", abstracts[0], "a slightly longer text here", abstracts[1]]
    one_by_one = np.array([onnx_embedder.embed_query(t) for t in mixed])
    assert np.array_equal(np.array(onnx_embedder.embed(mixed)), one_by_one)
    assert onnx_embedder.embed([]) == []


def test_int8_graph_runs_fused_quantized_attention() -> None:
    import onnx

    from rag.embed_onnx import prepare_onnx_embedder

    graph = onnx.load(str(prepare_onnx_embedder(Path(CACHE), quantized=True)))
    ops = {node.op_type for node in graph.graph.node}
    # The fused operators are where the speed comes from (rag/embed_onnx.py).
    assert {"QAttention", "MatMulInteger", "SkipLayerNormalization"} <= ops


def test_index_built_by_torch_is_searched_by_onnx_int8(tmp_path: Path) -> None:
    from rag.ingest import ingest_papers
    from rag.loaders import load_file
    from rag.retrieve import HybridRetriever

    corpus = tmp_path / "made_up.jsonl"
    corpus.write_text("".join(json.dumps(p) + "\n" for p in PAPERS))
    built = make_settings(tmp_path / "index", embed_backend="torch", hybrid=False)
    ingest_papers(load_file(corpus), built, files=[corpus], progress=False)
    queries = {
        "adapters for speech recognition in languages with little data": 0,
        "a benchmark asking models to put recipe steps in order": 4,
        "splitting pictures into tiles for phone graphics chips": 5,
    }
    for backend in ("torch", "onnx-int8"):
        searched = HybridRetriever(make_settings(built.data_dir, embed_backend=backend,
                                                 hybrid=False))  # fmt: skip
        for query, index in queries.items():
            assert searched.search(query, top_k=1)[0].title == PAPERS[index]["title"], backend


def test_export_from_the_installed_weights_leaves_only_finished_graphs(tmp_path: Path) -> None:
    from rag.embed_onnx import OnnxEmbedder, prepare_onnx_embedder

    built = prepare_onnx_embedder(tmp_path, quantized=True)
    assert sorted(p.name for p in built.parent.glob("*.onnx")) == [
        "all-MiniLM-L6-v2-fp32.onnx", "all-MiniLM-L6-v2-int8.onnx"]  # fmt: skip
    fresh = OnnxEmbedder(tmp_path, quantized=True, batch_size=8).embed_query("pruned heads")
    shared = load_embedder("cpu", 16, "onnx-int8", CACHE).embed_query("pruned heads")
    assert np.allclose(fresh, shared, atol=1e-5)  # the same export, wherever it is built


def test_a_damaged_graph_is_one_clear_error(tmp_path: Path) -> None:
    from rag.embed_onnx import OnnxEmbedder, onnx_file

    broken = onnx_file(tmp_path, quantized=True)
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not an onnx graph")
    with pytest.raises(RagError, match="delete it to rebuild it"):
        OnnxEmbedder(tmp_path, quantized=True, batch_size=8)


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(RagError, match="RAG_EMBED_BACKEND"):
        Settings.load(embed_backend="openvino")
