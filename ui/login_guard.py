"""Brute-force protection for the UI's login (``--auth``).

Gradio checks a login with the ``auth`` callable given to ``launch()``, but calls it with
the user name and password only: it never sees who is asking. So a small ASGI middleware
(passed through ``launch(app_kwargs={"middleware": ...})``, Gradio's way to configure its
FastAPI app) notes each request's client address, and the ``auth`` callable reads it to
count failures per client. Gradio, Starlette and uvicorn have no login throttle of their
own; :class:`LoginThrottle` is written here for that reason.

The client address is the one uvicorn (Gradio's server) gives the request: the peer's
address, or the ``X-Forwarded-For`` address when the peer is a trusted proxy (uvicorn
trusts 127.0.0.1 and ::1 unless ``FORWARDED_ALLOW_IPS`` says otherwise), so a reverse proxy
on the same host keeps clients apart.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException
from starlette.middleware import Middleware

from rag.settings import Settings

log = logging.getLogger(__name__)

WINDOW_S = 60.0  # the global limit counts failures over this last stretch of time
# A client's failures are forgotten this long after its last one (once any wait is over),
# so the table stays small. It cannot grow fast either: every entry needs a failure, and
# all clients together may fail only login_global_failures_per_min times a minute.
FORGET_S = 3600.0
UNKNOWN_CLIENT = "unknown"  # no address seen (the middleware missing): one shared count

_client: ContextVar[str | None] = ContextVar("login_client", default=None)


@dataclass
class _Record:
    failures: int = 0  # failed logins in a row
    last_failure: float = 0.0
    locked_until: float = 0.0


class LoginThrottle:
    """Counts failed logins per client address and says how long a login must wait.

    A client may fail ``max_failures`` times in a row freely; after that it waits
    ``backoff_s * 2**k`` seconds (k = failures past the limit, at most ``backoff_max_s``)
    before its next attempt is even checked. A successful login clears its count. Over all
    clients, at most ``global_failures_per_min`` failures are let through in any minute:
    a guessing attack spread over many addresses makes every login wait. ``clock`` is
    injectable (seconds, monotonic) so tests need not sleep.
    """

    def __init__(
        self,
        max_failures: int = 5,
        backoff_s: float = 2.0,
        backoff_max_s: float = 300.0,
        global_failures_per_min: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1 or global_failures_per_min < 1 or backoff_s <= 0:
            raise ValueError("login throttle limits must be positive")
        self.max_failures = max_failures
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.global_failures_per_min = global_failures_per_min
        self.clock = clock
        self._clients: dict[str, _Record] = {}
        self._recent: deque[float] = deque()  # times of failures in the last WINDOW_S
        # The auth callable may run on the event loop or a worker thread.
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> LoginThrottle:
        """A throttle with the limits of ``settings`` (``kwargs``: e.g. a test clock)."""
        return cls(
            max_failures=settings.login_max_failures,
            backoff_s=settings.login_backoff_s,
            backoff_max_s=settings.login_backoff_max_s,
            global_failures_per_min=settings.login_global_failures_per_min,
            **kwargs,
        )

    def wait_s(self, client: str) -> float:
        """Seconds before ``client`` may try to log in again (0: it may now)."""
        with self._lock:
            return self._wait_s(client, self.clock())

    def failure(self, client: str, user: str) -> float:
        """Count a failed login (and log it); returns the wait it starts (0: none)."""
        with self._lock:
            now = self.clock()
            self._forget(now)
            record = self._clients.setdefault(client, _Record())
            record.failures += 1
            record.last_failure = now
            past = record.failures - self.max_failures
            if past >= 0:
                record.locked_until = now + min(self.backoff_max_s, self.backoff_s * 2**past)
            self._recent.append(now)
            in_a_row = record.failures
            wait = self._wait_s(client, now)
        # %r: a user name is attacker-chosen text; repr keeps it on one line of the log.
        log.warning(
            "failed login for user %r from %s (%d in a row)%s",
            user[:64],
            client,
            in_a_row,
            f"; logins wait {wait:.0f} s" if wait else "",
        )
        return wait

    def success(self, client: str) -> None:
        """A login succeeded: the client starts again from no failures."""
        with self._lock:
            self._clients.pop(client, None)

    def _wait_s(self, client: str, now: float) -> float:
        while self._recent and self._recent[0] <= now - WINDOW_S:
            self._recent.popleft()
        until = 0.0
        if len(self._recent) >= self.global_failures_per_min:
            until = self._recent[0] + WINDOW_S  # when the oldest counted failure ages out
        record = self._clients.get(client)
        if record is not None:
            until = max(until, record.locked_until)
        return max(0.0, until - now)

    def _forget(self, now: float) -> None:
        stale = [
            client
            for client, record in self._clients.items()
            if record.last_failure < now - FORGET_S and record.locked_until <= now
        ]
        for client in stale:
            del self._clients[client]


class ClientAddressMiddleware:
    """ASGI middleware: makes each request's client address visible to the ``auth``
    callable, which Gradio calls without the request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Note the client's address for this request, then serve it unchanged."""
        if scope["type"] == "http":
            # A context variable: set here, it is seen by the login route's code in the same
            # request, and by no other request.
            client = scope.get("client")
            _client.set(client[0] if client else None)
        await self.app(scope, receive, send)


