"""The network's members and their organisations (OD 1.1)."""
