"""The deployment (docker-compose.yml, the Dockerfile, .env.example) without a container engine: the
compose file passes every setting the hub has, and the container's start sequence (migrate, make the
first administrator from the environment, serve) runs as compose would run it, outside a container,
against real PostgreSQL and Redis."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import typing
import uuid
from dataclasses import fields
from pathlib import Path

import httpx
import yaml

from hub.settings import GROUPS, Settings, env_name
from tests.support.paths import ROOT
from tests.support.server import free_port
from tests.support.services import PostgresDatabase, redis_url

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
COMPOSE_ONLY = {"PUENTE_SITE", "PUENTE_TLS", "POSTGRES_PASSWORD", "PUENTE_MAIL_PORT"}  # read by compose itself


def hub_variables() -> set[str]:
    names = {"PUENTE_DATA_DIR"}
    for g in GROUPS:
        names |= {env_name(g.name, f.name) for f in fields(typing.get_type_hints(Settings)[g.name])}
    return names


def _env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}."""

    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2) or "", m.group(3) or ""
        given = env.get(name, "")
        if op == ":?" and not given:
            raise AssertionError(f"compose would stop: {arg}")
        return given or (arg if op == ":-" else "")

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def hub_environment(env: dict[str, str]) -> dict[str, str]:
    """The hub container's environment as compose makes it from `env` (the shell and .env)."""
    out = {}
    for entry in COMPOSE["services"]["hub"]["environment"]:
        name, eq, value = entry.partition("=")
        if eq:
            out[name] = _interpolate(value, env)
        elif name in env:  # passed through only when set
            out[name] = env[name]
    return out


def test_compose_can_pass_every_setting_the_hub_has():
    listed = {e.partition("=")[0] for e in COMPOSE["services"]["hub"]["environment"]}
    missing = sorted(hub_variables() - listed)
    assert not missing, f"settings docker-compose.yml cannot pass to the hub: {missing}"
    unknown = sorted(n for n in listed if n.startswith("PUENTE_") and n not in hub_variables() | {"PUENTE_LOG_LEVEL"})
    assert not unknown, f"docker-compose.yml passes variables the hub does not read: {unknown}"
    example = _env_file(ROOT / ".env.example")
    commented = set(re.findall(r"^# (PUENTE_\w+)=", (ROOT / ".env.example").read_text(), flags=re.M))
    known = hub_variables() | COMPOSE_ONLY | {"PUENTE_LOG_LEVEL"}
    stray = sorted(n for n in set(example) | commented if n not in known)
    assert not stray, f".env.example names variables nothing reads: {stray}"


def test_the_deployment_is_hardened():
    services = COMPOSE["services"]
    assert set(services) == {"hub", "postgres", "redis", "caddy"}
    for name, service in services.items():
        assert "healthcheck" in service, name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith("./deploy/") or source in COMPOSE["volumes"], (name, volume)  # named volumes
    assert "ports" not in services["hub"] or all(p.endswith(":2525") for p in services["hub"]["ports"])  # only SMTP
    assert all(p.split(":")[-1].split("/")[0] in ("80", "443") for p in services["caddy"]["ports"])
    assert "reverse_proxy hub:8000" in (ROOT / "deploy" / "Caddyfile").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER puente$", dockerfile, flags=re.M) and "HEALTHCHECK" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    for never in (".venv", "data", "*.key", ".env", ".git", "*.db"):
        assert never in ignored, never


def _banner(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        return s.recv(200)


def test_the_container_start_sequence_runs_against_postgres_and_redis(tmp_path):
    pg = PostgresDatabase()
    port, mail_port = free_port(), free_port()
    shell = {
        **_env_file(ROOT / ".env.example"),
        "PUENTE_SITE": "puente.clinic.lan",
        "POSTGRES_PASSWORD": "not-used-here",
        "PUENTE_SECURITY_SECRET": uuid.uuid4().hex * 2,
        "PUENTE_SECURITY_INGEST_KEYS": "pk_deploy_test",
        "PUENTE_ADMIN_PASSWORD": "tall-gray-heron-42",
        "PUENTE_LOG_LEVEL": "warning",
    }
    env = hub_environment(shell)
    assert env["PUENTE_SERVER_PUBLIC_URL"] == "https://puente.clinic.lan" and env["PUENTE_ADMIN_LOGIN"] == "admin"
    assert env["PUENTE_DATABASE_URL"].startswith("postgresql+asyncpg://puente:not-used-here@postgres:5432/")
    # Outside a container: this machine's PostgreSQL, Redis, a folder and free ports stand in for the services.
    env |= {
        "PUENTE_DATABASE_URL": pg.url,
        "PUENTE_REALTIME_REDIS_URL": redis_url(),
        "PUENTE_REALTIME_CHANNEL_PREFIX": f"puente-deploy-{uuid.uuid4().hex[:8]}",
        "PUENTE_DATA_DIR": str(tmp_path / "data"),
        "PUENTE_SERVER_HOST": "127.0.0.1",
        "PUENTE_SERVER_PORT": str(port),
        "PUENTE_EMAIL_LISTEN_HOST": "127.0.0.1",
        "PUENTE_EMAIL_LISTEN_PORT": str(mail_port),
        "PUENTE_VOICE_ENGINE": "pocketsphinx",  # nothing to transcribe here
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith("PUENTE_")}
    command = [sys.executable, "-c", "from hub.__main__ import main; main()"]  # the image's CMD: puente
    proc = subprocess.Popen(command, cwd=ROOT, env={**base, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the hub did not start"
            time.sleep(0.3)
        health = httpx.get(f"{url}/api/health")
        assert health.headers["strict-transport-security"].startswith("max-age=")  # the public URL is https
        token = health.headers["set-cookie"].split("puente_csrf=")[1].split(";")[0]
        assert "secure" in health.headers["set-cookie"].lower()
        assert httpx.get(f"{url}/api/auth/setup").json() == {"has_admin": True}
        # Secure cookies: a browser sends them back only over TLS (Caddy); here they are sent by hand.
        login = httpx.post(
            f"{url}/api/auth/login",
            json={"login": "admin", "password": "tall-gray-heron-42"},
            headers={"x-csrf-token": token, "cookie": f"puente_csrf={token}", "x-forwarded-proto": "https"},
        )
        assert login.status_code == 200 and login.json()["role"] == "admin", login.text
        assert "Secure" in login.headers["set-cookie"]
        session = login.headers["set-cookie"].split("puente_session=")[1].split(";")[0]
        me = httpx.get(f"{url}/api/auth/me", headers={"cookie": f"puente_session={session}"})
        assert me.json()["display_name"] == "Clinic Administrator"
        assert _banner(mail_port).startswith(b"220")  # the SMTP listener compose publishes
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        pg.drop()
