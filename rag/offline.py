"""Start-up switches, set before any Hugging Face / Gradio / Chroma import: offline mode,
and libraries' log lines below WARNING kept out of what the user sees.

No model hub is reachable from the machines this product runs on, and the product
promises "no outside network calls", so these are set in code, not only documented.
"""

from __future__ import annotations

import logging
import os
import sys

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply_offline_env() -> None:
    """Force the offline settings (a user's own value for these is overridden on purpose);
    keep library log lines below WARNING out of the user's output (:func:`quiet_library_logs`)."""
    os.environ.update(OFFLINE_ENV)
    # llama-index ships tiktoken and NLTK data in its wheel; pointing these elsewhere
    # makes it try to download (see shared MODELS.md).
    for var in ("TIKTOKEN_CACHE_DIR", "NLTK_DATA"):
        os.environ.pop(var, None)
    quiet_library_logs()


class _WarningsToStderr(logging.StreamHandler):
    """Records of WARNING and above to the ``sys.stderr`` of the moment (as Python's own
    last-resort handler does), so a replaced stderr (pytest's capture) is followed."""

    def __init__(self) -> None:
        logging.Handler.__init__(self, logging.WARNING)
        self.setFormatter(logging.Formatter(logging.BASIC_FORMAT))

    @property
    def stream(self):
        """Where ``StreamHandler.emit`` writes."""
        return sys.stderr


def quiet_library_logs() -> None:
    """Only WARNING and above of other libraries' logging reaches the user (issue #17);
    the product itself reports by printing, so none of its own output is hidden.

    Why a handler, not logger levels: bm25s sets its own logger to DEBUG when imported
    (later than this runs, so a level set here would be undone), and calls the logging
    module's functions (``logging.info``), whose first call installs
    ``logging.basicConfig()``'s handler, which has no level: every INFO line of bm25s
    ("INFO:bm25s:The query is empty...") then reached stderr in `rag ask`/`rag search`.
    With a WARNING handler on the root logger first, that call does nothing and lower
    records stop there. A program that configured logging itself (the root logger
    already has handlers) is left as it is.
    """
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(_WarningsToStderr())
