"""The Gradio chat UI: a thin layer over ``rag.pipeline.Assistant`` (no retrieval or prompt
logic here). Run with ``rag-ui`` (or ``python -m ui``).
"""

from __future__ import annotations

import argparse
import html
import ipaddress
import sys
import tempfile
from pathlib import Path
from typing import Any

import rag  # noqa: F401  (sets the offline environment before gradio is imported)
from rag.collections import collection_sizes
from rag.errors import RagError
from rag.ingest import ensure_index
from rag.pipeline import Assistant
from rag.settings import Settings
from rag.uploads import add_file
from ui.login_guard import login_options
from ui.render import (
    CITATION_JS,
    CSS,
    answer_html,
    panel_html,
    sources_only_html,
    turn_html,
)

TITLE = "Research-paper assistant"


def new_session(collection: str = "") -> dict:
    """Per-browser-tab state: the collection asked about ("" = the app's own), the plain
    dialogue (for follow-ups), the panel blocks and the finished answers (for the exports)."""
    return {"collection": collection, "dialog": [], "blocks": [], "answers": []}


def status_line(papers: int, settings: Settings) -> str:
    """Index size and model, shown under the title."""
    return (
        f"{papers} papers indexed · collection {settings.collection} · generator "
        f"{settings.generator} · answers cite their sources as [n]; click one to see the passage."
    )


def paper_filter(year: str = "", author: str = "", venue: str = "", category: str = ""):
    """The UI's and the API's filter fields as a filter (a bad year range is a RagError)."""
    from rag.filters import parse_years
    from rag.types import PaperFilter

    start, end = parse_years(year) if (year or "").strip() else (None, None)
    return PaperFilter(start, end, author or "", venue or "", category or "")


# Shown before each answer while the index on disk holds what this app cannot search.
STALE_INDEX = (
    "Another process (e.g. rag ingest) changed this index after the app loaded it: restart "
    "the app to search those papers; until then answers may leave them out."
)


