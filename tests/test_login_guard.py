"""The UI's login throttle (issue #17): a burst of wrong passwords is stopped.

End to end, a real Gradio app is served on 127.0.0.1 with the launch options ``rag-ui``
itself uses (``ui.app.launch_options``), and httpx logs in over HTTP. Other client
addresses come through ``X-Forwarded-For``, which Gradio's server (uvicorn) believes from a
proxy on 127.0.0.1, as it would from a reverse proxy on the same host. The throttle's
timing is tested on its own with a made-up clock, so nothing sleeps long.
"""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from rag.errors import RagError
from rag.settings import Settings
from tests.conftest import free_port
from ui.app import launch_options
from ui.login_guard import FORGET_S, WINDOW_S, LoginThrottle

USER, PASSWORD = "reader", "correct horse battery"
WRONG = "guess"


@contextmanager
def served(settings: Settings, scheme: str = "http") -> Iterator[str]:
    """A real Gradio app behind the product's login options, on a free port."""
    import gradio as gr

    with gr.Blocks(analytics_enabled=False) as demo:
        gr.Markdown("behind the login")
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        ssr_mode=False,
        share=False,
        quiet=True,
        **launch_options(settings),
    )
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        demo.close()


def login(client: httpx.Client, url: str, password: str, via: str | None = None):
    """POST to Gradio's login route, as its login page does; ``via``: a forwarded address."""
    headers = {"X-Forwarded-For": via} if via else {}
    return client.post(
        f"{url}/login", data={"username": USER, "password": password}, headers=headers
    )


