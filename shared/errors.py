"""Errors in the caller's terms, mapped to HTTP: 404 unknown id, 409 conflict, 422 invalid input; and
the same errors declared in every service's OpenAPI document, once, from what each route depends on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPBearer
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


# --- the errors in the OpenAPI documents ------------------------------------------------------------

MESSAGE_SCHEMA: dict[str, Any] = {
    "title": "Message",
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ERRORS: dict[int, str] = {
    400: "the request body cannot be read",
    401: "no token, or a token that is not valid (any more)",
    403: "the token's role may not do this",
    404: "an id in the path, or one the request refers to, is unknown",
    409: "this conflicts with an existing record or with the record's state",
    413: "the request body is larger than the limit (MAX_BODY_BYTES)",
    422: "the request is not valid: the field and the reason",
    429: "too many requests from this address: try again after Retry-After seconds",
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def route_errors(route: Any) -> set[int]:
    """The error statuses a route can answer, read from what it depends on and what it does: a role
    check (401, 403), an id in the path (404), a body (400, 413, 422), a change (404 for an id in the
    body, 409, 422), the public rate limit (429). Declared where they can happen, not everywhere."""
    dependant: Dependant = route.dependant
    calls = list(_calls(dependant))
    found: set[int] = set()
    # a role check: shared.auth's own dependency, or a bearer credential read by one that checks it
    # itself (shared.uow.unit_of_work checks the token on the event loop)
    if any(getattr(c, "__module__", "") == "shared.auth" or isinstance(c, HTTPBearer) for c in calls):
        found |= {401, 403}
    if dependant.path_params:
        found |= {404, 422}
    if dependant.query_params or dependant.header_params or dependant.cookie_params:
        found.add(422)
    if route.body_field is not None:
        found |= {400, 413, 422}
    if set(route.methods or ()) & WRITES:
        found |= {404, 409, 422}
    if any(getattr(c, "__name__", "") == "public_rate_limit" for c in calls):
        found.add(429)
    return found


def declare_errors(app: FastAPI) -> None:
    """Add each route's error answers (route_errors) to the app's OpenAPI document, keeping what a
    route declares itself. FastAPI declares only 422, and only for routes with parameters."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = generate()
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("Message", MESSAGE_SCHEMA)
        message = {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}}
        # the routes of included routers too (FastAPI keeps them inside the router it includes)
        for route in iter_route_contexts(app.routes):
            if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
                continue
            for method in route.methods or ():
                operation = document.get("paths", {}).get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                for status in sorted(route_errors(route)):
                    if str(status) in responses:
                        continue
                    if status == 422:
                        components.setdefault("HTTPValidationError", _validation_error_schema(components))
                        content = {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/HTTPValidationError"}
                            }
                        }
                    else:
                        content = message
                    responses[str(status)] = {"description": ERRORS[status], "content": content}
                    if status == 429:
                        responses["429"]["headers"] = {
                            "Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}
                        }
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _validation_error_schema(components: dict[str, Any]) -> dict[str, Any]:
    components.setdefault(
        "ValidationError",
        {
            "title": "ValidationError",
            "type": "object",
            "properties": {
                "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                "msg": {"type": "string"},
                "type": {"type": "string"},
            },
            "required": ["loc", "msg", "type"],
        },
    )
    return {
        "title": "HTTPValidationError",
        "type": "object",
        "properties": {
            "detail": {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}
        },
    }
