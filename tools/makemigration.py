"""Write a new Alembic revision for one service by comparing its tables with its migrations.

python -m tools.makemigration members "add phone"
"""

from __future__ import annotations

import importlib
import shutil
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from shared.db import make_engine

ROOT = Path(__file__).resolve().parent.parent


def main(service: str, message: str) -> None:
    importlib.import_module(f"services.{service}.tables")
    migrations = ROOT / "services" / service / "migrations"
    (migrations / "versions").mkdir(parents=True, exist_ok=True)
    if not (migrations / "script.py.mako").exists():
        shutil.copy(ROOT / "shared" / "migration_template" / "script.py.mako", migrations)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/schema.db")
        config = Config()
        config.set_main_option("script_location", str(migrations))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
            command.revision(config, message=message, autogenerate=True)
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
