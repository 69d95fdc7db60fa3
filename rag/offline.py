"""Offline switches that must be set before any Hugging Face / Gradio / Chroma import.

No model hub is reachable from the machines this product runs on, and the product
promises "no outside network calls", so these are set in code, not only documented.
"""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply_offline_env() -> None:
    """Force the offline settings (a user's own value for these is overridden on purpose)."""
    os.environ.update(OFFLINE_ENV)
    # llama-index ships tiktoken and NLTK data in its wheel; pointing these elsewhere
    # makes it try to download (see shared MODELS.md).
    for var in ("TIKTOKEN_CACHE_DIR", "NLTK_DATA"):
        os.environ.pop(var, None)
