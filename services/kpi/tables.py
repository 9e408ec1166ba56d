"""Every read-model table of the KPI service (imported by the Alembic environment)."""

from services.kpi.membership import KpiKnowledgeSharingFact, KpiMembershipFact, KpiOrganisation

__all__ = ["KpiKnowledgeSharingFact", "KpiMembershipFact", "KpiOrganisation"]
