"""Errors in the caller's terms, mapped to HTTP: 404 unknown id, 409 conflict, 422 invalid input."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError


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

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the input, which may not be writable as JSON (NaN, a lone
        # surrogate): the field and the reason are what the caller needs
        errors = [
            {k: v for k, v in error.items() if k not in ("input", "ctx", "url")} for error in exc.errors()
        ]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, _exc: DataError) -> JSONResponse:
        # e.g. a NUL character in text, which PostgreSQL refuses: the input, not the service, is wrong
        return JSONResponse(
            {
                "detail": [
                    {
                        "loc": ["body"],
                        "msg": "a value cannot be stored (control characters?)",
                        "type": "value_error",
                    }
                ]
            },
            status_code=422,
        )
