"""The one interface every answer check has.

A check is called with a :class:`~rag.types.Draft` and returns ``None`` (pass) or a
:class:`~rag.types.Verdict` naming itself and saying why the draft must be withheld. It
may rewrite ``draft.text`` (the citation check repairs markers) and record what it
measured in ``draft.signals``. Thresholds come from ``settings.checks`` at construction.
The pipeline applies the checks in the order of :func:`rag.checks.build_checks`; the
first verdict stops it, and its name is the answer's ``abstain_check``.
"""

from __future__ import annotations

from typing import Protocol

from rag.types import Draft, Verdict


class Check(Protocol):
    """A named step from draft to verified answer."""

    name: str

    def __call__(self, draft: Draft) -> Verdict | None:
        """``None`` if the draft passes, else why it is withheld."""
        ...
