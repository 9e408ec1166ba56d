"""Errors in the caller's terms, mapped to HTTP: 404 unknown id, 409 conflict, 422 invalid input."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    """Input that is well-formed but breaks a rule; `field` names where, as FastAPI's 422 does."""

    status_code = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        body: dict[str, object]
        if isinstance(exc, Invalid):
            body = {"detail": [{"loc": ["body", exc.field], "msg": exc.message, "type": "value_error"}]}
        else:
            body = {"detail": exc.message}
        return JSONResponse(body, status_code=exc.status_code)