def guard_lines(caplog: pytest.LogCaptureFixture, start: str) -> list[str]:
    """The login guard's warnings that begin with ``start``."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "ui.login_guard"
        and r.levelno == logging.WARNING
        and r.getMessage().startswith(start)
    ]


def test_a_burst_of_wrong_logins_is_throttled_end_to_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ui.login_guard")
    settings = Settings.load(
        ui_auth=f"{USER}:{PASSWORD}",
        login_max_failures=5,
        login_backoff_s=3,
        login_backoff_max_s=3,
        login_global_failures_per_min=1000,  # this test is about one client
    )
    with served(settings) as url, httpx.Client(timeout=10) as client:
        # The reproduction: 30 wrong logins in a burst were all answered.
        statuses = [login(client, url, WRONG).status_code for _ in range(30)]
        assert statuses[:5] == [400] * 5  # answered: wrong password
        assert statuses[5:] == [429] * 25  # refused unchecked while the client waits

        # During the back-off the right password is refused too: it is not even checked.
        refused = login(client, url, PASSWORD)
        assert refused.status_code == 429
        assert "Too many failed logins" in refused.json()["detail"]
        wait = int(refused.headers["Retry-After"])
        assert 1 <= wait <= 3

        # Another client address is not held back by this one's failures.
        other = "203.0.113.7"
        assert login(client, url, WRONG, via=other).status_code == 400
        assert login(client, url, PASSWORD, via=other).status_code == 200

        # Once the wait is over, the right password logs in, and the count starts again.
        time.sleep(wait + 0.2)
        accepted = login(client, url, PASSWORD)
        assert accepted.status_code == 200 and accepted.json() == {"success": True}
        assert login(client, url, WRONG).status_code == 400

    failed = guard_lines(caplog, "failed login")
    assert len(failed) == 5 + 1 + 1  # the burst's 5 checked, the other client's, the last
    assert all(f"user {USER!r}" in line for line in failed)
    assert sum("from 127.0.0.1" in line for line in failed) == 6
    assert sum(f"from {other}" in line for line in failed) == 1
    assert len(guard_lines(caplog, "login refused unchecked")) == 25 + 1
    assert not any(PASSWORD in r.getMessage() or WRONG in r.getMessage() for r in caplog.records)


def test_failures_from_many_addresses_make_every_login_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ui.login_guard")
    settings = Settings.load(
        ui_auth=f"{USER}:{PASSWORD}",
        login_max_failures=100,  # no single address reaches its own limit
        login_global_failures_per_min=10,
    )
    with served(settings) as url, httpx.Client(timeout=10) as client:
        spread = [login(client, url, WRONG, via=f"198.51.100.{i}").status_code for i in range(10)]
        assert spread == [400] * 10
        fresh = "192.0.2.200"
        assert login(client, url, WRONG, via=fresh).status_code == 429
        refused = login(client, url, PASSWORD, via=fresh)
        assert refused.status_code == 429
        assert 50 <= int(refused.headers["Retry-After"]) <= 60
    assert len(guard_lines(caplog, "failed login")) == 10


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_the_ui_serves_https_with_a_certificate_and_still_throttles(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    settings = Settings.load(
        ui_host="0.0.0.0",  # off loopback: the login is required; the test binds 127.0.0.1
        ui_auth=f"{USER}:{PASSWORD}",
        ui_ssl_certfile=cert,
        ui_ssl_keyfile=key,
        login_max_failures=1,
        login_backoff_s=60,
    )
    with (
        served(settings, scheme="https") as url,
        httpx.Client(verify=ssl.create_default_context(cafile=str(cert))) as client,
    ):
        assert client.get(url).status_code == 200  # the login page, over verified TLS
        assert login(client, url, WRONG).status_code == 400
        assert login(client, url, PASSWORD).status_code == 429
        with pytest.raises(httpx.HTTPError):
            httpx.get(url.replace("https:", "http:"), timeout=5)  # no plain HTTP


def test_launch_options_refuse_half_a_tls_pair_and_missing_files(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not used")
    with pytest.raises(RagError, match="both"):
        launch_options(Settings.load(ui_ssl_certfile=cert))
    with pytest.raises(RagError, match="no such TLS file"):
        launch_options(Settings.load(ui_ssl_certfile=cert, ui_ssl_keyfile=tmp_path / "no.pem"))
    with pytest.raises(RagError, match="--auth"):
        launch_options(Settings.load(ui_host="0.0.0.0"))
    assert launch_options(Settings.load()) == {}  # loopback, no login: nothing to guard


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_back_off_is_per_client_and_doubles_up_to_the_cap() -> None:
    clock = Clock()
    throttle = LoginThrottle(
        max_failures=3, backoff_s=2, backoff_max_s=10, global_failures_per_min=1000, clock=clock
    )
    attacker, bystander, local = "203.0.113.9", "198.51.100.20", "::1"
    assert [throttle.failure(attacker, "x") for _ in range(2)] == [0, 0]
    assert throttle.failure(attacker, "x") == 2  # the third failure in a row: wait 2 s
    assert throttle.wait_s(attacker) == 2
    assert throttle.wait_s(bystander) == 0 and throttle.wait_s(local) == 0
    clock.now += 1
    assert throttle.wait_s(attacker) == 1
    waits = []
    for _ in range(4):
        clock.now += throttle.wait_s(attacker)
        assert throttle.wait_s(attacker) == 0
        waits.append(throttle.failure(attacker, "x"))
    assert waits == [4, 8, 10, 10]  # doubling, capped
    # Loopback is counted like any address (a same-host proxy may make everyone loopback).
    for _ in range(3):
        throttle.failure(local, "x")
    assert throttle.wait_s(local) == 2


def test_a_success_clears_the_count_and_old_failures_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, backoff_s=2, global_failures_per_min=1000, clock=clock)
    client = "203.0.113.9"
    throttle.failure(client, "x")
    throttle.failure(client, "x")
    throttle.success(client)
    assert throttle.failure(client, "x") == 0 and throttle.failure(client, "x") == 0
    clock.now += FORGET_S + 1
    assert throttle.failure(client, "x") == 0  # two failures an hour ago no longer count


def test_global_limit_makes_every_client_wait_until_the_window_frees() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=100, global_failures_per_min=4, clock=clock)
    for i in range(4):
        throttle.failure(f"198.51.100.{i}", "x")
        clock.now += 1
    assert throttle.wait_s("192.0.2.1") == WINDOW_S - 4  # until the oldest failure ages out
    clock.now += WINDOW_S - 4
    assert throttle.wait_s("192.0.2.1") == 0


def test_each_failure_logs_client_and_user(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ui.login_guard")
    throttle = LoginThrottle(max_failures=2, clock=Clock())
    throttle.failure("203.0.113.9", "mallory\nforged line")
    throttle.failure("203.0.113.9", "mallory")
    lines = guard_lines(caplog, "failed login")
    assert len(lines) == 2
    assert "'mallory\\nforged line'" in lines[0] and "\n" not in lines[0]  # one line each
    assert "from 203.0.113.9 (2 in a row); logins wait 2 s" in lines[1]
