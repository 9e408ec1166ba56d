"""bin/audit in the test suite, so that CI runs it: pip-audit finds no known vulnerability (where a
vulnerability database answers) and bandit no finding of medium or high severity."""

from __future__ import annotations

import subprocess

from tests import infra


def test_the_supply_chain_audit_passes() -> None:
    result = subprocess.run(
        ["bash", str(infra.ROOT / "bin" / "audit")], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
