"""The chat UI, for real: the app runs as its own process (first start builds the index),
Debian's headless Chromium drives the page through Playwright, and gradio_client calls
its API. The generator is the small real model, so answers are fast, not good.

Screenshots go to ``artifacts/`` (kept by CI).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT, SMALL_GENERATOR, free_port, subprocess_env, wait_until_up

ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking switches Chromium calls out to Google at start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "How many parameters does Megatron-Turing NLG have?"
UPLOADED = {
    # Markup in a document must show as text: if it ran, window.pwned would be set.
    "title": "Zorblax <img src=x onerror=window.pwned=1>: Counting Croissants",
    "abstract": (
        "We introduce Zorblax, a seven-layer frobnicator network for counting croissants in "
        "bakery photographs. Zorblax is trained on 12,345 labelled croissant images. "
        "It counts croissants with 97% accuracy, beating manual counting by pastry chefs."
    ),
}


# A made-up reference-manager export: one paper with its metadata.
LIBRARY = r"""@article{quenby2021,
  title = {Lantern: Counting Lighthouses from Orbit},
  author = {Qu{\'e}nby, Iris and Tal, Oren},
  year = {2021},
  journal = {Journal of Invented Surveys},
  abstract = {We introduce Lantern, a detector that counts lighthouses in satellite images of
    coastlines. Lantern finds 9,876 lighthouses on a made-up survey of 40 coasts.},
}
"""


DATA_DIRS: dict[str, Path] = {}  # the app's data folder, by its URL


@pytest.fixture(scope="module")
def ui_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app started the README's way, on an empty data folder, on 127.0.0.1."""
    data_dir = tmp_path_factory.mktemp("ui-data")
    log = data_dir.parent / "ui.log"
    port = free_port()
    # The 135M test model loses track over five sources; these tests check the UI (streaming,
    # citation links, panels), not answer quality, so it reads the best source only.
    # The answerable check's threshold is the default generator's, not the 135M test
    # model's (it withheld this test's answer): here the check asks but never withholds.
    env = subprocess_env(RAG_DATA_DIR=str(data_dir), RAG_GENERATOR=SMALL_GENERATOR,
                         RAG_CONTEXT_SOURCES="1", RAG_MIN_ANSWERABLE_LEAD="-1000")  # fmt: skip
    # A second collection beside the default one, for the collection picker.
    library = data_dir.parent / "library.bib"
    library.write_text(LIBRARY)
    subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(library), "--collection",
                    "thesis", "--quiet"], env=env, check=True, capture_output=True)  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, proc, log, timeout=600)
        assert "first start: indexed the shipped corpus" in log.read_text()
        DATA_DIRS[url] = data_dir
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium (never a downloaded browser: no network for that)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("RAG_REQUIRE_BROWSER"):
            pytest.fail("chromium is missing; bash setup.sh installs it (apt-get)")
        pytest.skip("Debian's chromium is not installed (bash setup.sh installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _last_bot_text(page) -> str:
    bots = page.locator("#chat .bot")
    return bots.last.inner_text() if bots.count() else ""


# Observes the whole body, not #chat: Gradio may mount or re-render the chatbot after the
# status line appears, and an observer on a replaced node would see nothing.
RECORD_BOT_TEXTS = """() => {
  window.botTexts = [];
  new MutationObserver(() => {
    const bots = document.querySelectorAll('#chat .bot');
    if (!bots.length) return;
    const text = bots[bots.length - 1].innerText.trim();
    if (text && window.botTexts[window.botTexts.length - 1] !== text) window.botTexts.push(text);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def _ask(page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()


def _wait_for_answer(page, answers_before: int, timeout_ms: float = 180_000) -> None:
    """Until the panel holds the finished block of one more answer."""
    page.wait_for_function(
        f"document.querySelectorAll('#sources .turn[data-state=final]').length > {answers_before}",
        timeout=timeout_ms,
    )


def test_chat_streams_a_cited_answer_and_opens_the_cited_source(ui_url: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if urlparse(r.url).hostname not in {"127.0.0.1", "localhost"}
            and not r.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    page.goto(ui_url, wait_until="load")
    page.locator("#status").get_by_text("79 papers indexed").wait_for(timeout=60_000)

    page.evaluate(RECORD_BOT_TEXTS)
    _ask(page, QUESTION)
    _wait_for_answer(page, answers_before=0)
    seen = page.evaluate("window.botTexts")
    partial = [t for t in seen[:-1] if t != "…"]
    assert partial, f"the answer did not arrive in pieces: {seen}"
    panel = page.locator("#sources .turn").last
    assert "Megatron" in panel.inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    citations = page.locator("#chat a.cite")
    if citations.count() == 0:  # the small model abstained: the UI must say so and show finds
        assert "do not answer" in _last_bot_text(page)
        assert "closest papers" in panel.inner_text()
        page.screenshot(path=str(ARTIFACTS / "ui-answer.png"), full_page=True)
        pytest.fail(f"no citation to open; the answer was: {_last_bot_text(page)}")
    citations.first.click()
    active = page.locator("#sources details.source.active")
    active.wait_for(timeout=10_000)
    assert active.get_attribute("open") is not None
    assert "Megatron" in active.locator("summary").inner_text()
    assert active.locator("mark").count() >= 1, "the cited passage is not highlighted"
    page.screenshot(path=str(ARTIFACTS / "ui-answer.png"), full_page=True)
    assert not outside, f"the page called outside hosts: {outside[:5]}"

    # Export: the chat as Markdown and the cited papers as BibTeX, downloaded as a user would.
    cited_title = active.locator("summary").inner_text().split("] ", 1)[1].strip()
    page.locator("#export").get_by_text("Export").click()
    markdown = _download(page, "#export-md", "conversation.md")
    assert f"## {QUESTION}" in markdown and "References:" in markdown
    assert cited_title.split(" ")[0] in markdown
    import bibtexparser

    library = bibtexparser.parse_string(_download(page, "#export-bib", "references.bib"))
    assert not library.failed_blocks and library.entries
    titles = [e.fields_dict["title"].value for e in library.entries]
    assert any(cited_title.startswith(t[:20]) for t in titles), (titles, cited_title)
    page.close()


def _download(page, button: str, name: str) -> str:
    """Click an export button, then the file link it shows; the downloaded text."""
    page.locator(button).click()
    link = page.locator(f"#export-file a[download='{name}']")
    link.wait_for(timeout=30_000)
    with page.expect_download() as info:
        link.click()
    return Path(info.value.path()).read_text(encoding="utf-8")


def test_upload_a_file_then_ask_about_it(ui_url: str, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(ui_url, wait_until="load")
    page.locator("#status").get_by_text("papers indexed").wait_for(timeout=60_000)
    page.locator("#add-abstracts").get_by_text("Add abstracts").click()

    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"title": "ok", "abstract": "fine"}\n{not json\n')
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    page.locator("#upload-status").get_by_text("Not added").wait_for(timeout=60_000)
    assert "broken.jsonl:2" in page.locator("#upload-status").inner_text()
    assert "79 papers indexed" in page.locator("#status").inner_text()

    page.locator("#upload").get_by_label("Clear").click()
    good = tmp_path / "my papers.jsonl"
    good.write_text(json.dumps(UPLOADED) + "\n")
    page.locator("#upload input[type=file]").set_input_files(str(good))
    page.locator("#upload-status").get_by_text(re.compile("^Added")).wait_for(timeout=120_000)
    assert "1 new" in page.locator("#upload-status").inner_text()
    page.locator("#status").get_by_text("80 papers indexed").wait_for(timeout=10_000)

    page.locator("#upload").get_by_label("Clear").click()
    page.locator("#skip-bad input[type=checkbox]").check()
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    page.locator("#upload-status").get_by_text("skipped broken.jsonl:2").wait_for(timeout=120_000)
    assert "Added broken.jsonl: 1 new" in page.locator("#upload-status").inner_text()
    page.locator("#status").get_by_text("81 papers indexed").wait_for(timeout=10_000)

    _ask(page, "How many croissant images was Zorblax trained on?")
    _wait_for_answer(page, answers_before=0)
    first_source = page.locator("#sources .turn").last.locator("details.source").first
    assert (
        "Zorblax <img src=x onerror=window.pwned=1>" in first_source.locator("summary").inner_text()
    )
    assert page.evaluate("window.pwned") is None
    page.screenshot(path=str(ARTIFACTS / "ui-upload.png"), full_page=True)

    page.locator("#clear").click()
    page.wait_for_function("document.querySelectorAll('#chat .bot').length === 0")
    page.close()


def test_sources_only_follow_up_and_abstention(ui_url: str, browser) -> None:
    page = browser.new_page()
    page.goto(ui_url, wait_until="load")
    page.locator("#status").get_by_text("papers indexed").wait_for(timeout=60_000)

    _ask(page, "What is the capital of Australia?")  # off-topic: abstains, shows its finds
    _wait_for_answer(page, answers_before=0)
    assert "do not answer" in _last_bot_text(page)
    assert "closest papers" in page.locator("#sources .turn").last.inner_text()

    page.locator("#settings").get_by_text("Settings").click()
    page.locator("#sources-only input[type=checkbox]").check()
    page.locator("#top-k input[type=number]").fill("3")
    page.locator("#top-k input[type=number]").press("Enter")
    _ask(page, "What is FuxiTranyu?")
    _wait_for_answer(page, answers_before=1)
    assert "Sources only" in _last_bot_text(page)
    assert page.locator("#sources .turn").last.locator("details.source").count() == 3

    _ask(page, "How many parameters does its base model have?")  # "its": from the history
    _wait_for_answer(page, answers_before=2)
    first = page.locator("#sources .turn").last.locator("details.source").first
    assert "FuxiTranyu" in first.text_content()  # its abstract (closed, so not inner_text)
    page.close()


def test_api_answers_as_json_and_queues_parallel_questions(ui_url: str) -> None:
    from gradio_client import Client

    client = Client(ui_url, verbose=False)
    result = client.predict(QUESTION, None, None, api_name="/answer")
    assert result["question"] == QUESTION
    assert "Megatron" in result["sources"][0]["title"]
    assert set(result["timings"]) >= {"retrieve_s", "generate_s", "first_token_s", "total_s"}

    questions = [
        "What is the FineMath dataset?",
        "How fast is GeDi compared with other methods?",
        "What is WECHSEL used for?",
    ]
    with ThreadPoolExecutor(len(questions)) as pool:
        jobs = [client.submit(q, None, 2, api_name="/answer") for q in questions]
        results = list(pool.map(lambda job: job.result(timeout=300), jobs))
    for question, result in zip(questions, results, strict=True):
        assert result["question"] == question  # nobody got another user's answer
        assert len(result["sources"]) == 2

    with pytest.raises(Exception, match="empty question"):
        client.predict("   ", None, None, api_name="/answer")


def test_collection_picker_switches_the_papers_asked_about(ui_url: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(ui_url, wait_until="load")
    page.locator("#status").get_by_text("collection abstracts").wait_for(timeout=60_000)
    page.locator("#collection input").click()
    page.get_by_role("option", name="thesis (1 papers)").click()
    page.locator("#status").get_by_text("1 papers indexed · collection thesis").wait_for(
        timeout=30_000
    )
    page.locator("#settings").get_by_text("Settings").click()
    page.locator("#sources-only input[type=checkbox]").check()
    _ask(page, "Is there work on counting lighthouses?")
    _wait_for_answer(page, answers_before=0)
    source = page.locator("#sources .turn").last.locator("details.source").first
    assert "Lantern" in source.locator("summary").inner_text()
    assert "Quénby and Tal (2021)" in source.locator("summary").inner_text()
    assert "Journal of Invented Surveys" in source.text_content()
    page.close()


def test_an_ingest_from_another_terminal_is_announced(ui_url: str, browser, tmp_path: Path) -> None:
    # Last in this file: it adds a paper to the app's index behind the app's back. The app
    # cannot search it until it restarts (embedded Chroma, README), and says so.
    paper = tmp_path / "later.jsonl"
    paper.write_text(json.dumps({
        "title": "Beacon: Ranking Tide Tables by Hand",
        "abstract": "Beacon ranks 321 made-up tide tables by hand and finds none of them tidy.",
    }) + "\n")  # fmt: skip
    subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(paper), "--quiet"],
                   env=subprocess_env(RAG_DATA_DIR=str(DATA_DIRS[ui_url])), check=True,
                   capture_output=True, timeout=600)  # fmt: skip
    page = browser.new_page()
    page.goto(ui_url, wait_until="load")
    page.locator("#status").get_by_text("papers indexed").wait_for(timeout=60_000)
    page.locator("#settings").get_by_text("Settings").click()
    page.locator("#sources-only input[type=checkbox]").check()
    _ask(page, "Is there work on ranking tide tables?")
    page.get_by_text("restart the app to search those papers").first.wait_for(timeout=60_000)
    _wait_for_answer(page, answers_before=0)
    page.close()
