"""The ``rag`` command: ingest, search, ask (one question or a JSONL batch), prepare models."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError
from rag.settings import Settings

if TYPE_CHECKING:  # imported where used: `rag --help` should not load the pipeline
    from rag.pipeline import Retrieval
    from rag.types import Event


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(
        data_dir=args.data_dir,
        collection=args.collection,
        chroma_host=args.chroma_host,
        chroma_port=args.chroma_port,
        generator=getattr(args, "generator", None),
        top_k=getattr(args, "top_k", None),
        device=args.device,
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    """Index files or folders (default: the corpus shipped with the package)."""
    from rag.ingest import ingest_papers
    from rag.ingest_stream import ingest_streamed, should_stream
    from rag.limits import within_limits
    from rag.loaders import DEFAULT_CORPUS, expand_paths, load_papers

    settings = _settings(args)
    paths = args.paths or [DEFAULT_CORPUS]
    files = expand_paths(paths)
    skipped: list[str] | None = [] if args.skip_bad else None
    notes: list[str] = []
    if should_stream(files, settings):
        print(f"streaming {len(files)} file(s) in slices of {settings.stream_papers} papers",
              file=sys.stderr)  # fmt: skip
        report = ingest_streamed(files, settings, args.prune, not args.quiet, skipped, notes)
        for problem in [*(skipped or []), *notes]:
            print(f"skipped {problem}", file=sys.stderr)
    else:
        merges: list[str] = []
        papers = load_papers(files, skipped, notes, merges)  # all parsed before writing
        papers = within_limits(papers, settings, skipped)
        for problem in [*(skipped or []), *notes]:
            print(f"skipped {problem}", file=sys.stderr)
        for merge in merges:
            print(f"note: {merge}", file=sys.stderr)
        if not papers:
            raise RagError("no abstracts found in " + ", ".join(map(str, paths)))
        print(f"read {len(papers)} unique abstracts from {len(files)} file(s)", file=sys.stderr)
        report = ingest_papers(papers, settings, files=files, prune=args.prune,
                               progress=not args.quiet)  # fmt: skip
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(report.summary())
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Print the ranked sources for a question, no generation."""
    from rag.pipeline import Assistant

    assistant = Assistant(_settings(args)).filtered(_paper_filter(args))
    sources = assistant.search(args.question)
    if args.json:
        print(json.dumps([s.to_dict() for s in sources], ensure_ascii=False))
        return 0
    for s in sources:
        dense = "-" if s.dense_score is None else f"{s.dense_score:.3f}"
        print(f"[{s.rank}] {_cited_title(s)}")
        if s.aliases:
            print(f"    also known as: {'; '.join(s.aliases)}")
        print(f"    doc {s.doc_id}  fused {s.score:.4f}  dense {dense}")
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    """Re-index every file the collection's manifest names (after damage to the index)."""
    from rag.repair import repair

    report = repair(_settings(args), progress=not args.quiet)
    print(report.summary())
    return 0


def _paper_filter(args: argparse.Namespace):
    """The --year/--author/--venue/--category options as a filter."""
    from rag.filters import parse_years
    from rag.types import PaperFilter

    start, end = parse_years(args.year) if args.year else (None, None)
    return PaperFilter(start, end, args.author or "", args.venue or "", args.category or "")


def _cited_title(source) -> str:
    """ "Surname et al. (Year). Title" where the authors or year are known, else the title."""
    who = source.meta.author_year()
    return f"{who}. {source.title}" if who else source.title


