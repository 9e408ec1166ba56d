"""Static checks of docker-compose.yml, the Dockerfile and the PostgreSQL init script: no Docker needed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from services.backoffice.settings import PORT as BACKOFFICE_PORT
from services.backoffice.settings import BackofficeSettings
from services.events.settings import EventsSettings
from services.feedback.settings import FeedbackSettings
from services.newsletter.settings import NewsletterSettings
from shared.settings import DEFAULT_PORTS, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
INIT_SQL = ROOT / "deploy" / "postgres" / "init-databases.sql"

SETTINGS_FIELDS = {name.upper() for name in Settings.model_fields}
# a service's own settings (SMTP, personal links) extend the shared ones, under the same names
SERVICE_SETTINGS_FIELDS: dict[str, set[str]] = {
    "backoffice": {name.upper() for name in BackofficeSettings.model_fields},
    "events": {name.upper() for name in EventsSettings.model_fields},
    "feedback": {name.upper() for name in FeedbackSettings.model_fields},
    "newsletter": {name.upper() for name in NewsletterSettings.model_fields},
}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SERVICES = set(DEFAULT_PORTS)  # members, events, feedback, newsletter, kpi
# the back office calls those five and has a port of its own (not in DEFAULT_PORTS: see its settings)
PORTS = {**DEFAULT_PORTS, "backoffice": BACKOFFICE_PORT}
# make and check personal links with the shared LINK_SECRET
LINK_SERVICES = ("feedback", "newsletter", "events")
COMPILERS = ("gcc", "g++", "clang", "build-essential", "make", "cc")

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: Any) -> str:
    """What compose would make of a value with none of the variables set: defaults, else a placeholder."""

    def resolve(match: re.Match[str]) -> str:
        if match["op"] in (":-", "-"):
            return match["arg"]
        return f"<{match['name']}>"

    return _VARIABLE.sub(resolve, str(value)).replace("$$", "$")


# ---- compose helpers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


@pytest.fixture(scope="module")
def third_party(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Services that run a published image (Kafka, PostgreSQL, the SMTP catcher)."""
    return {name: spec for name, spec in services.items() if "build" not in spec}


@pytest.fixture(scope="module")
def project_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Services built from this repository's Dockerfile."""
    return {name: spec for name, spec in services.items() if "build" in spec}


