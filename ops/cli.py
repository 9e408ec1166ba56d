"""`vvsg`: everyday operations from the command line.

\b
    vvsg token --role staff --subject an@vvsg.be
    vvsg import-members leden.xlsx --dry-run
    vvsg demo --year 2025
    vvsg topics create | describe
    vvsg dlq list members.events | replay members.events --offset 3
    vvsg report --year 2025 --format xlsx --out kpi-2025.xlsx
    vvsg rebuild
    vvsg backup --service events --to events.dump | restore --service events --from events.dump
    vvsg person export 3f2c... --out persoon.json
    vvsg person erase 3f2c...

Settings come from the environment as for the services (AUTH_SECRET, KAFKA_BOOTSTRAP_SERVERS, ...).
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from ops import dead_letters
from shared.auth import ROLES, issue_token
from shared.settings import DEFAULT_PORTS, Settings

app = typer.Typer(help=__doc__, no_args_is_help=True, rich_markup_mode=None)
topics_app = typer.Typer(help="Create and describe the Kafka topics.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: list and replay.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(dlq_app, name="dlq")
person_app = typer.Typer(
    help="Personal data of one member: export it (right of access) or erase it (right to erasure).",
    no_args_is_help=True,
)
app.add_typer(person_app, name="person")
console = Console()
messages = Console(stderr=True)  # for commands whose standard output is a document


def _settings() -> Settings:
    return Settings(service_name="cli")


def _url(service: str) -> str:
    return os.environ.get(f"{service.upper()}_URL", f"http://127.0.0.1:{DEFAULT_PORTS[service]}")


def _staff_token(subject: str) -> str:
    token = os.environ.get("VVSG_TOKEN")
    if token:
        return token
    secret = _settings().auth_secret.get_secret_value()
    if not secret:
        console.print("[red]Zet VVSG_TOKEN (een toegangssleutel) of AUTH_SECRET in de omgeving.[/red]")
        raise typer.Exit(2)
    return issue_token(secret, subject, "staff", timedelta(hours=2))


@app.command()
def token(
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")],
    subject: Annotated[str, typer.Option(help="who uses it, e.g. an e-mail address")],
    days: Annotated[float, typer.Option(help="validity in days")] = 30.0,
) -> None:
    """Issue an access token for a role (signed with AUTH_SECRET)."""
    if role not in ROLES:
        console.print(f"[red]Onbekende rol {role!r}; kies uit {', '.join(ROLES)}.[/red]")
        raise typer.Exit(2)
    secret = _settings().auth_secret.get_secret_value()
    try:
        print(issue_token(secret, subject, role, timedelta(days=days)))
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@app.command("import-members")
def import_members(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only report what would happen")] = False,
) -> None:
    """Import the member list from a spreadsheet; safe to run again (nothing changes twice).

    Exit status: 0 every row imported (or unchanged), 1 some rows refused (also in a dry run),
    2 the file or the members service could not be used (nothing was changed)."""
    from ops.member_import import Importer, ImportFileError, read_rows

    try:
        rows, unknown = read_rows(file)
    except ImportFileError as exc:
        messages.print(f"[red]{escape(str(exc))}[/red]\nEr is niets geïmporteerd.")
        raise typer.Exit(2) from None
    if unknown:
        console.print(f"Kolommen die niet gebruikt worden: {escape(', '.join(unknown))}")
    headers = {"Authorization": f"Bearer {_staff_token('ledenimport@vvsg.be')}"}
    with httpx.Client(base_url=_url("members"), headers=headers, timeout=30) as client:
        try:
            importer = Importer(client, dry_run=dry_run)
        except httpx.HTTPError as exc:
            messages.print(
                f"[red]De ledendienst op {escape(_url('members'))} is niet bruikbaar:"
                f" {escape(str(exc))}[/red]\nEr is niets geïmporteerd."
            )
            raise typer.Exit(2) from None
        with _progress() as progress:
            task = progress.add_task("rijen", total=len(rows))
            verdicts = importer.run(rows, lambda: progress.advance(task))
    table = Table("rij", "e-mail", "resultaat", "toelichting", title="Proefimport" if dry_run else "Import")
    for verdict in verdicts:
        table.add_row(str(verdict.row), escape(verdict.email), verdict.action, escape(verdict.detail))
    console.print(table)
    counts: dict[str, int] = {}
    for verdict in verdicts:
        counts[verdict.action] = counts.get(verdict.action, 0) + 1
    console.print(", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "geen rijen")
    if counts.get("geweigerd"):
        console.print(
            f"{counts['geweigerd']} rij(en) geweigerd: pas ze aan in het bestand en voer het opnieuw in"
            " (wat al ingevoerd is, verandert dan niet meer)."
        )
        raise typer.Exit(1)


@app.command()
def demo(year: Annotated[int, typer.Option(help="the demo year")] = date.today().year - 1) -> None:
    """Create a realistic demo year through the services' APIs."""
    from ops import demo as demo_module

    urls = {name: _url(name) for name in DEFAULT_PORTS}
    demo_module.load(urls, _staff_token("demo@vvsg.be"), year, log=console.print)


