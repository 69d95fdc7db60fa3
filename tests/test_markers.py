"""The one [n] marker pattern (rag.markers), shared by the checks, the UI and the grader."""

from __future__ import annotations

from eval import grading
from rag import markers


def test_marker_forms() -> None:
    assert markers.cited_numbers("a [1] b [2, 3] c [4-5] d [1] e [6–7]") == [1, 2, 3, 4, 5, 6, 7]
    assert markers.marker_numbers("1-30") == [1, 30]  # a range too wide to be one is not expanded
    assert markers.cited_numbers("see [a] or [] or [1.5]") == []


def test_stripping_leaves_clean_text() -> None:
    assert markers.strip_markers("Quill adapts [1] encoders [2, 3].") == "Quill adapts encoders."


def test_the_grader_reads_markers_with_the_same_pattern() -> None:
    assert grading.MARKER is markers.MARKER
