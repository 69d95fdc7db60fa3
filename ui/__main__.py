"""``python -m ui`` starts the chat UI."""

from ui.app import main

raise SystemExit(main())
