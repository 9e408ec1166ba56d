"""HTTP routes for advice conversations (OD 3.2) and tailored-support trajectories (OD 3.3); the use
cases are in handlers/support.py."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import func, select
from sqlmodel import col

from services.events import views
from services.events.handlers import support
from services.events.schemas import (
    AdviceCreate,
    AdviceRead,
    TrajectoryComplete,
    TrajectoryRead,
    TrajectoryStart,
)
from services.events.tables import Advice, SupportTrajectory
from services.events.web import Reader, StaffWork
from shared.web import Page, SessionDep

router = APIRouter()


# --- advice (OD 3.2) ----------------------------------------------------------------------------


@router.post("/advice", status_code=status.HTTP_201_CREATED, tags=["advice"])
def log_advice(body: AdviceCreate, uow: StaffWork) -> AdviceRead:
    advice = support.give_advice(support.GiveAdvice(**body.model_dump()), uow)
    return uow.commit(views.advice(advice, uow.actor))


@router.get("/advice", tags=["advice"])
def list_advice(
    db: SessionDep,
    who: Reader,
    organisation_id: uuid.UUID | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[AdviceRead]:
    stmt = select(Advice)
    if organisation_id:
        stmt = stmt.where(col(Advice.organisation_id) == organisation_id)
    if year:
        stmt = stmt.where(
            col(Advice.given_on) >= date(year, 1, 1), col(Advice.given_on) <= date(year, 12, 31)
        )
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(
        stmt.order_by(col(Advice.given_on), col(Advice.id)).limit(limit).offset(offset)
    ).scalars()
    items = [views.advice(a, who) for a in rows]
    return Page[AdviceRead](items=items, total=total, limit=limit, offset=offset)


# --- tailored support (OD 3.3) ------------------------------------------------------------------


@router.post("/trajectories", status_code=status.HTTP_201_CREATED, tags=["tailored support"])
def start_trajectory(body: TrajectoryStart, uow: StaffWork) -> TrajectoryRead:
    trajectory = support.start_trajectory(support.StartTrajectory(**body.model_dump()), uow)
    return uow.commit(views.trajectory(trajectory, uow.actor))


@router.post("/trajectories/{trajectory_id}/complete", tags=["tailored support"])
def complete_trajectory(trajectory_id: uuid.UUID, body: TrajectoryComplete, uow: StaffWork) -> TrajectoryRead:
    command = support.CompleteTrajectory(trajectory_id=trajectory_id, **body.model_dump())
    return uow.commit(views.trajectory(support.complete_trajectory(command, uow), uow.actor))


@router.get("/trajectories", tags=["tailored support"])
def list_trajectories(
    db: SessionDep,
    who: Reader,
    organisation_id: uuid.UUID | None = None,
    active_in: Annotated[int | None, Query(ge=2000, le=2100, description="active in this year")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[TrajectoryRead]:
    stmt = select(SupportTrajectory)
    if organisation_id:
        stmt = stmt.where(col(SupportTrajectory.organisation_id) == organisation_id)
    if active_in:
        stmt = stmt.where(
            col(SupportTrajectory.started_on) <= date(active_in, 12, 31),
            (col(SupportTrajectory.completed_on).is_(None))
            | (col(SupportTrajectory.completed_on) >= date(active_in, 1, 1)),
        )
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(
        stmt.order_by(col(SupportTrajectory.started_on), col(SupportTrajectory.id))
        .limit(limit)
        .offset(offset)
    ).scalars()
    items = [views.trajectory(t, who) for t in rows]
    return Page[TrajectoryRead](items=items, total=total, limit=limit, offset=offset)


@router.get("/trajectories/{trajectory_id}", tags=["tailored support"])
def get_trajectory(trajectory_id: uuid.UUID, db: SessionDep, who: Reader) -> TrajectoryRead:
    return views.trajectory(views.get_trajectory(db, trajectory_id), who)
