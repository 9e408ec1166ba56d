"""The writer of a KPI generation on SQLite keeps a 64 MiB page cache (services.kpi.generations:
measured on a rebuild of 1M records); its readers keep SQLite's default."""

from __future__ import annotations

from pathlib import Path

from services.kpi.app import MIGRATIONS
from services.kpi.generations import WRITER_CACHE_KIB, Generations
from shared.db import migrate


def test_a_rebuilds_writer_has_the_larger_page_cache_and_its_reader_the_default(tmp_path: Path) -> None:
    generations = Generations(f"sqlite:///{tmp_path}/kpi.db")
    try:
        migrate(generations.base, MIGRATIONS)
        building, new = generations.start_building(MIGRATIONS)
        assert new and building.location
        with building.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -WRITER_CACHE_KIB
        with building.reader.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -2000  # SQLite's default
    finally:
        generations.dispose()
