"""Every read-model table of the KPI service (imported by the Alembic environment)."""

from services.kpi.activities import (
    KpiActivityAdvice,
    KpiActivityAttendance,
    KpiActivityRegistration,
    KpiActivitySession,
    KpiActivitySessionFact,
    KpiActivityTrajectory,
)
from services.kpi.communications import KpiArticle, KpiGoodPractice, KpiNewsletterSent
from services.kpi.feedback import KpiFeedbackRequest, KpiFeedbackResponse, KpiSurvey
from services.kpi.freeze import KpiFrozenReport
from services.kpi.generations import KpiGeneration
from services.kpi.membership import KpiKnowledgeSharingFact, KpiMembershipFact, KpiOrganisation

__all__ = [
    "KpiActivityAdvice",
    "KpiActivityAttendance",
    "KpiActivityRegistration",
    "KpiActivitySession",
    "KpiActivitySessionFact",
    "KpiActivityTrajectory",
    "KpiArticle",
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