class ThrottledLogin:
    """Gradio's ``auth`` callable: checks one user's password unless the client must wait.

    A throttled attempt is answered HTTP 429 with ``Retry-After``, and its password is not
    checked, so waiting out the back-off is the only way to try more passwords.
    """

    def __init__(self, user: str, password: str, throttle: LoginThrottle) -> None:
        self._user = user.encode()
        self._password = password.encode()
        self.throttle = throttle

    def __call__(self, username: str, password: str) -> bool:
        """True for the right user name and password; counts and logs a wrong one."""
        # Gradio calls a plain (not async) auth function straight from its login route on the
        # event loop, so no other login runs between this check and the count below.
        client = _client.get() or UNKNOWN_CLIENT
        wait = self.throttle.wait_s(client)
        if wait > 0:
            seconds = math.ceil(wait)
            log.warning(
                "login refused unchecked for user %r from %s: too many failed logins, %d s to wait",
                username[:64],
                client,
                seconds,
            )
            # Raised inside Gradio's /login route, FastAPI answers it as this response.
            raise HTTPException(
                status_code=429,
                detail=f"Too many failed logins. Try again in {seconds} s.",
                headers={"Retry-After": str(seconds)},
            )
        # Constant-time comparisons, both always made: how long the answer takes does not
        # tell a right user name, or a right prefix of the password.
        right_user = hmac.compare_digest(username.encode(), self._user)
        right_password = hmac.compare_digest(password.encode(), self._password)
        if right_user and right_password:
            self.throttle.success(client)
            return True
        self.throttle.failure(client, username)
        return False


def login_options(settings: Settings, credentials: tuple[str, str] | None) -> dict[str, Any]:
    """The ``launch()`` arguments that put a throttled login in front of the app.

    ``credentials``: (user, password), or None for no login (loopback without ``--auth``),
    which adds nothing.
    """
    if credentials is None:
        return {}
    throttle = LoginThrottle.from_settings(settings)
    longest = settings.login_backoff_max_s
    longest_text = f"{longest:.0f} s" if longest < 120 else f"{longest / 60:.0f} min"
    return {
        "auth": ThrottledLogin(*credentials, throttle),
        # Gradio's login page shows nothing for a refused (429) attempt, so say it here.
        "auth_message": (
            f"After {settings.login_max_failures} failed logins from one address, logging "
            f"in waits, longer after each further failure (up to {longest_text}). If "
            "Login seems to do nothing, wait and try again."
        ),
        "app_kwargs": {"middleware": [Middleware(ClientAddressMiddleware)]},
    }
