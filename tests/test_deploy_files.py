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
    for service in COMPOSE["services"].values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port


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
