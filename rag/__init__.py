"""A local research-paper assistant: load -> chunk -> embed/store -> retrieve -> generate -> cite.

Importing the package switches every library it uses to offline mode first.
"""

from rag.offline import apply_offline_env

apply_offline_env()

__version__ = "0.1.0"
