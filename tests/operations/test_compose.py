"""The container stack: docker/compose.yml parses with the real docker-compose, every long-running
service is health-checked and starts in order, every process is one of the docker/start scripts the
local Procfile runs too, the image is multi-stage, non-root and free of dev tools, and the web health
check really passes against gunicorn under production settings."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from saas_platform.processes import ChildProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yml"
ENV_EXAMPLE = DOCKER / ".env.example"
DOCKERFILE = DOCKER / "Dockerfile"
START = DOCKER / "start"

# Services built from the platform image, each running one docker/start script.
APP_SERVICES = {"migrate", "web", "worker", "beat", "flower", "stripe-emulator"}
ONE_SHOT = {"migrate"}
# A third-party image with no probe of its own; nothing depends on it being healthy.
HEALTHCHECK_EXEMPT = {"stripe-cli"}
# Procfile process -> compose service running the same start script.
PROCFILE_TO_COMPOSE = {
    "emulator": "stripe-emulator",
    "web": "web",
    "worker": "worker",
    "beat": "beat",
    "flower": "flower",
}

DOCKER_COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"


def _compose_config(*profiles: str) -> subprocess.CompletedProcess:
    args = [DOCKER_COMPOSE, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE)]
    for profile in profiles:
        args += ["--profile", profile]
    env = dict(os.environ, PLATFORM_ENV_FILE=".env.example")
    # Values from the developer's shell must not leak into the interpolation being checked.
    for name in ("PLATFORM_DOMAIN", "POSTGRES_PASSWORD", "DJANGO_SETTINGS_MODULE", "STRIPE_API_KEY"):
        env.pop(name, None)
    return subprocess.run([*args, "config"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def config() -> dict:
    if not Path(DOCKER_COMPOSE).exists():
        pytest.fail("docker-compose is not installed (make system-packages installs it)")
    result = _compose_config("stripe-cli", "emulator")
    assert result.returncode == 0, result.stderr
    parsed = yaml.safe_load(result.stdout)
    assert set(parsed["services"]) >= APP_SERVICES | {"postgres", "redis", "stripe-cli"}
    return parsed


@pytest.mark.parametrize("profiles", [(), ("stripe-cli",), ("emulator",)], ids=["default", "stripe-cli", "emulator"])
def test_compose_file_is_valid_for_the_real_parser(profiles):
    result = _compose_config(*profiles)
    assert result.returncode == 0, result.stderr
    assert "services" in yaml.safe_load(result.stdout)


def test_compose_refuses_to_start_without_the_database_password(tmp_path):
    """A missing secret is an error at `up`, not a database with an empty password."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "\n".join(line for line in ENV_EXAMPLE.read_text().splitlines() if not line.startswith("POSTGRES_PASSWORD="))
    )
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    env["PLATFORM_ENV_FILE"] = ".env.example"
    result = subprocess.run(
        [DOCKER_COMPOSE, "-f", str(COMPOSE), "--env-file", str(env_file), "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_every_long_running_service_has_a_healthcheck(config):
    long_running = set(config["services"]) - ONE_SHOT - HEALTHCHECK_EXEMPT
    assert long_running >= {"postgres", "redis", "web", "worker", "beat", "flower", "stripe-emulator"}
    for name in sorted(long_running):
        check = config["services"][name].get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no health check"
        test = check["test"]
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, (name, test)


def test_each_healthcheck_probes_the_right_thing(config):
    services = config["services"]

    def probe(name):
        # `docker-compose config` keeps `$$` (a literal `$` for the container's shell) escaped.
        return " ".join(services[name]["healthcheck"]["test"][1:]).replace("$$", "$")

    assert "/healthz" in probe("web") and "PLATFORM_DOMAIN" in probe("web")
    assert "inspect ping" in probe("worker") and "worker@${HOSTNAME}" in probe("worker")
    assert "CELERY_BEAT_SCHEDULE_FILE" in probe("beat") and "getmtime" in probe("beat")
    assert "/healthcheck" in probe("flower")
    assert "/_emulator/health" in probe("stripe-emulator")
    assert "pg_isready" in probe("postgres")
    assert "ping" in probe("redis")


def _depends(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_app_processes_wait_for_migrations_and_healthy_backing_services(config, name):
    assert _depends(config["services"][name]) == {
        "migrate": "service_completed_successfully",
        "postgres": "service_healthy",
        "redis": "service_healthy",
    }


def test_migrate_is_one_shot_after_postgres_is_healthy(config):
    migrate = config["services"]["migrate"]
    assert _depends(migrate) == {"postgres": "service_healthy"}
    assert migrate.get("restart", "no") == "no"
    for name in ("flower", "stripe-cli"):
        assert all(cond != "service_started" for cond in _depends(config["services"][name]).values()), name


def _command(service: dict) -> list[str]:
    command = service.get("command")
    return shlex.split(command) if isinstance(command, str) else list(command or [])


def _logical_lines(script: Path) -> list[str]:
    """The script's commands, continuation lines joined, comments and blank lines dropped."""
    text = script.read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_service_runs_an_executable_start_script_that_execs(config, name):
    service = config["services"][name]
    command = _command(service)
    assert len(command) == 1 and command[0].startswith("docker/start/"), (name, command)
    script = ROOT / command[0]
    assert script.is_file(), f"{script} is missing"
    assert os.access(script, os.X_OK), f"{script} is not executable"
    lines = _logical_lines(script)
    assert lines[-1].startswith("exec "), f"{script}'s last command must exec the process (signals, PID 1)"
    assert service["image"] == config["services"]["web"]["image"], "one image for every platform process"
    assert service["build"]["dockerfile"] == "docker/Dockerfile"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_services_run_production_settings_from_the_environment(config, name):
    env = config["services"][name]["environment"]
    assert env["DJANGO_SETTINGS_MODULE"] == "saas_platform.settings.production"
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    for required in ("DJANGO_SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "PLATFORM_DOMAIN"):
        assert env.get(required), f"{name}: {required} is not configured"
    assert env["STRIPE_SECRET_KEY"] != "sk_test_emulator", "production settings refuse the placeholder key"


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def test_procfile_and_compose_start_the_same_processes(config):
    procfile = _procfile()
    assert set(procfile) == set(PROCFILE_TO_COMPOSE), procfile
    for process, service in PROCFILE_TO_COMPOSE.items():
        assert shlex.split(procfile[process]) == _command(config["services"][service]), (process, service)


def test_containers_give_start_scripts_what_they_require(config):
    """Variables a start script refuses to run without (`${VAR:?...}`) are set for its service."""
    for name in APP_SERVICES:
        script = ROOT / _command(config["services"][name])[0]
        for required in re.findall(r"\$\{(\w+):\?", script.read_text()):
            assert config["services"][name]["environment"].get(required), f"{name} lacks {required}"


def test_emulator_delivers_webhooks_to_web_under_the_platform_host(config):
    """The platform serves /stripe/webhooks/ only on PLATFORM_DOMAIN (ALLOWED_HOSTS, tenant routing),
    so a delivery to http://web:8000 would be refused: web must answer to that name on the network."""
    services = config["services"]
    domain = services["web"]["environment"]["PLATFORM_DOMAIN"]
    emulator_env = services["stripe-emulator"]["environment"]
    assert emulator_env["EMULATOR_HOST"] == "0.0.0.0"
    assert emulator_env["EMULATOR_WEBHOOK_URL"] == f"http://{domain}:8000/stripe/webhooks/"
    assert domain in services["web"]["networks"]["default"]["aliases"]
    assert domain != "localhost", "inside a container localhost is the container itself"
    cli = services["stripe-cli"]
    assert cli["image"] == "stripe/stripe-cli:v1.52.0"
    command = _command(cli)
    assert command[0] == "listen" and command[command.index("--forward-to") + 1].endswith("web:8000/stripe/webhooks/")
    assert f"Host:{domain}" in command[command.index("--headers") + 1]
    assert "STRIPE_API_KEY" in cli["environment"]
    assert cli["profiles"] == ["stripe-cli"]


def _settings_variables() -> set[str]:
    names = set()
    for path in [*(ROOT / "platform").rglob("*.py"), *(ROOT / p for p in ("companies", "subscriptions", "webhooks"))]:
        files = [path] if path.is_file() else list(path.rglob("*.py"))
        for file in files:
            names |= set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", file.read_text()))
            names |= set(re.findall(r"os\.environ(?:\.get)?[\[(]\"([A-Z][A-Z0-9_]+)\"", file.read_text()))
    for script in START.iterdir():
        names |= set(re.findall(r"\$\{(\w+)", script.read_text()))
    return names


def test_env_example_documents_every_variable_the_platform_reads(config):
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), flags=re.M))
    set_by_compose = set()
    for name in APP_SERVICES:
        set_by_compose |= set(config["services"][name]["environment"])
    variables = _settings_variables()
    assert {"DJANGO_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "METRICS_TOKEN", "FLOWER_BASIC_AUTH"} <= variables
    missing = sorted(v for v in variables if v not in documented and v not in set_by_compose)
    assert not missing, f"not in docker/.env.example: {missing}"
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "STRIPE_API_BASE", "PROMETHEUS_MULTIPROC_DIR"):
        assert name in ENV_EXAMPLE.read_text(), name


# --- The image ---------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _dockerfile_instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def test_dockerfile_is_multi_stage_with_a_slim_runtime():
    stages = _stages()
    assert len(stages) >= 2, "builder and runtime stages"
    assert stages[-1][0][1].split()[0] == "python:3.11-slim"
    runtime = dict((k, v) for k, v in stages[-1] if k not in ("RUN", "COPY", "ENV"))
    copies = [v for k, v in stages[-1] if k == "COPY"]
    assert any(c.startswith("--from=") for c in copies), "the runtime copies the builder's result"
    assert runtime.get("WORKDIR") == "/app"
    assert "ENTRYPOINT" not in runtime
    assert runtime.get("CMD") == '["docker/start/web"]'
    assert "/healthz" in runtime.get("HEALTHCHECK", "") and "urllib" in runtime["HEALTHCHECK"]


def test_dockerfile_runs_as_a_non_root_user():
    users = [v for k, v in _stages()[-1] if k == "USER"]
    assert users, "the runtime stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), user


def test_dockerfile_installs_runtime_dependencies_only():
    text = DOCKERFILE.read_text()
    runs = " ".join(v for k, v in _dockerfile_instructions() if k == "RUN")
    assert not re.search(r"\[\s*dev\s*\]|optional-dependencies", runs), "no dev extras in the image"
    assert "['project']['dependencies']" in runs, "dependencies come from pyproject's [project] list"
    assert re.search(r"pip install --no-deps\b[^&]*-e \.", runs), "the project is installed without re-resolving"
    assert "collectstatic" in runs
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    for requirement in dev:
        package = re.split(r"[=<>\[ ]", requirement)[0].lower()
        assert package not in text.lower(), f"dev dependency {package} appears in the Dockerfile"


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", "node_modules", "var", ".git"} <= ignored
    assert ignored & {"**/__pycache__", "__pycache__"}
    assert ignored & {".env", "docker/.env", "**/.env"}


# --- The web health check, for real --------------------------------------------------------------


def _production_env(**extra) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STRIPE_", "DJANGO_", "SECURE_"))
        and k not in ("DEBUG", "PROMETHEUS_MULTIPROC_DIR", "METRICS_TOKEN", "PLATFORM_DOMAIN", "ALLOWED_HOSTS")
    }
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        DJANGO_SETTINGS_MODULE="saas_platform.settings.production",
        DJANGO_SECRET_KEY="ops-test-" + "k3y-" * 16,
        STRIPE_SECRET_KEY="sk_test_ops51AbCdEfGhIjKlMn",
        STRIPE_WEBHOOK_SECRET="whsec_ops_test",
        PLATFORM_DOMAIN="billing.localhost",
        LOG_FORMAT="json",
    )
    env.update(extra)
    return env