def build_app(assistant: Assistant):
    """The Blocks app (not launched)."""
    import gradio as gr

    settings = assistant.settings
    assistants = {settings.collection: assistant}  # one per collection asked about
    uploading = [0]  # this app's uploads under way: their new rows are not another process's
    # Counted once per collection; uploads report the new totals themselves.
    papers = {settings.collection: assistant.retriever.count_papers()}

    def current(session: dict) -> Assistant:
        """The assistant of the session's collection (opened on first use, same model)."""
        name = session.get("collection") or settings.collection
        if name not in assistants:
            assistants[name] = assistant.for_collection(name)
            papers[name] = assistants[name].retriever.count_papers()
        return assistants[name]

    def status(session: dict) -> str:
        here = current(session)
        return status_line(papers[here.settings.collection], here.settings)

    def choices() -> list[tuple[str, str]]:
        return [(f"{name} ({count} papers)", name)
                for name, count in collection_sizes(settings).items()]  # fmt: skip

    def switch(name: str, session: dict):
        fresh = new_session(name)
        try:
            line = status(fresh)
        except RagError as exc:
            gr.Warning(str(exc))
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return [], panel_html([]), fresh, line

    def respond(question: str, chat: list, session: dict, top_k: int, sources_only: bool,
                year: str, author: str, venue: str, category: str):  # fmt: skip
        question = (question or "").strip()
        if not question:
            gr.Warning("Type a question about the papers first.")
            yield gr.skip(), chat, gr.skip(), session
            return
        # Shown as typed: markup in a question is text, never HTML.
        chat = [*chat, {"role": "user", "content": html.escape(question)}]
        turn = len(session["blocks"])
        history = list(session["dialog"])
        try:
            here = current(session)
            if not uploading[0] and here.retriever.changed_elsewhere():
                gr.Warning(STALE_INDEX)
            asked = here.filtered(paper_filter(year, author, venue, category))
            if sources_only:
                sources = asked.search(question, history, top_k=int(top_k))
                chat.append({"role": "assistant", "content": sources_only_html(sources)})
                session["blocks"].append(turn_html(turn, question, sources, None))
                session["dialog"] += [{"role": "user", "content": question}]
                yield "", chat, panel_html(session["blocks"]), session
                return
            chat.append({"role": "assistant", "content": "…"})
            yield "", chat, gr.skip(), session
            draft = ""
            for event in asked.stream(question, history, top_k=int(top_k)):
                if event.kind == "sources":
                    block = turn_html(turn, question, event.sources or [], None, final=False)
                    yield "", chat, panel_html([*session["blocks"], block]), session
                elif event.kind == "token":
                    draft += event.text
                    chat[-1] = {"role": "assistant", "content": html.escape(draft)}
                    yield "", chat, gr.skip(), session
                elif event.kind == "done" and event.answer is not None:
                    answer = event.answer
                    chat[-1] = {"role": "assistant", "content": answer_html(answer, turn)}
                    session["blocks"].append(turn_html(turn, question, answer.sources, answer))
                    session["answers"].append(answer)
                    session["dialog"] += [
                        {"role": "user", "content": question},
                        # "cited": a follow-up retrieves these papers first.
                        {
                            "role": "assistant",
                            "content": answer.answer,
                            "cited": [c.doc_id for c in answer.citations],
                        },
                    ]
                    yield "", chat, panel_html(session["blocks"]), session
        except RagError as exc:
            if chat[-1]["role"] == "assistant":
                chat.pop()
            chat.append({"role": "assistant", "content": f"⚠️ error: {html.escape(str(exc))}"})
            yield "", chat, panel_html(session["blocks"]), session

    def clear(session: dict):
        return [], panel_html([]), new_session(session.get("collection", "")), ""

    export_dir = Path(tempfile.mkdtemp(prefix="rag-export-"))

    def export(session: dict, what: str):
        from rag.export import bibtex, cited, markdown

        answers = session.get("answers", [])
        if what == "markdown":
            text, name = (markdown(answers) if answers else ""), "conversation.md"
        else:
            papers = cited(answers[-1:] if what == "last" else answers)
            text = bibtex(papers) if papers else ""
            name = "answer-references.bib" if what == "last" else "references.bib"
        if not text:
            gr.Warning("Nothing to export yet: ask a question that gets a cited answer first.")
            return gr.skip()
        path = Path(tempfile.mkdtemp(dir=export_dir)) / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def upload(path: str | None, skip_bad: bool, session: dict,
               progress=gr.Progress(track_tqdm=True)):  # noqa: B008  # fmt: skip
        if not path:
            return gr.skip(), gr.skip()
        try:
            progress(0, desc="Reading the file")
            here = current(session)
            uploading[0] += 1
            try:
                report = add_file(Path(path), Path(path).name, here.settings, True, skip_bad)
            finally:
                here.retriever.refresh()
                uploading[0] -= 1
        except RagError as exc:
            gr.Warning(str(exc))
            return f"⚠️ Not added: {html.escape(str(exc))}. The index is unchanged.", gr.skip()
        papers[here.settings.collection] = report.total_papers
        return (
            f"Added {html.escape(Path(path).name)}: {report.added} new, {report.updated} updated, "
            f"{report.unchanged} already indexed. Ask about them now."
            + "".join(f"\n\n{html.escape(note)}" for note in report.notes),
            status(session),
        )

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"## {TITLE}")
        with gr.Row():
            status_box = gr.Markdown(status_line(papers[settings.collection], settings),
                                     elem_id="status")  # fmt: skip
            picker = gr.Dropdown(choices(), value=settings.collection, label="Collection",
                                 elem_id="collection", scale=0, min_width=240)  # fmt: skip
        session = gr.State(new_session())
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    elem_id="chat",
                    height=520,
                    label="Chat",
                    feedback_options=None,
                    buttons=["copy"],
                    placeholder="Ask about the indexed paper abstracts.",
                )
                with gr.Row():
                    box = gr.Textbox(
                        elem_id="question",
                        placeholder="Ask about the indexed papers",
                        show_label=False,
                        scale=5,
                        max_lines=4,
                    )
                    ask = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
                clear_button = gr.Button("Clear chat", elem_id="clear", size="sm")
            with gr.Column(scale=2):
                panel = gr.HTML(panel_html([]), elem_id="sources", label="Sources")
        with gr.Accordion("Settings", open=False, elem_id="settings"):
            top_k = gr.Slider(1, 10, value=settings.top_k, step=1, label="Number of sources",
                              elem_id="top-k")  # fmt: skip
            sources_only = gr.Checkbox(label="Sources only (no generated answer)",
                                       elem_id="sources-only")  # fmt: skip
            gr.Markdown("Only papers whose metadata matches (case and accents ignored):")
            with gr.Row():
                year = gr.Textbox(label="Year", placeholder="2021-, 2019-2021", elem_id="f-year")
                author = gr.Textbox(label="Author", placeholder="surname", elem_id="f-author")
                venue = gr.Textbox(label="Venue", elem_id="f-venue")
                category = gr.Textbox(label="Category", placeholder="cs.CL",
                                      elem_id="f-category")  # fmt: skip
        with gr.Accordion("Export", open=False, elem_id="export"):
            with gr.Row():
                export_md = gr.Button("Chat as Markdown", elem_id="export-md", size="sm")
                export_bib = gr.Button("Cited papers as BibTeX", elem_id="export-bib", size="sm")
                export_last = gr.Button("Last answer's papers as BibTeX", size="sm",
                                        elem_id="export-last")  # fmt: skip
            export_file = gr.File(label="Download", interactive=False, elem_id="export-file")
        with gr.Accordion("Add abstracts", open=False, elem_id="add-abstracts"):
            gr.Markdown(
                "A JSONL (arXiv metadata too), CSV, BibTeX (.bib, e.g. a Zotero export) or .txt "
                f"file of abstracts, up to {settings.max_upload_mb} MB. "
                "It is added to the index; what is indexed already stays."
            )
            upload_file = gr.File(file_types=[".jsonl", ".csv", ".txt", ".bib"], type="filepath",
                                  label="File of abstracts", elem_id="upload")  # fmt: skip
            skip_bad = gr.Checkbox(label="Skip bad lines (index the good records, list the bad)",
                                   elem_id="skip-bad")  # fmt: skip
            upload_status = gr.Markdown(elem_id="upload-status")

        inputs = [box, chat, session, top_k, sources_only, year, author, venue, category]
        outputs = [box, chat, panel, session]
        # One answer at a time (one model); others wait in the queue and see their place.
        for trigger in (box.submit, ask.click):
            trigger(respond, inputs, outputs, concurrency_limit=1, concurrency_id="answer",
                    api_visibility="private")  # fmt: skip
        clear_button.click(clear, session, [chat, panel, session, box], api_visibility="private")
        picker.input(switch, [picker, session], [chat, panel, session, status_box],
                     api_visibility="private")  # fmt: skip
        for button, what in ((export_md, "markdown"), (export_bib, "bibtex"),
                             (export_last, "last")):  # fmt: skip
            button.click(lambda s, w=what: export(s, w), session, export_file,
                         api_visibility="private")  # fmt: skip
        # The chat's own bin icon empties the chat only: forget the session with it.
        chat.clear(lambda s: clear(s)[1:3], session, [panel, session], api_visibility="private")
        upload_file.upload(
            upload,
            [upload_file, skip_bad, session],
            [upload_status, status_box],
            concurrency_limit=1,
            concurrency_id="ingest",
            api_visibility="private",
        )

        def answer_api(question: str, history: list[dict] | None = None,
                       top_k: int | None = None, year: str = "", author: str = "",
                       venue: str = "", category: str = "",
                       collection: str = "") -> dict:  # fmt: skip
            """The answer as JSON, the shape of `rag ask --json` (for scripts: gradio_client);
            the filter fields as in the UI's settings; ``collection``: another collection."""
            try:
                base = current({"collection": collection})
                asked = base.filtered(paper_filter(year, author, venue, category))
                return asked.ask(question, history or None, top_k=top_k).to_dict()
            except RagError as exc:
                raise gr.Error(str(exc)) from None

        gr.api(answer_api, api_name="answer", concurrency_limit=1, concurrency_id="answer")
        # A page opened later shows the new counts and collections, not those at start.
        app.load(lambda s: (status(s), gr.update(choices=choices())), session,
                 [status_box, picker], api_visibility="private")  # fmt: skip
    return app