@topics_app.command("create")
def topics_create(partitions: int = 3) -> None:
    """Create the missing topics (domain topics keep everything; contacts are compacted)."""
    from deploy.topics import create_topics

    settings = _settings()
    created = asyncio.run(
        create_topics(settings.kafka_bootstrap_servers, settings.kafka_topic_prefix, partitions, 60)
    )
    console.print(f"aangemaakt: {', '.join(created)}" if created else "alle topics bestonden al")


@topics_app.command("describe")
def topics_describe() -> None:
    """Partitions, records and settings of every topic of this system."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    from shared.topics import all_topics

    settings = _settings()

    async def describe() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        await admin.start()
        try:
            names = [settings.topic(spec.name) for spec in all_topics()]
            described = {d["topic"]: d for d in await admin.describe_topics(names)}
            configs = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
            )
            table = Table("topic", "partities", "cleanup.policy", "retention.ms")
            for response in configs:
                for resource in response.resources:
                    name = resource[3]
                    values = {entry[0]: entry[1] for entry in resource[4]}
                    partitions = len(described.get(name, {}).get("partitions", []))
                    table.add_row(
                        name,
                        str(partitions),
                        values.get("cleanup.policy", ""),
                        values.get("retention.ms", ""),
                    )
            console.print(table)
        finally:
            await admin.close()

    asyncio.run(describe())


@dlq_app.command("list")
def dlq_list(topic: Annotated[str, typer.Argument(help="the original topic, e.g. members.events")]) -> None:
    """Show the dead letters of a topic with their reason."""
    settings = _settings()
    letters = asyncio.run(
        dead_letters.list_dead_letters(settings.kafka_bootstrap_servers, settings.topic(topic))
    )
    table = Table("offset", "consument", "oorspronkelijk", "reden")
    for letter in letters:
        table.add_row(
            str(letter.offset),
            letter.header("dlq-consumer"),
            f"{letter.header('dlq-topic')}[{letter.header('dlq-partition')}]@{letter.header('dlq-offset')}",
            letter.header("dlq-reason"),
        )
    console.print(table)
    console.print(f"{len(letters)} dode brieven")


@dlq_app.command("replay")
def dlq_replay(
    topic: Annotated[str, typer.Argument(help="the original topic, e.g. members.events")],
    offset: Annotated[list[int], typer.Option(help="offset on the dead-letter topic; repeat for more")],
) -> None:
    """Publish chosen dead letters to their topic again (after the fix that makes them readable)."""
    settings = _settings()
    replayed = asyncio.run(
        dead_letters.replay(settings.kafka_bootstrap_servers, settings.topic(topic), set(offset))
    )
    missing = set(offset) - {d.offset for d in replayed}
    console.print(
        f"{len(replayed)} opnieuw gepubliceerd" + (f"; niet gevonden: {sorted(missing)}" if missing else "")
    )
    if missing:
        raise typer.Exit(1)


# --- backup and restore (ops/backup.py) ----------------------------------------------------------

SERVICE_NAMES: tuple[str, ...] = tuple(DEFAULT_PORTS)


def _service_database(service: str) -> str:
    """DATABASE_URL as the service reads it (the same variable in every service's process), else the
    service's own default SQLite file."""
    if service not in SERVICE_NAMES:
        raise typer.BadParameter(f"onbekende dienst {service!r}; kies uit {', '.join(SERVICE_NAMES)}")
    return Settings(service_name=service).resolved_database_url()


@app.command()
def backup(
    service: Annotated[str, typer.Option(help=f"one of {', '.join(SERVICE_NAMES)}")],
    to: Annotated[Path, typer.Option(help="the backup file (pg_dump's custom format on PostgreSQL)")],
) -> None:
    """Back up a service's database (DATABASE_URL): its state, consumer positions, inbox and outbox."""
    from ops import backup as backups

    database_url = _service_database(service)
    try:
        contents = backups.backup(database_url, to, service)
    except backups.BackupError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]\nEr is geen back-up geschreven.", highlight=False)
        raise typer.Exit(1) from None
    console.print(
        f"Back-up van {service} geschreven naar {to} ({to.stat().st_size} bytes): {contents.describe()}.",
        highlight=False,
    )


