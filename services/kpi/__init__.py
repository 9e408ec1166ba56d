"""The KPI projection: read models built from every domain topic, the KPI API and the yearly report."""