def _check_bind(host: str, auth: str | None) -> tuple[str, str] | None:
    """Loopback needs nothing; any other address needs a username:password."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise RagError("--auth must be USER:PASSWORD")
        return user, password
    if not loopback:
        raise RagError(
            f"listening on {host} exposes the UI to the network; "
            "add --auth USER:PASSWORD (or RAG_UI_AUTH) to do so"
        )
    return None


def prepare_app(settings: Settings, load_generator: bool = True):
    """Everything the UI does before it serves: index the corpus on a first start, open
    the index, load the generator (unless told not to), build the app (not launched).

    Returns (assistant, app). ``bench/scale.py`` times this without the generator."""
    report = ensure_index(settings)
    if report is not None:
        print("first start: indexed the shipped corpus; " + report.summary(), flush=True)
    assistant = Assistant(settings)
    if load_generator:
        print(f"loading the generator ({settings.generator})…", flush=True)
        assistant.warm_up()
    return assistant, build_app(assistant)


def launch_options(settings: Settings) -> dict[str, Any]:
    """The ``launch()`` arguments for who may reach the app and how: a throttled login
    when ``ui_auth`` is set (ui/login_guard.py) and HTTPS when a certificate is.

    Raises RagError for a bind that needs a login and has none, or half a TLS pair, so
    ``main`` refuses before the slow start. Tests launch a real app with these options.
    """
    options = login_options(settings, _check_bind(settings.ui_host, settings.ui_auth))
    certfile, keyfile = settings.ui_ssl_certfile, settings.ui_ssl_keyfile
    if (certfile is None) != (keyfile is None):
        raise RagError("HTTPS needs both --ssl-certfile and --ssl-keyfile")
    if certfile is not None and keyfile is not None:
        for path in (certfile, keyfile):
            if not path.is_file():
                raise RagError(f"no such TLS file: {path}")
        options.update(
            ssl_certfile=str(certfile),
            ssl_keyfile=str(keyfile),
            # Only Gradio's start-up request to its own local URL checks the certificate;
            # that URL names localhost, which a real certificate does not.
            ssl_verify=False,
        )
    return options


def main(argv: list[str] | None = None) -> int:
    """Build the index if there is none, load the model, serve the UI on 127.0.0.1."""
    parser = argparse.ArgumentParser(prog="rag-ui", description=__doc__)
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1; env RAG_UI_HOST)")
    parser.add_argument("--port", type=int, help="port (default 7860; env RAG_UI_PORT)")
    parser.add_argument("--auth", help="USER:PASSWORD, required off loopback (env RAG_UI_AUTH)")
    parser.add_argument(
        "--ssl-certfile",
        type=Path,
        help="serve HTTPS with this certificate (env RAG_UI_SSL_CERTFILE)",
    )
    parser.add_argument(
        "--ssl-keyfile", type=Path, help="private key of --ssl-certfile (env RAG_UI_SSL_KEYFILE)"
    )
    parser.add_argument("--generator", help="generator key (env RAG_GENERATOR)")
    parser.add_argument("--data-dir", type=Path, help="index folder (env RAG_DATA_DIR)")
    parser.add_argument("--collection", help="collection shown first (env RAG_COLLECTION)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(ui_host=args.host, ui_port=args.port, ui_auth=args.auth,
                                 ui_ssl_certfile=args.ssl_certfile,
                                 ui_ssl_keyfile=args.ssl_keyfile,
                                 generator=args.generator, data_dir=args.data_dir,
                                 collection=args.collection)  # fmt: skip
        options = launch_options(settings)
        _, app = prepare_app(settings)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app.queue(max_size=64).launch(
        server_name=settings.ui_host,
        server_port=settings.ui_port,
        max_file_size=settings.max_upload_mb * 2**20,
        ssr_mode=False,
        share=False,
        css=CSS,
        head=CITATION_JS,
        # System fonts: the default theme would fetch Google Fonts, an outside call.
        theme=_offline_theme(),
        **options,
    )
    return 0


def _offline_theme():
    import gradio as gr

    return gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )


if __name__ == "__main__":
    raise SystemExit(main())
