"""Calls to the five services on behalf of the signed-in person, with a bearer token of a few minutes
issued for them (shared.auth): the services check the role and keep the person in their audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import httpx

from services.backoffice.session import StaffSession
from services.backoffice.settings import BackofficeSettings
from shared.auth import issue_token

Service = Literal["members", "events", "feedback", "newsletter", "kpi"]


class ServiceError(Exception):
    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail

    def field_errors(self) -> dict[str, str]:
        """A 422's problems by field name (the last part of each `loc`), as the service named them."""
        errors: dict[str, str] = {}
        if self.status_code == 422 and isinstance(self.detail, list):
            for problem in self.detail:
                location = problem.get("loc") or ["body"]
                field = str(location[-1]) if len(location) > 1 else "_form"
                errors.setdefault(field, str(problem.get("type", "value_error")))
        return errors


class ServiceUnavailable(Exception):
    pass


# One client for the process, shared by every screen's calls (httpx.Client is thread-safe): a client
# per call built its SSL context and opened a new connection each time, which cost a screen with four
# calls tens of milliseconds; the pool keeps the connections to the five services open.
_client = httpx.Client(timeout=15)


def base_url(settings: BackofficeSettings, service: Service) -> str:
    return str(getattr(settings, f"{service}_url")).rstrip("/")


def call(
    settings: BackofficeSettings,
    staff: StaffSession,
    service: Service,
    method: str,
    path: str,
    *,
    json: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> Any:
    token = issue_token(
        settings.auth_secret.get_secret_value(),
        staff.subject,
        staff.role,
        timedelta(seconds=settings.backoffice_token_seconds),
    )
    try:
        answer = _client.request(
            method,
            f"{base_url(settings, service)}{path}",
            json=json,
            params={k: v for k, v in (params or {}).items() if v not in (None, "")},
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"{service}: {exc}") from None
    if answer.status_code >= 400:
        try:
            detail = answer.json().get("detail")
        except ValueError:
            detail = answer.text[:500]
        raise ServiceError(answer.status_code, detail)
    return answer.json() if answer.content else None


def download(
    settings: BackofficeSettings, staff: StaffSession, service: Service, path: str, params: dict[str, Any]
) -> httpx.Response:
    """A document as the service sends it (a report as XLSX, CSV, PDF or HTML), for passing on."""
    token = issue_token(
        settings.auth_secret.get_secret_value(),
        staff.subject,
        staff.role,
        timedelta(seconds=settings.backoffice_token_seconds),
    )
    try:
        answer = _client.get(
            f"{base_url(settings, service)}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"{service}: {exc}") from None
    if answer.status_code >= 400:
        raise ServiceError(answer.status_code, answer.text[:500])
    return answer
