"""HTTP routes for advice conversations (OD 3.2) and tailored-support trajectories (OD 3.3)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import func, select
from sqlmodel import Session, col

from services.events import domain
from services.events.api import (
    Reader,
    Staff,
    commit_or_conflict,
)
from services.events.schemas import (
    AdviceCreate,
    AdviceRead,
    TrajectoryComplete,
    TrajectoryRead,
    TrajectoryStart,
)
from services.events.tables import (
    Advice,
    SupportTrajectory,
)
from shared import events
from shared.errors import NotFound
from shared.web import OutboxDep, Page, SessionDep

router = APIRouter()


# --- advice (OD 3.2) ----------------------------------------------------------------------------


@router.post("/advice", status_code=status.HTTP_201_CREATED, tags=["advice"])
def log_advice(body: AdviceCreate, db: SessionDep, outbox: OutboxDep, who: Staff) -> AdviceRead:
    advice = Advice(
        organisation_id=body.organisation_id,
        given_on=domain.business_date(body.given_on, "given_on"),
        topic=body.topic,
        channel=body.channel,
        with_mediawijs=body.with_mediawijs,
        created_by=who.subject,
    )
    db.add(advice)
    outbox.add(
        db,
        events.AdviceGiven(
            advice_id=advice.id,
            organisation_id=advice.organisation_id,
            given_on=advice.given_on,
            topic=advice.topic,
            channel=body.channel,
            with_mediawijs=advice.with_mediawijs,
        ),
        actor=who.subject,
    )
    commit_or_conflict(db)
    return AdviceRead.model_validate(advice, from_attributes=True)


@router.get("/advice", tags=["advice"])
def list_advice(
    db: SessionDep,
    _who: Reader,
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
    items = [AdviceRead.model_validate(a, from_attributes=True) for a in rows]
    return Page[AdviceRead](items=items, total=total, limit=limit, offset=offset)


# --- tailored support (OD 3.3) ------------------------------------------------------------------


def _trajectory(db: Session, trajectory_id: uuid.UUID) -> SupportTrajectory:
    trajectory = db.get(SupportTrajectory, trajectory_id)
    if trajectory is None:
        raise NotFound(f"no support trajectory with id {trajectory_id}")
    return trajectory


@router.post("/trajectories", status_code=status.HTTP_201_CREATED, tags=["tailored support"])
def start_trajectory(body: TrajectoryStart, db: SessionDep, outbox: OutboxDep, who: Staff) -> TrajectoryRead:
    trajectory = SupportTrajectory(
        organisation_id=body.organisation_id,
        started_on=domain.business_date(body.started_on, "started_on"),
        stage=body.stage,
        methodology=body.methodology,
        description=body.description,
        created_by=who.subject,
        updated_by=who.subject,
    )
    db.add(trajectory)
    outbox.add(
        db,
        events.SupportTrajectoryStarted(
            trajectory_id=trajectory.id,
            organisation_id=trajectory.organisation_id,
            started_on=trajectory.started_on,
            stage=body.stage,
            methodology=trajectory.methodology,
            description=trajectory.description,
        ),
        actor=who.subject,
    )
    commit_or_conflict(db)
    return TrajectoryRead.model_validate(trajectory, from_attributes=True)


@router.post("/trajectories/{trajectory_id}/complete", tags=["tailored support"])
def complete_trajectory(
    trajectory_id: uuid.UUID, body: TrajectoryComplete, db: SessionDep, outbox: OutboxDep, who: Staff
) -> TrajectoryRead:
    trajectory = _trajectory(db, trajectory_id)
    completed_on = domain.business_date(body.completed_on, "completed_on")
    domain.check_can_complete_trajectory(trajectory.started_on, trajectory.completed_on, completed_on)
    trajectory.completed_on, trajectory.summary = completed_on, body.summary
    trajectory.updated_at, trajectory.updated_by = domain.now(), who.subject
    db.add(trajectory)
    outbox.add(
        db,
        events.SupportTrajectoryCompleted(
            trajectory_id=trajectory.id, completed_on=completed_on, summary=body.summary
        ),
        actor=who.subject,
    )
    commit_or_conflict(db)
    return TrajectoryRead.model_validate(trajectory, from_attributes=True)


@router.get("/trajectories", tags=["tailored support"])
def list_trajectories(
    db: SessionDep,
    _who: Reader,
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
    items = [TrajectoryRead.model_validate(t, from_attributes=True) for t in rows]
    return Page[TrajectoryRead](items=items, total=total, limit=limit, offset=offset)


@router.get("/trajectories/{trajectory_id}", tags=["tailored support"])
def get_trajectory(trajectory_id: uuid.UUID, db: SessionDep, _who: Reader) -> TrajectoryRead:
    return TrajectoryRead.model_validate(_trajectory(db, trajectory_id), from_attributes=True)
