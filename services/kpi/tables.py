"""Every table of the KPI service (imported by the Alembic environment): the read models the projection
writes, and the service's own bookkeeping (generations, frozen reports). Listed here explicitly, so
nothing has to find them by scanning SQLModel's registry."""

from sqlmodel import SQLModel

from services.kpi import activities, communications, feedback, membership
from services.kpi.activities import (
    KpiActivityAdvice,
    KpiActivityAttendance,
    KpiActivityRegistration,
    KpiActivitySession,
    KpiActivitySessionFact,
    KpiActivityTrajectory,
)
from services.kpi.communications import KpiArticle, KpiGoodPractice, KpiNewsletterSent
from services.kpi.explanations import KpiExplanation
from services.kpi.feedback import KpiFeedbackRequest, KpiFeedbackResponse, KpiSurvey
from services.kpi.freeze import KpiFrozenReport
from services.kpi.generations import KpiGeneration
from services.kpi.membership import KpiKnowledgeSharingFact, KpiMembershipFact, KpiOrganisation

# What the projection writes, module by module: a rebuild replays exactly these.
READ_MODELS: tuple[type[SQLModel], ...] = (
    *membership.TABLES,
    *activities.TABLES,
    *communications.TABLES,
    *feedback.TABLES,
)
TABLES: tuple[type[SQLModel], ...] = (*READ_MODELS, KpiExplanation, KpiFrozenReport, KpiGeneration)

__all__ = [
    "READ_MODELS",
    "TABLES",
    "KpiActivityAdvice",
    "KpiActivityAttendance",
    "KpiActivityRegistration",
    "KpiActivitySession",
    "KpiActivitySessionFact",
    "KpiActivityTrajectory",
    "KpiArticle",
    "KpiExplanation",
    "KpiFeedbackRequest",
    "KpiFeedbackResponse",
    "KpiFrozenReport",
    "KpiGeneration",
    "KpiGoodPractice",
    "KpiKnowledgeSharingFact",
    "KpiMembershipFact",
    "KpiNewsletterSent",
    "KpiOrganisation",
    "KpiSurvey",
]
