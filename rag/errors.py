"""The one exception type whose message is shown to users as-is."""


class RagError(Exception):
    """A user-facing problem: the message is one line that says what to do."""