@app.command()
def restore(
    service: Annotated[str, typer.Option(help=f"one of {', '.join(SERVICE_NAMES)}")],
    from_: Annotated[Path, typer.Option("--from", help="a file written by `vvsg backup`")],
    replace: Annotated[
        bool, typer.Option("--replace", help="replace a database that has tables (stop the service first)")
    ] = False,
) -> None:
    """Restore a service's database (DATABASE_URL) from a backup; a missing database is created. On
    start the service's consumers resume from the restored positions and its outbox continues."""
    from ops import backup as backups

    database_url = _service_database(service)
    try:
        contents = backups.restore(database_url, from_, service, replace=replace)
    except backups.BackupError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]\nEr is niets veranderd.", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"{service} hersteld uit {from_}: {contents.describe()}.", highlight=False)


# --- personal data (GDPR) ------------------------------------------------------------------------

# the services that hold data on a person, each answering GET /people/{member_id} (the KPI service
# keeps member ids and figures only)
PERSONAL_DATA_SERVICES: tuple[str, ...] = ("members", "events", "feedback", "newsletter")
Subject = Annotated[
    str,
    typer.Option(help="who asks, for the audit trail (used when the token is made from AUTH_SECRET)"),
]


def _member_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is geen geldig id (uuid)") from None


def _personal_data(client: httpx.Client, service: str, member_id: str) -> tuple[dict[str, Any], bool]:
    """One service's answer, or a note that it could not be had (and False)."""
    try:
        response = client.get(f"{_url(service)}/people/{member_id}")
    except httpx.HTTPError as exc:
        return {"service": service, "unavailable": True, "reason": f"niet bereikbaar: {exc}"}, False
    if response.status_code == 200:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            return answer, True
    reason = (
        "geen lid met dit id"
        if response.status_code == 404
        else f"antwoordde {response.status_code}: {response.text[:200]}"
    )
    return {"service": service, "unavailable": True, "reason": reason}, False


