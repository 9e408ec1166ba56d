from sqlmodel import SQLModel

import services.members.tables  # noqa: F401  (registers the tables)
import shared.consumer
import shared.outbox
import shared.uow  # noqa: F401
from shared.alembic_env import run

run(SQLModel.metadata)