def _read_batch(path: Path) -> list[dict]:
    """Parse a questions file fully before any model is loaded."""
    from rag.loaders import iter_jsonl, read_text

    items = []
    for number, item in iter_jsonl(read_text(path), str(path)):
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise RagError(f'{path}:{number}: expected {{"question": "...", "history": [...]}}')
        history = item.get("history", [])
        if not isinstance(history, list) or not all(
            isinstance(m, dict) and "role" in m and "content" in m for m in history
        ):
            raise RagError(f'{path}:{number}: "history" must be a list of {{"role", "content"}}')
        items.append({"question": item["question"], "history": history})
    return items


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question (streamed) or a JSONL batch (one JSON object per line).

    Each question is first decided by retrieval alone; the model is loaded only for the
    first one that needs it, so a question no abstract is close to ("?!.,;:") is answered
    (abstained) in the seconds retrieval takes, not the minute a model load takes.
    """
    from rag.pipeline import Assistant, clean_question, final_answer

    settings = _settings(args)
    if args.file:
        batch = _read_batch(args.file)
    else:
        if args.question is None:
            raise RagError("give a question, or --file questions.jsonl")
        clean_question(args.question, settings.max_question_chars)  # fail before loading models
        batch = [{"question": args.question, "history": []}]
    assistant = Assistant(settings).filtered(_paper_filter(args))
    loaded = False

    def answer_events(retrieval: Retrieval) -> Iterator[Event]:
        """The events of one answer; the model is loaded first if this answer is the first
        to need it (a model that fails to load stops even a batch: every answer needs it)."""
        nonlocal loaded
        if retrieval.needs_generator and not loaded:
            print(f"loading {settings.generator}...", file=sys.stderr, flush=True)
            assistant.warm_up()  # model load is start-up, not part of each answer's timings
            loaded = True
        return assistant.stream_retrieved(retrieval)

    if args.format in ("markdown", "bibtex"):
        from rag.export import bibtex, cited, markdown

        answers = []
        for item in batch:
            retrieval = assistant.retrieve_or_abstain(item["question"], item["history"])
            answers.append(final_answer(answer_events(retrieval)))
        print(markdown(answers) if args.format == "markdown" else bibtex(cited(answers)), end="")
        return 0
    json_lines = args.json or args.format == "json"
    failures = 0
    for item in batch:
        try:
            retrieval = assistant.retrieve_or_abstain(item["question"], item["history"])
        except RagError as exc:
            if not json_lines:
                raise
            failures += 1  # in JSON lines one bad question does not stop a batch
            print(_error_line(item, exc))
            continue
        events = answer_events(retrieval)
        if not json_lines:
            _print_streamed(events)
            continue
        try:
            answer = final_answer(events)
        except RagError as exc:
            failures += 1
            print(_error_line(item, exc))
            continue
        print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
    return 1 if failures else 0


def _error_line(item: dict, exc: RagError) -> str:
    """The JSON line of a batch question that failed."""
    return json.dumps({"question": item["question"], "error": str(exc)})


def _print_streamed(events: Iterator[Event]) -> None:
    """One answer as ``rag ask`` shows it: the reply as it streams, then its sources."""
    answer = None
    for event in events:
        if event.kind == "token":
            print(event.text, end="", flush=True)
        elif event.kind == "done":
            answer = event.answer
    print()
    if answer.abstained:
        print(f"\n{answer.answer} ({answer.abstain_reason})")
    elif answer.answer != answer.draft:
        print(f"\nChecked answer: {answer.answer}")
    for note in answer.notes:
        print(f"note: {note}")
    cited = {c.n for c in answer.citations}
    print("\nSources:" if not answer.abstained else "\nClosest papers found:")
    for s in answer.sources:
        mark = "*" if s.rank in cited else " "
        print(f" {mark}[{s.rank}] {_cited_title(s)}  (doc {s.doc_id})")
    t = answer.timings
    print(f"\nfirst token {t.get('first_token_s', 0):.1f}s, total {t.get('total_s', 0):.1f}s")


def cmd_prepare(args: argparse.Namespace) -> int:
    """Join, verify, dequantize (and on CPU quantize to int8) the generator weights once; export
    the embedder to ONNX (fp32 and int8) for the CPU backends; on a CPU, time both generator
    engines and remember the faster (``rag.engine_choice``)."""
    from rag.embed_onnx import prepare_onnx_embedder
    from rag.embedding import pick_device
    from rag.engine_choice import calibration, format_calibration, machine_key
    from rag.engine_llamacpp import available as llamacpp_available
    from rag.quantize import int8_file, load_int8
    from rag.weights import drop_full_weights, prepare_generator, prepare_gguf

    settings = _settings(args)
    for quantized in (False, True):
        path = prepare_onnx_embedder(settings.model_cache_dir, quantized)
        print(f"embedder: ready at {path}")
    keys = args.generators or [settings.generator]
    cpu = pick_device(settings.device) == "cpu"
    int8 = cpu and settings.cpu_weights == "int8"
    cache = settings.model_cache_dir
    for key in keys:
        gguf = prepare_gguf(key, cache)
        path = prepare_generator(key, cache, weights=not int8)
        print(f"{key}: ready ({gguf.name}, {path})")
        if int8:
            if not int8_file(path).exists():
                load_int8(path, gguf)  # builds and caches it; loading it would only cost time
            freed = drop_full_weights(path)  # left by an older set-up; int8 replaces it
            if freed:
                print(f"{key}: removed the {freed / 2**30:.1f} GB fp32 checkpoint (int8 kept)")
        if settings.generator_engine != "auto" or not cpu:
            continue
        if not llamacpp_available():
            print(f"{key}: engine transformers (llama-cpp-python is not installed)")
            continue
        engine_settings = settings.model_copy(update={"generator": key})
        result = calibration(engine_settings, recalibrate=args.recalibrate)
        print(f"{key}: engine {result['choice']} on {machine_key(engine_settings)}\n"
              + format_calibration(result))  # fmt: skip
        # The other engine's weights are rebuilt if ever needed (int8: ~1 min; the joined
        # GGUF: seconds, from the installed chunks): do not keep both (1.1 + 2.5 GB).
        unused = gguf if result["choice"] == "transformers" else int8_file(path)
        if unused.parent == path.parent and unused.exists():
            print(f"{key}: removed {unused.name} ({unused.stat().st_size / 2**30:.1f} GB), "
                  "which the other engine uses")  # fmt: skip
            unused.unlink()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Argument parser (shared options go on every sub-command)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="index folder (env RAG_DATA_DIR)")
    common.add_argument("--collection", help="Chroma collection name (env RAG_COLLECTION)")
    common.add_argument("--chroma-host", help="use a Chroma server (env RAG_CHROMA_HOST)")
    common.add_argument("--chroma-port", type=int, help="Chroma server port (env RAG_CHROMA_PORT)")
    common.add_argument("--device", choices=["auto", "cpu", "cuda"], help="env RAG_DEVICE")

    filters = argparse.ArgumentParser(add_help=False)
    group = filters.add_argument_group("paper filters (only papers with that metadata match)")
    group.add_argument("--year", help="YEAR, FROM-TO, FROM- or -TO (e.g. 2021-)")
    group.add_argument("--author", help="part of an author's name (e.g. mül), any case or accents")
    group.add_argument("--venue", help="words of the journal or conference name")
    group.add_argument("--category", help="an arXiv category or keyword (e.g. cs.CL)")

    parser = argparse.ArgumentParser(prog="rag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common], help="index abstracts (incremental)")
    p.add_argument("paths", nargs="*", type=Path, help=".txt/.jsonl/.csv/.bib files or folders")
    p.add_argument("--prune", action="store_true", help="also drop papers not in these paths")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--skip-bad", action="store_true", help="index the good records, report each bad line"
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("repair", parents=[common],
                       help="re-index every file the manifest names (a damaged index)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_repair)

    p = sub.add_parser("search", parents=[common, filters], help="ranked sources, no generation")
    p.add_argument("question")
    p.add_argument("--top-k", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", parents=[common, filters], help="answer with [n] citations")
    p.add_argument("question", nargs="?")
    p.add_argument("--file", type=Path, help='JSONL: {"question": ..., "history": [...]}')
    p.add_argument("--json", action="store_true", help="one JSON object per question")
    p.add_argument(
        "--format",
        choices=["text", "json", "markdown", "bibtex"],
        default="text",
        help="markdown: the answers with reference lists; bibtex: the cited papers",
    )
    p.add_argument("--top-k", type=int)
    p.add_argument("--generator", help="generator key (env RAG_GENERATOR)")
    p.set_defaults(func=cmd_ask)

    # Listed for --help only: main() hands "rag eval ..." to eval/harness.py, which owns
    # its options (argparse sub-parsers cannot pass unknown --options through).
    sub.add_parser("eval", help="score the assistant on a question set (rag eval --help)")

    p = sub.add_parser("prepare", parents=[common], help="build the generator and embedder caches")
    p.add_argument("generators", nargs="*", help="generator keys (default: the configured one)")
    p.add_argument("--recalibrate", action="store_true", help="time the generator engines again")
    p.set_defaults(func=cmd_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one line on stderr and exit code 2."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["eval"]:
            from eval.harness import main as eval_main

            return eval_main(argv[1:])
        args = build_parser().parse_args(argv)
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
