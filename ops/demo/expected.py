"""The check at the end: what the KPI service should answer for the year, from what the demo did, and
waiting until it does."""

from __future__ import annotations

from typing import Any

from ops.demo.client import Demo, wait

# --- the KPI service catching up ------------------------------------------------------------------


def _differences(expected: dict[str, float], answer: dict[str, Any]) -> dict[str, tuple[float, Any]]:
    values = {k["code"]: k["value"] for k in answer["kpis"]}
    return {
        code: (want, values.get(code))
        for code, want in expected.items()
        if values.get(code) is None or abs(float(values[code]) - want) > 0.011
    }


def wait_for_kpis(demo: Demo, timeout: float = 120) -> dict[str, Any] | None:
    """Until the KPI service shows for the year what the demo did; its answer. The newsletters are
    not waited for: the mails keep going out in the background."""
    expected = demo.expected_kpis()
    state: dict[str, Any] = {}

    def caught_up() -> dict[str, Any] | None:
        answer = demo.get("kpi", f"/kpis/{demo.year}")
        state["answer"], state["differences"] = answer, _differences(expected, answer)
        return answer if not state["differences"] else None

    answer = wait(caught_up, timeout, 1.0)
    if answer is None and state.get("differences"):
        shown = ", ".join(f"{c}: {v[1]} (verwacht {v[0]:g})" for c, v in sorted(state["differences"].items()))
        demo.notes.append(f"de KPI-dienst liep nog achter: {shown}")
    if "newsletter" in demo.clients and demo.issues:
        sent = sum(1 for i in demo.issues if demo.get("newsletter", f"/issues/{i}")["status"] == "sent")
        if sent < len(demo.issues):
            demo.log(
                f"  {sent} van de {len(demo.issues)} nieuwsbrieven zijn al weg; "
                "de rest volgt op de achtergrond"
            )
    return answer or state.get("answer")