@pytest.fixture(scope="module")
def long_running(project_services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Project services that keep running (one-shot jobs such as `topics` say `restart: "no"`)."""
    return {name: spec for name, spec in project_services.items() if str(spec.get("restart")) != "no"}


def environment(spec: dict[str, Any]) -> dict[str, str]:
    env = spec.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {key: value for key, value in pairs}
    return {key: "" if value is None else str(value) for key, value in env.items()}


def published(spec: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(protocol, host port, container port) for each port published on the host."""
    result = []
    for entry in spec.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is None:
                continue
            protocol = entry.get("protocol", "tcp")
            result.append((protocol, int(interpolate(entry["published"])), int(entry["target"])))
            continue
        text, _, protocol = interpolate(entry).partition("/")
        parts = text.split(":")
        if len(parts) < 2:
            continue  # container port only: the host port is picked at random
        result.append((protocol or "tcp", int(parts[-2]), int(parts[-1])))
    return result


def http_port(name: str, spec: dict[str, Any]) -> int:
    configured = environment(spec).get("HTTP_PORT")
    return int(interpolate(configured)) if configured else PORTS[name]


def host_bindings(spec: dict[str, Any]) -> dict[int, str]:
    """Container port -> the host address it is published on ("" when on every interface)."""
    result = {}
    for entry in spec.get("ports") or []:
        if isinstance(entry, dict):
            result[int(entry["target"])] = str(entry.get("host_ip", ""))
            continue
        parts = interpolate(entry).partition("/")[0].split(":")
        if len(parts) >= 2:
            result[int(parts[-1])] = parts[-3] if len(parts) >= 3 else ""
    return result


def healthcheck_command(spec: dict[str, Any]) -> list[str]:
    test = (spec.get("healthcheck") or {}).get("test") or []
    return [str(word) for word in test] if isinstance(test, list) else ["CMD-SHELL", str(test)]


def depends_on(spec: dict[str, Any]) -> dict[str, Any]:
    value = spec.get("depends_on") or {}
    if isinstance(value, list):
        return {name: None for name in value}  # short form: no condition
    return dict(value)


def volume_mounts(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume in short (source:target[:mode]) or long syntax."""
    result = []
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict):
            result.append((str(volume.get("source", "")), str(volume["target"])))
        elif ":" in str(volume):
            source, target = str(volume).split(":")[:2]
            result.append((source, target))
    return result


def image_tag(image: str) -> str | None:
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """NAME -> (host, port) from a Kafka listeners string such as PLAINTEXT://kafka:9092,HOST://..."""
    result = {}
    for item in interpolate(value).split(","):
        name, _, address = item.strip().partition("://")
        host, _, port = address.rpartition(":")
        result[name] = (host, int(port))
    return result


# ---- compose ------------------------------------------------------------------------------------


def test_compose_file_parses_into_services(compose: dict[str, Any]) -> None:
    assert isinstance(compose.get("services"), dict) and compose["services"]
    assert all(isinstance(spec, dict) for spec in compose["services"].values())


def test_project_services_are_built_from_the_dockerfile(project_services: dict[str, dict[str, Any]]) -> None:
    assert {"topics", *SERVICES} <= set(project_services)
    for spec in project_services.values():
        build = spec["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        assert (ROOT / context / dockerfile).resolve() == DOCKERFILE


def test_every_service_of_the_system_runs_in_the_stack(long_running: dict[str, dict[str, Any]]) -> None:
    assert set(long_running) == SERVICES | {"backoffice"}


def test_each_project_service_runs_its_own_module(long_running: dict[str, dict[str, Any]]) -> None:
    assert {name: spec.get("command") for name, spec in long_running.items()} == {
        name: ["python", "-m", f"services.{name}"] for name in long_running
    }


def test_project_service_environment_names_are_settings_fields(
    project_services: dict[str, dict[str, Any]],
) -> None:
    unknown = {
        f"{name}: {key}"
        for name, spec in project_services.items()
        for key in environment(spec)
        if key.upper() not in SERVICE_SETTINGS_FIELDS.get(name, SETTINGS_FIELDS)
    }
    assert not unknown, f"not fields of the service's settings: {sorted(unknown)}"


def test_published_host_ports_do_not_clash(services: dict[str, dict[str, Any]]) -> None:
    seen: dict[tuple[str, int], str] = {}
    clashes = []
    for name, spec in services.items():
        for protocol, host_port, _target in published(spec):
            other = seen.setdefault((protocol, host_port), name)
            if other != name:
                clashes.append(f"{host_port}/{protocol}: {other} and {name}")
    assert not clashes


def test_every_image_is_pinned_to_a_tag_that_is_not_latest(services: dict[str, dict[str, Any]]) -> None:
    unpinned = {
        name: spec["image"]
        for name, spec in services.items()
        if "image" in spec and image_tag(interpolate(spec["image"])) in (None, "", "latest")
    }
    assert not unpinned


def test_third_party_images_are_pinned_to_a_version(third_party: dict[str, dict[str, Any]]) -> None:
    assert {"kafka", "postgres", "mailpit"} <= set(third_party)
    unversioned = {
        name: spec["image"]
        for name, spec in third_party.items()
        if not re.match(r"v?\d+\.\d+", image_tag(interpolate(spec["image"])) or "")
    }
    assert not unversioned


def test_third_party_services_have_a_healthcheck(third_party: dict[str, dict[str, Any]]) -> None:
    missing = [name for name, spec in third_party.items() if not healthcheck_command(spec)]
    assert not missing


def test_long_running_project_services_have_a_healthcheck(long_running: dict[str, dict[str, Any]]) -> None:
    missing = [
        name
        for name, spec in long_running.items()
        if not (spec.get("healthcheck") or {}).get("test") or spec["healthcheck"].get("disable")
    ]
    assert long_running and not missing


def test_project_healthchecks_call_health_ready_on_the_service_port(
    long_running: dict[str, dict[str, Any]],
) -> None:
    wrong = []
    for name, spec in long_running.items():
        test = spec["healthcheck"]["test"]
        command = " ".join(test) if isinstance(test, list) else str(test)
        if f"http://127.0.0.1:{http_port(name, spec)}/health/ready" not in command:
            wrong.append(name)
    assert not wrong


def test_project_healthchecks_use_python_not_curl(long_running: dict[str, dict[str, Any]]) -> None:
    for spec in long_running.values():
        test = spec["healthcheck"]["test"]
        assert isinstance(test, list) and test[:2] == ["CMD", "python"]


def test_project_services_publish_their_http_port(long_running: dict[str, dict[str, Any]]) -> None:
    unpublished = [
        name
        for name, spec in long_running.items()
        if http_port(name, spec) not in {target for _protocol, _host, target in published(spec)}
    ]
    assert not unpublished


def test_project_http_ports_are_the_default_ports(long_running: dict[str, dict[str, Any]]) -> None:
    assert {name: http_port(name, spec) for name, spec in long_running.items()} == {
        name: PORTS[name] for name in long_running
    }


def test_every_project_service_waits_on_its_dependencies_with_a_condition(
    project_services: dict[str, dict[str, Any]],
) -> None:
    for name, spec in project_services.items():
        dependencies = depends_on(spec)
        assert dependencies, f"{name} has no depends_on"
        for dependency, options in dependencies.items():
            assert isinstance(options, dict), f"{name} -> {dependency}: no condition"
            assert options.get("condition") in CONDITIONS, f"{name} -> {dependency}"


def test_dependencies_name_services_of_the_stack(services: dict[str, dict[str, Any]]) -> None:
    unknown = [
        f"{name} -> {dependency}"
        for name, spec in services.items()
        for dependency in depends_on(spec)
        if dependency not in services
    ]
    assert not unknown


def test_dependency_conditions_fit_the_dependency(services: dict[str, dict[str, Any]]) -> None:
    """A one-shot job must have finished; infrastructure with a health check must be healthy (a project
    service that waits on another project service only for the start order may ask for less)."""
    wrong = []
    for name, spec in services.items():
        for dependency, options in depends_on(spec).items():
            target = services.get(dependency, {})
            condition = (options or {}).get("condition")
            if str(target.get("restart")) == "no":
                expected = "service_completed_successfully"
            elif target.get("healthcheck") and "build" not in target:
                expected = "service_healthy"
            else:
                continue
            if condition != expected:
                wrong.append(f"{name} -> {dependency}: {condition}, expected {expected}")
    assert not wrong


def test_long_running_services_wait_for_broker_database_and_topics(
    long_running: dict[str, dict[str, Any]],
) -> None:
    for name in SERVICES:
        assert {"kafka", "postgres", "topics"} <= set(depends_on(long_running[name])), name


def test_back_office_waits_for_broker_and_topics_but_not_for_a_database(
    long_running: dict[str, dict[str, Any]],
) -> None:
    dependencies = set(depends_on(long_running["backoffice"]))
    assert {"kafka", "topics"} <= dependencies and "postgres" not in dependencies


def test_kpi_starts_after_every_producer(long_running: dict[str, dict[str, Any]]) -> None:
    producers = set(long_running) - {"kpi", "backoffice"}
    assert producers and producers <= set(depends_on(long_running["kpi"]))
    # the back office waits for kpi (its screens call it): the other way round would be a cycle
    assert "backoffice" not in depends_on(long_running["kpi"])


def test_each_service_uses_its_own_postgres_database(long_running: dict[str, dict[str, Any]]) -> None:
    for name in SERVICES:
        url = urlsplit(interpolate(environment(long_running[name])["DATABASE_URL"]))
        assert (url.scheme, url.hostname, url.path) == ("postgresql", "postgres", f"/{name}"), name


def test_back_office_keeps_no_database(long_running: dict[str, dict[str, Any]]) -> None:
    assert "DATABASE_URL" not in environment(long_running["backoffice"])


def test_back_office_reaches_each_service_on_the_compose_network(
    services: dict[str, dict[str, Any]],
) -> None:
    """<NAME>_URL is http://<service>:<its HTTP port>: the container's own port, not the host's."""
    env = environment(services["backoffice"])
    urls = {name: interpolate(env.get(f"{name.upper()}_URL", "")) for name in SERVICES}
    assert urls == {name: f"http://{name}:{http_port(name, services[name])}" for name in SERVICES}


def test_back_office_smtp_host_is_a_compose_service(services: dict[str, dict[str, Any]]) -> None:
    assert environment(services["backoffice"])["SMTP_HOST"] in services


def test_project_services_reach_kafka_on_an_advertised_listener(
    services: dict[str, dict[str, Any]], project_services: dict[str, dict[str, Any]]
) -> None:
    advertised = listeners(environment(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"]).values()
    reachable = {f"{host}:{port}" for host, port in advertised}
    for name, spec in project_services.items():
        assert interpolate(environment(spec)["KAFKA_BOOTSTRAP_SERVERS"]) in reachable, name


def test_kafka_host_listener_is_published_on_its_advertised_port(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["kafka"])
    bound = listeners(env["KAFKA_LISTENERS"])
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    host_side = {
        name: port for name, (host, port) in advertised.items() if host in ("127.0.0.1", "localhost")
    }
    assert host_side
    ports = {(host_port, target) for _protocol, host_port, target in published(services["kafka"])}
    for name, port in host_side.items():
        assert (port, bound[name][1]) in ports, name


def test_kafka_and_postgres_keep_their_data_on_named_volumes(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    data_dirs = {"kafka": "/var/lib/kafka/data", "postgres": "/var/lib/postgresql/data"}
    for name, target in data_dirs.items():
        sources = {mount_target: source for source, mount_target in volume_mounts(services[name])}
        assert sources.get(target) in (compose.get("volumes") or {}), name
    assert environment(services["kafka"])["KAFKA_LOG_DIRS"] == data_dirs["kafka"]


def test_auth_secret_comes_from_the_environment(long_running: dict[str, dict[str, Any]]) -> None:
    for name, spec in long_running.items():
        assert environment(spec)["AUTH_SECRET"].startswith("${AUTH_SECRET"), name


# ---- personal links and mail --------------------------------------------------------------------


def test_link_secret_is_required_from_the_environment(services: dict[str, dict[str, Any]]) -> None:
    for name in LINK_SERVICES:
        assert environment(services[name])["LINK_SECRET"].startswith("${LINK_SECRET:?"), name


def test_feedback_and_newsletter_share_the_same_link_secret(services: dict[str, dict[str, Any]]) -> None:
    expressions = {environment(services[name]).get("LINK_SECRET") for name in LINK_SERVICES}
    assert len(expressions) == 1 and None not in expressions


def test_link_services_set_the_public_urls_their_links_use(services: dict[str, dict[str, Any]]) -> None:
    needed = {
        "feedback": {"FEEDBACK_PUBLIC_URL"},
        "newsletter": {"FEEDBACK_PUBLIC_URL", "NEWSLETTER_PUBLIC_URL"},
        "events": {"FEEDBACK_PUBLIC_URL"},  # the feedback reminder links to the feedback form
    }
    for name, variables in needed.items():
        assert variables <= set(environment(services[name])), name


def test_public_urls_point_at_the_host_port_of_the_service_that_serves_them(
    services: dict[str, dict[str, Any]],
) -> None:
    """A link in a mail opens from the host's browser: localhost and the port the target publishes."""
    wrong = []
    for name in LINK_SERVICES:
        for target in LINK_SERVICES:
            value = environment(services[name]).get(f"{target.upper()}_PUBLIC_URL")
            if value is None:
                continue
            url = urlsplit(interpolate(value))
            target_port = DEFAULT_PORTS[target]
            host_ports = {host for _proto, host, port in published(services[target]) if port == target_port}
            if (url.scheme, url.hostname) != ("http", "localhost") or url.port not in host_ports:
                wrong.append(f"{name}: {value}")
    assert not wrong


def test_newsletter_smtp_host_is_a_compose_service(services: dict[str, dict[str, Any]]) -> None:
    assert environment(services["newsletter"])["SMTP_HOST"] in services


def test_newsletter_waits_until_the_smtp_catcher_is_healthy(services: dict[str, dict[str, Any]]) -> None:
    catcher = environment(services["newsletter"])["SMTP_HOST"]
    assert (depends_on(services["newsletter"]).get(catcher) or {}).get("condition") == "service_healthy"


def test_newsletter_speaks_plain_smtp_to_the_mailpit_smtp_port(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["newsletter"])
    assert (env["SMTP_HOST"], int(env["SMTP_PORT"]), env["SMTP_SECURITY"]) == ("mailpit", 1025, "none")


def test_mailpit_web_ui_is_published_on_localhost_8025(services: dict[str, dict[str, Any]]) -> None:
    assert ("tcp", 8025, 8025) in published(services["mailpit"])
    assert host_bindings(services["mailpit"])[8025] == "127.0.0.1"


def test_mailpit_healthcheck_uses_the_image_readyz_command(services: dict[str, dict[str, Any]]) -> None:
    assert healthcheck_command(services["mailpit"]) == ["CMD", "/mailpit", "readyz"]


def test_compose_header_lists_the_url_of_every_web_ui() -> None:
    header = COMPOSE_FILE.read_text().split("\nname:", 1)[0]
    ports = [*PORTS.values(), 8025]
    missing = [port for port in ports if f"http://localhost:{port}" not in header]
    assert not missing and "LINK_SECRET" in header


# ---- PostgreSQL init script ---------------------------------------------------------------------


def test_init_script_creates_one_database_per_service() -> None:
    created = re.findall(r"(?im)^\s*CREATE\s+DATABASE\s+\"?(\w+)\"?", INIT_SQL.read_text())
    assert sorted(created) == sorted(DEFAULT_PORTS)


def test_init_script_is_mounted_into_the_postgres_initdb_folder(services: dict[str, dict[str, Any]]) -> None:
    initdb = [
        (source, target)
        for source, target in volume_mounts(services["postgres"])
        if target.startswith("/docker-entrypoint-initdb.d/")
    ]
    assert initdb
    for source, target in initdb:
        assert (ROOT / source).resolve() == INIT_SQL and target.endswith((".sql", ".sh"))


# ---- Dockerfile ---------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), one list per FROM stage."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, arguments.strip()))
    return stages


def test_dockerfile_has_a_builder_and_a_final_stage() -> None:
    assert len(dockerfile_stages()) >= 2


def test_dockerfile_final_stage_runs_as_a_non_root_user() -> None:
    users = [arguments for keyword, arguments in dockerfile_stages()[-1] if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def _with_build_args(image: str) -> str:
    """A base image named by a build argument (`FROM ${PYTHON_IMAGE}`) is its default value."""
    defaults = dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE))
    return re.sub(r"\$\{(\w+)\}", lambda m: defaults.get(m.group(1), m.group(0)), image)


def test_dockerfile_base_images_are_pinned_and_not_latest() -> None:
    stages = dockerfile_stages()
    names: set[str] = set()
    for stage in stages:
        words = [word for word in stage[0][1].split() if not word.startswith("--")]
        image = _with_build_args(words[0])
        if len(words) >= 3 and words[1].lower() == "as":
            names.add(words[2])
        if image not in names:
            assert image_tag(image) not in (None, "", "latest"), image
    assert "latest" not in DOCKERFILE.read_text()


def test_dockerfile_final_stage_is_python_3_11_slim() -> None:
    assert _with_build_args(dockerfile_stages()[-1][0][1].split()[0]) == "python:3.11-slim-bookworm"


def test_dockerfile_final_stage_installs_no_compiler() -> None:
    runs = " ".join(arguments for keyword, arguments in dockerfile_stages()[-1] if keyword == "RUN")
    assert not set(re.findall(r"[\w+.-]+", runs)) & set(COMPILERS)


def test_dockerfile_final_stage_copies_only_the_venv_and_the_sources() -> None:
    copied: set[str] = set()
    for keyword, arguments in dockerfile_stages()[-1]:
        if keyword in ("COPY", "ADD"):
            sources = [word for word in arguments.split() if not word.startswith("--")][:-1]
            copied.update(source.rstrip("/").rsplit("/", 1)[-1] for source in sources)
    assert copied == {"venv", "shared", "services", "deploy", "ops"}


def test_dockerfile_final_stage_sets_unbuffered_output_and_listens_on_all_interfaces() -> None:
    env = " ".join(arguments for keyword, arguments in dockerfile_stages()[-1] if keyword == "ENV")
    assert "PYTHONUNBUFFERED=1" in env and "HTTP_HOST=0.0.0.0" in env


def test_dockerfile_default_command_runs_a_service() -> None:
    commands = [arguments for keyword, arguments in dockerfile_stages()[-1] if keyword == "CMD"]
    assert commands and re.fullmatch(r'\["python", "-m", "services\.\w+"\]', commands[-1])


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert {".venv", ".git", "data", ".local", ".env"} <= ignored
