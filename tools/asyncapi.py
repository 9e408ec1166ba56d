"""Writes the AsyncAPI document of every service from its real broker (its FastStream subscribers and
publishers, see shared.asyncapi), as the service builds it:

    python -m tools.asyncapi --write     # regenerate docs/asyncapi/<service>.json
    python -m tools.asyncapi             # print them

A test (tests/unit/test_asyncapi.py) fails when a committed document no longer matches the code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr

from shared import asyncapi
from shared.service import Runtime

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "asyncapi"
SERVICES = ("members", "events", "feedback", "newsletter", "kpi")
# what the documents name as the server: the broker's address inside docker compose
DOCUMENTED_BOOTSTRAP = "kafka:9092"


def build(service: str, directory: Path) -> FastAPI:
    """The service's app as `python -m services.<service>` builds it (nothing is started), with settings
    that make the document the same on every machine."""
    module = importlib.import_module(f"services.{service}.app")
    loader = getattr(module, "load", None)
    settings: Any = (
        loader() if loader is not None else importlib.import_module("shared.settings").load(service)
    )
    settings.database_url = f"sqlite:///{directory}/{service}.db"
    settings.kafka_bootstrap_servers = DOCUMENTED_BOOTSTRAP
    settings.kafka_topic_prefix = ""
    settings.link_secret = SecretStr("x" * 32)  # only checked for length when building
    app: FastAPI = module.build(settings)
    return app


def document(service: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vvsg-asyncapi-") as tmp:
        app = build(service, Path(tmp))
        runtime: Runtime = app.state.runtime
        contract: asyncapi.Contract = app.state.contract
        try:
            return asyncapi.specification(runtime.broker, contract)
        finally:
            runtime.engine.dispose()


def render(document_: dict[str, Any]) -> str:
    return asyncapi.render(document_)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="write docs/asyncapi/<service>.json")
    args = parser.parse_args(argv)
    DOCS.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        text = render(document(service))
        if args.write:
            (DOCS / f"{service}.json").write_text(text)
            print(f"wrote docs/asyncapi/{service}.json")
        else:
            sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
