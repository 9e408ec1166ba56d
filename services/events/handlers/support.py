"""Advice conversations with a local government (OD 3.2) and tailored-support trajectories (OD 3.3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from services.events import domain
from services.events.tables import Advice, SupportTrajectory
from services.events.views import get_trajectory
from shared import events
from shared.uow import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class GiveAdvice:
    organisation_id: uuid.UUID
    topic: str
    channel: events.AdviceChannel
    given_on: date | None = None
    with_mediawijs: bool = False


@dataclass(frozen=True, kw_only=True)
class StartTrajectory:
    organisation_id: uuid.UUID
    stage: events.Stage
    methodology: str
    description: str
    started_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class CompleteTrajectory:
    trajectory_id: uuid.UUID
    completed_on: date | None = None
    summary: str = ""


def give_advice(command: GiveAdvice, uow: UnitOfWork) -> Advice:
    advice = Advice(
        organisation_id=command.organisation_id,
        given_on=domain.business_date(command.given_on, "given_on"),
        topic=command.topic,
        channel=command.channel,
        with_mediawijs=command.with_mediawijs,
        created_by=uow.actor.subject,
    )
    uow.session.add(advice)
    uow.publish(
        events.AdviceGiven(
            advice_id=advice.id,
            organisation_id=advice.organisation_id,
            given_on=advice.given_on,
            topic=advice.topic,
            channel=command.channel,
            with_mediawijs=advice.with_mediawijs,
        )
    )
    return advice


def start_trajectory(command: StartTrajectory, uow: UnitOfWork) -> SupportTrajectory:
    trajectory = SupportTrajectory(
        organisation_id=command.organisation_id,
        started_on=domain.business_date(command.started_on, "started_on"),
        stage=command.stage,
        methodology=command.methodology,
        description=command.description,
        created_by=uow.actor.subject,
        updated_by=uow.actor.subject,
    )
    uow.session.add(trajectory)
    uow.publish(
        events.SupportTrajectoryStarted(
            trajectory_id=trajectory.id,
            organisation_id=trajectory.organisation_id,
            started_on=trajectory.started_on,
            stage=command.stage,
            methodology=trajectory.methodology,
            description=trajectory.description,
        )
    )
    return trajectory


def complete_trajectory(command: CompleteTrajectory, uow: UnitOfWork) -> SupportTrajectory:
    trajectory = get_trajectory(uow.session, command.trajectory_id)
    completed_on = domain.business_date(command.completed_on, "completed_on")
    domain.check_can_complete_trajectory(trajectory.started_on, trajectory.completed_on, completed_on)
    trajectory.completed_on, trajectory.summary = completed_on, command.summary
    trajectory.updated_at, trajectory.updated_by = domain.now(), uow.actor.subject
    uow.session.add(trajectory)
    uow.publish(
        events.SupportTrajectoryCompleted(
            trajectory_id=trajectory.id, completed_on=completed_on, summary=command.summary
        )
    )
    return trajectory
