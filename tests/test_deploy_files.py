"""docker-compose.yml and Dockerfile agree with the code they deploy.

No Docker engine runs here or in CI, so the containers are never started; what runs them
is tested directly (`tests/test_chroma_server.py` drives a real `chroma run` through the
same settings). These checks catch the drift a Docker build would only show at deploy
time: a setting renamed, a server version out of step with the client, an unknown model.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import tomllib

import pytest
import yaml

from rag.settings import ENV_PREFIX, Settings
from rag.weights import GENERATORS
from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
CADDYFILE = ROOT / "deploy" / "Caddyfile"
TLS_PROXY = "tls"  # the one service that publishes beyond loopback: HTTPS, opt-in


def _app_env() -> dict[str, str]:
    return {k: str(v) for k, v in COMPOSE["services"]["app"]["environment"].items()}


def test_every_app_variable_is_a_setting() -> None:
    fields = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    dockerfile_env = set(re.findall(r"\b(RAG_[A-Z_]+)=", DOCKERFILE))
    assert set(_app_env()) | dockerfile_env <= fields


def test_app_reaches_the_chroma_service_by_name_and_port() -> None:
    env = _app_env()
    chroma = COMPOSE["services"][env["RAG_CHROMA_HOST"]]
    container_ports = {p.rsplit(":", 1)[-1] for p in chroma["ports"]}
    assert env["RAG_CHROMA_PORT"] in container_ports
    assert env["RAG_CHROMA_HOST"] in COMPOSE["services"]["app"]["depends_on"]


def test_chroma_server_image_matches_the_installed_client() -> None:
    image = COMPOSE["services"]["chroma"]["image"]
    assert image == f"chromadb/chroma:{importlib.metadata.version('chromadb')}"


def test_published_ports_are_loopback_only() -> None:
    for name, service in COMPOSE["services"].items():
        if name == TLS_PROXY:
            continue  # checked below: TLS only, and only when asked for
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port


def test_tls_proxy_is_opt_in_and_publishes_https_only() -> None:
    proxy = COMPOSE["services"][TLS_PROXY]
    assert proxy["profiles"] == ["tls"]  # `docker compose up` alone does not start it
    assert proxy["ports"] and all(p.rsplit(":", 1)[-1] == "443" for p in proxy["ports"])
    assert TLS_PROXY not in COMPOSE["services"]["app"].get("depends_on", {})


def test_tls_proxy_forwards_to_the_app_port_with_the_mounted_caddyfile() -> None:
    proxy = COMPOSE["services"][TLS_PROXY]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in proxy["volumes"]}
    assert (ROOT / mounts["/etc/caddy/Caddyfile"]).resolve() == CADDYFILE
    upstream = re.search(r"^\s*reverse_proxy\s+(\S+):(\d+)\s*$", CADDYFILE.read_text(), re.M)
    assert upstream, "the Caddyfile forwards nowhere"
    host, port = upstream.groups()
    assert host in COMPOSE["services"] and host in proxy["depends_on"]
    app_ports = {p.rsplit(":", 1)[-1] for p in COMPOSE["services"][host]["ports"]}
    assert port in app_ports and f"EXPOSE {port}" in DOCKERFILE
    # The variables the Caddyfile reads are the ones compose passes.
    assert set(re.findall(r"\{\$([A-Z_]+)", CADDYFILE.read_text())) == set(proxy["environment"])


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy not installed")
def test_caddyfile_parses_for_a_local_ca_and_for_lets_encrypt() -> None:
    adapt = ["caddy", "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
    local = subprocess.run(adapt, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert local.returncode == 0, local.stderr
    assert '"module":"internal"' in local.stdout and '"dial":"app:7860"' in local.stdout
    public = {"PATH": "/usr/bin:/bin", "TLS_DOMAIN": "ui.example.org", "TLS_ISSUER": "a@b.org"}
    acme = subprocess.run(adapt, env=public, capture_output=True, text=True)
    assert acme.returncode == 0, acme.stderr
    assert '"ui.example.org"' in acme.stdout and '"module":"acme"' in acme.stdout


def test_image_installs_the_pinned_torch_and_a_known_generator() -> None:
    setup_pin = re.search(r"torch==([\d.]+)", (ROOT / "setup.sh").read_text())
    image_pin = re.search(r"torch==([\d.]+)", DOCKERFILE)
    assert setup_pin and image_pin and image_pin.group(1) == setup_pin.group(1)
    prepared = re.search(r"rag prepare (\S+)", DOCKERFILE)
    assert prepared and prepared.group(1) == Settings.model_fields["generator"].default
    assert prepared.group(1) in GENERATORS


def test_image_command_is_a_declared_entry_point() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    cmd = re.search(r'^CMD \["([^"]+)"', DOCKERFILE, re.M)
    assert cmd and cmd.group(1) in scripts


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose not installed (Debian package)"
)
def test_compose_file_is_valid_and_refuses_to_start_without_ui_auth() -> None:
    compose = ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"]
    env = {"PATH": "/usr/bin:/bin", "RAG_UI_AUTH": "me:secret"}
    assert subprocess.run(compose, env=env, capture_output=True).returncode == 0
    env.pop("RAG_UI_AUTH")
    refused = subprocess.run(compose, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "RAG_UI_AUTH" in refused.stderr
