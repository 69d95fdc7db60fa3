"""Which generator engine a CPU machine runs: measured once, remembered per CPU.

Neither engine wins everywhere. On an Intel Xeon with AMX, torch int8 prefilled 2.5x
faster than llama.cpp while llama.cpp decoded 1.4x faster; on other CPUs the order of
prefill changes. So ``generator_engine=auto`` times both on this machine: the same prompt,
built as the product builds one (the fixed prefix, cached; a question over five sources
of the shipped corpus), then a reply of up to 48 tokens. Each engine's expected answer
time is ``prompt / prefill rate + max_new_tokens / decode rate``, with the product's
own reply budget; the faster one is chosen. The result is cached in
``model_cache_dir/engine-choice.json`` under the CPU's model name, core count and
generator, so a machine calibrates once (``rag prepare`` does it at set-up; otherwise
the first start does, ~1-2 minutes) and a cache copied to another machine recalibrates.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from filelock import FileLock

from rag.embedding import pick_device
from rag.settings import Settings

CHOICE_FILE = "engine-choice.json"
CALIBRATION_SOURCES = 5
CALIBRATION_REPLY = 48


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(settings: Settings) -> str:
    """What a calibration holds for: this CPU, its core count, this generator."""
    return f"{cpu_name()} | {os.cpu_count()} cores | {settings.generator}"


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def calibration_messages() -> list[dict]:
    """A prompt shaped like the product's: five sources of the shipped corpus, one question."""
    from rag.loaders import load_default_corpus
    from rag.prompt import JOBS, build_messages
    from rag.terms import split_sentences
    from rag.types import Shape

    papers = load_default_corpus()[:CALIBRATION_SOURCES]
    block = "\n".join(
        f"[{i}] {p.title}\n{' '.join(split_sentences(p.text)[:3])}"
        for i, p in enumerate(papers, start=1)
    )
    return build_messages("What does each of these papers propose?", block, JOBS[Shape.FACT])


def time_engine(generator, max_new_tokens: int = CALIBRATION_REPLY) -> dict:
    """Prefill and decode rates of one loaded engine on the calibration prompt."""
    from rag.generator import GenerationStats
    from rag.prompt import prefix_messages

    messages = calibration_messages()
    generator.warm_up(prefix_messages())
    stats = GenerationStats()
    start = time.perf_counter()
    first = None
    for _ in generator.stream(messages, prefix_messages(), max_new_tokens, stats=stats):
        first = first or time.perf_counter()
    end = time.perf_counter()
    first = first or end
    prompt = stats.prompt_tokens - stats.cached_prefix_tokens
    decoded = max(stats.new_tokens - 1, 1)
    return {
        "prompt_tokens": prompt,
        "prefill_tok_s": prompt / (first - start),
        "decode_tok_s": decoded / max(end - first, 1e-6),
    }


def calibrate(settings: Settings) -> dict:
    """Load each engine in turn, time it, and pick the one with the lower answer time."""
    import gc

    from rag.engine_llamacpp import LlamaCppGenerator
    from rag.engine_torch import TransformersGenerator

    rows = {}
    for name, cls in (("transformers", TransformersGenerator), ("llama.cpp", LlamaCppGenerator)):
        start = time.perf_counter()
        generator = cls(settings)
        load_s = time.perf_counter() - start
        rates = time_engine(generator)
        del generator
        gc.collect()
        reply = settings.replies.max_new_tokens
        rates["load_s"] = load_s
        rates["answer_s"] = (
            rates["prompt_tokens"] / rates["prefill_tok_s"] + reply / rates["decode_tok_s"]
        )
        rows[name] = {k: round(v, 2) for k, v in rates.items()}
    choice = min(rows, key=lambda name: rows[name]["answer_s"])
    return {"choice": choice, "engines": rows, "measured": time.strftime("%Y-%m-%d %H:%M")}


def pick_engine(settings: Settings, recalibrate: bool = False) -> str:
    """The engine to run: the setting when it names one; else transformers on CUDA (and
    where llama-cpp-python is missing), else the calibrated choice for this machine."""
    from rag.engine_llamacpp import available

    if settings.generator_engine != "auto":
        return settings.generator_engine
    if pick_device(settings.device) == "cuda" or not available():
        return "transformers"
    return calibration(settings, recalibrate)["choice"]


def calibration(settings: Settings, recalibrate: bool = False) -> dict:
    """This machine's calibration, measured now if it was never measured (or if asked)."""
    path = settings.model_cache_dir / CHOICE_FILE
    key = machine_key(settings)
    found = _read(path).get(key)
    if found and not recalibrate:
        return found
    settings.model_cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        found = _read(path).get(key)
        if found and not recalibrate:
            return found  # another process measured it while this one waited
        result = calibrate(settings)
        saved = _read(path)
        saved[key] = result
        tmp = path.with_suffix(".partial")
        tmp.write_text(json.dumps(saved, indent=2))
        tmp.replace(path)
    return result


def format_calibration(result: dict) -> str:
    """The calibration as a Markdown table, the chosen engine marked."""
    lines = ["| engine | load s | prompt tokens | prefill tok/s | decode tok/s | answer s |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name, row in result["engines"].items():
        mark = " (chosen)" if name == result["choice"] else ""
        lines.append(
            f"| {name}{mark} | {row['load_s']} | {row['prompt_tokens']:.0f} | "
            f"{row['prefill_tok_s']} | {row['decode_tok_s']} | {row['answer_s']} |"
        )
    return "\n".join(lines)