def test_web_healthcheck_passes_against_gunicorn_under_production_settings(config, tmp_path):
    """The compose probe reaches /healthz through ALLOWED_HOSTS and the HTTPS redirect; a bare
    request to 127.0.0.1 would not (so the probe's headers are what make it pass)."""
    port = free_port()
    env = _production_env(WEB_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", WEB_THREADS="1")
    process = ChildProcess([str(START / "web")], cwd=ROOT, env=env, log_path=tmp_path / "gunicorn.log")
    try:
        process.wait_for_port(port, timeout=30)
        probe = config["services"]["web"]["healthcheck"]["test"]
        assert probe[:3] == ["CMD", "python", "-c"]
        code = probe[3].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=20)
        assert result.returncode == 0, result.stderr

        # The image's own HEALTHCHECK (used when the image runs without compose) passes too.
        image_probe = dict(_dockerfile_instructions())["HEALTHCHECK"]
        image_code = re.search(r'"-c", "(.*)"\]', image_probe).group(1).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        result = subprocess.run([sys.executable, "-c", image_code], env=env, capture_output=True, text=True, timeout=20)
        assert result.returncode == 0, result.stderr

        with pytest.raises(urllib.error.HTTPError) as bare:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert bare.value.code == 400  # DisallowedHost
        plain = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": "billing.localhost"})
        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirected:
            opener.open(plain, timeout=5)
        assert redirected.value.code == 301 and redirected.value.headers["Location"].startswith("https://")
    finally:
        process.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_beat_healthcheck_fails_when_the_schedule_file_is_stale_or_missing(config, tmp_path):
    probe = config["services"]["beat"]["healthcheck"]["test"]
    assert probe[:3] == ["CMD", "python", "-c"]
    schedule = tmp_path / "celerybeat-schedule"
    env = dict(os.environ, CELERY_BEAT_SCHEDULE_FILE=str(schedule))

    def healthy() -> bool:
        return subprocess.run([sys.executable, "-c", probe[3]], env=env, timeout=20).returncode == 0

    assert not healthy(), "no schedule file yet"
    db = tmp_path / "celerybeat-schedule.db"  # shelve may add a suffix, depending on the dbm module
    db.write_bytes(b"x")
    assert healthy()
    stale = time.time() - 11 * 60
    os.utime(db, (stale, stale))
    assert not healthy(), "beat stopped writing its schedule 11 minutes ago"