def _write_private(path: Path, text: str) -> None:
    """Only the owner may read the file: it holds a person's data."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


@person_app.command("export")
def person_export(
    member_id: Annotated[str, typer.Argument(help="the member's id", callback=_member_id)],
    out: Annotated[Path | None, typer.Option(help="write the JSON here (default: to the screen)")] = None,
    subject: Subject = "privacy@vvsg.be",
) -> None:
    """Everything the system holds on one person, from every service, as one JSON document.

    Each service answers for its own data over HTTP; a service that cannot answer is named in the
    document as unavailable, and the command then ends with exit code 1."""
    headers = {"Authorization": f"Bearer {_staff_token(subject)}"}
    document: dict[str, Any] = {
        "member_id": member_id,
        "exported_at": datetime.now(UTC).isoformat(),
        "services": {},
    }
    missing = []
    with httpx.Client(headers=headers, timeout=30) as client:
        for service in PERSONAL_DATA_SERVICES:
            answer, ok = _personal_data(client, service, member_id)
            document["services"][service] = answer
            if not ok:
                missing.append(service)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)  # the document alone on standard output; messages go to standard error
    else:
        _write_private(out, text)
        messages.print(f"Gegevens van {member_id} geschreven naar {out}.", highlight=False)
    if missing:
        reasons = "; ".join(f"{s}: {document['services'][s]['reason']}" for s in missing)
        messages.print(f"[red]Onvolledig ({escape(reasons)}). Probeer later opnieuw.[/red]", highlight=False)
        raise typer.Exit(1)


@person_app.command("erase")
def person_erase(
    member_id: Annotated[str, typer.Argument(help="the member's id", callback=_member_id)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    subject: Subject = "privacy@vvsg.be",
) -> None:
    """Erase a member: the members service anonymises the person and tells every other service
    (member.erased, and a tombstone on the contacts topic). Erasing again changes nothing."""
    if not yes and not typer.confirm(
        f"De gegevens van lid {member_id} worden overal gewist. Dit kan niet ongedaan gemaakt worden. "
        "Doorgaan?"
    ):
        raise typer.Exit(1)
    headers = {"Authorization": f"Bearer {_staff_token(subject)}"}
    try:
        with httpx.Client(headers=headers, timeout=30) as client:
            response = client.post(f"{_url('members')}/members/{member_id}/erase")
    except httpx.HTTPError as exc:
        console.print(f"[red]De ledendienst is niet bereikbaar: {escape(str(exc))}[/red]", highlight=False)
        raise typer.Exit(1) from None
    if response.status_code == 404:
        console.print(f"[red]Geen lid met id {member_id}.[/red]", highlight=False)
        raise typer.Exit(1)
    if response.status_code != 200:
        detail = escape(response.text[:300])
        console.print(f"[red]Wissen mislukt ({response.status_code}): {detail}[/red]", highlight=False)
        raise typer.Exit(1)
    erased_on = response.json().get("erased_on")
    console.print(
        f"Lid {member_id} is gewist (op {erased_on}). De andere diensten wissen hun gegevens zodra ze "
        "het bericht member.erased lezen.",
        highlight=False,
    )


# --- the yearly report ---------------------------------------------------------------------------

REPORT_FORMATS = ("xlsx", "pdf", "html", "csv", "json")


def _report_fail(message: str) -> typer.Exit:
    messages.print(f"[red]{escape(message)}[/red]", highlight=False)
    return typer.Exit(1)


def _kpi_get(client: httpx.Client, path: str, params: dict[str, str]) -> httpx.Response:
    """A GET on the KPI service, or a clear Dutch refusal (exit 1) when it cannot give the figures."""
    try:
        response = client.get(path, params=params)
    except httpx.HTTPError as exc:
        raise _report_fail(
            f"De KPI-dienst op {client.base_url} is niet bereikbaar ({exc}). Start de dienst, of zet KPI_URL "
            "op het adres van de draaiende KPI-dienst. Er is geen rapport geschreven."
        ) from None
    if response.status_code in (401, 403):
        raise _report_fail(
            f"De KPI-dienst weigert de toegang ({response.status_code}): zet VVSG_TOKEN op een geldige "
            "toegangssleutel, of AUTH_SECRET op het geheim van de diensten."
        )
    if response.status_code == 422:
        detail = response.json().get("detail")
        reasons = (
            "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
            if isinstance(detail, list)
            else str(detail)
        )
        raise _report_fail(f"Ongeldige vraag: {reasons}")
    return response


@app.command()
def report(
    year: Annotated[int, typer.Option(help="the year, e.g. 2025")],
    format: Annotated[str, typer.Option(help=f"one of {', '.join(REPORT_FORMATS)}")] = "xlsx",
    out: Annotated[Path | None, typer.Option(help="the file (default: standard output)")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="the figures as they stood on this day (YYYY-MM-DD)")
    ] = None,
    frozen: Annotated[bool, typer.Option("--frozen", help="the frozen report, as submitted")] = False,
    dialect: Annotated[str, typer.Option(help="CSV: excel-nl (; and decimal comma) or rfc4180")] = "excel-nl",
    allow_empty: Annotated[bool, typer.Option("--allow-empty", help="write a year without data too")] = False,
) -> None:
    """The yearly report, with its figures from the running KPI service (KPI_URL, VVSG_TOKEN or
    AUTH_SECRET). A year without data, or a service that cannot be reached, is refused (exit 1)."""
    if format not in REPORT_FORMATS:
        messages.print(
            f"[red]Onbekend formaat {escape(format)!r}; kies uit {', '.join(REPORT_FORMATS)}.[/red]"
        )
        raise typer.Exit(2)
    if not 2000 <= year <= 2100:
        messages.print("[red]Het jaar moet tussen 2000 en 2100 liggen.[/red]")
        raise typer.Exit(2)
    params = {k: v for k, v in {"as_of": as_of}.items() if v}
    headers = {"Authorization": f"Bearer {_reader_token('rapport@vvsg.be')}"}
    with httpx.Client(base_url=_url("kpi"), headers=headers, timeout=180) as client:
        if frozen:
            answer = _kpi_get(client, f"/kpis/{year}/frozen", {})
            if answer.status_code == 404:
                raise _report_fail(f"Het rapport van {year} is niet bevroren (POST /kpis/{year}/freeze).")
        else:
            answer = _kpi_get(client, f"/kpis/{year}", params)
        if answer.status_code != 200:
            raise _report_fail(f"De KPI-dienst antwoordde {answer.status_code}: {answer.text[:300]}")
        figures = answer.json()["report"] if frozen else answer.json()
        if not allow_empty and all(not k["value"] and not k["items"] for k in figures["kpis"]):
            raise _report_fail(
                f"Er zijn geen gegevens voor {year}: alle indicatoren staan op 0. Er is geen rapport "
                "geschreven (--allow-empty schrijft het toch)."
            )
        if format == "json":
            data = (json.dumps(figures, ensure_ascii=False, indent=2) + "\n").encode()
            files = [(out, data)]
        else:
            query = {**params, **({"frozen": "true"} if frozen else {})}
            if format == "csv":
                query["dialect"] = dialect
            files = [(out, _report_file(client, f"/kpis/{year}/report.{format}", query))]
            if format == "csv" and out is not None:
                details = _report_file(client, f"/kpis/{year}/report-details.csv", query)
                files.append((out.with_name(f"{out.stem}-details.csv"), details))
    for path, data in files:
        if path is None:
            sys.stdout.buffer.write(data)
        else:
            path.write_bytes(data)
            messages.print(f"Rapport {year} ({format}) geschreven naar {path}.", highlight=False)


def _report_file(client: httpx.Client, path: str, query: dict[str, str]) -> bytes:
    response = _kpi_get(client, path, query)
    if response.status_code != 200:
        raise _report_fail(
            f"De KPI-dienst kon {path} niet maken ({response.status_code}): {response.text[:300]}"
        )
    return response.content


def _reader_token(subject: str) -> str:
    """VVSG_TOKEN, else a short-lived viewer token from AUTH_SECRET: reading the figures is all it does."""
    token = os.environ.get("VVSG_TOKEN")
    if token:
        return token
    secret = _settings().auth_secret.get_secret_value()
    if not secret:
        raise _report_fail("Zet VVSG_TOKEN (een toegangssleutel) of AUTH_SECRET in de omgeving.")
    return issue_token(secret, subject, "viewer", timedelta(hours=2))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def rebuild(ctx: typer.Context) -> None:
    """Rebuild the KPI read models from the topics (arguments go to `python -m services.kpi.rebuild`)."""
    _delegate("services.kpi.rebuild", ctx.args)


def _delegate(module: str, args: list[str]) -> None:
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__")


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


if __name__ == "__main__":
    app()
