"""The trust's Delta Sharing server (protocol: delta-io/delta-sharing PROTOCOL.md), built with FastAPI.

Two directions use the same server: department shares to the trust (recipient ``trust``) and published products
to analysts. What a recipient sees is exactly what its agreements list; every response and file is cut down to
the agreement's columns and rows; every request, refused or not, lands in the hash-chained access log.
Client mistakes get 400/401/403/404/413/429/431 with ``{errorCode, message}``, never a 5xx, and error messages
never carry library internals. The routes live in ``routes/``; the bounds in ``limits.py``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trust_assets.sharing.access_log import AccessLog
from trust_assets.sharing.limits import MAX_BODY_BYTES, LimitExceeded, check_headers, check_json_depth
from trust_assets.sharing.protocol import audit
from trust_assets.sharing.routes import files, oauth, shares, tables
from trust_assets.sharing.state import ServerConfig, SharingError, SharingState
from trust_assets.sharing.tables import TableAccessError

log = logging.getLogger("trust_assets.sharing")

#: Sent with every response: nothing is cached, sniffed, framed or allowed to load anything.
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}
#: The Swagger page (only with --api-docs) loads its script and style from jsDelivr.
DOCS_CSP = ("default-src 'none'; script-src https://cdn.jsdelivr.net 'unsafe-inline'; "
            "style-src https://cdn.jsdelivr.net; img-src https://fastapi.tiangolo.com data:; connect-src 'self'; "
            "frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


async def _sharing_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SharingError | TableAccessError)
    audit(request, outcome=exc.code, message=exc.message)
    return JSONResponse({"errorCode": exc.code, "message": exc.message}, status_code=exc.status,
                        headers=getattr(exc, "headers", None) or None)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())[:2000]
    audit(request, outcome="INVALID_PARAMETER_VALUE", message=problems)
    return JSONResponse({"errorCode": "INVALID_PARAMETER_VALUE", "message": problems}, status_code=400)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "RESOURCE_DOES_NOT_EXIST", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
    audit(request, outcome=code)
    return JSONResponse({"errorCode": code, "message": str(exc.detail)}, status_code=exc.status_code)


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    audit(request, outcome="INTERNAL_ERROR", message=type(exc).__name__)
    return JSONResponse({"errorCode": "INTERNAL_ERROR", "message": "internal error; see the server log"},
                        status_code=500)


def create_app(config: ServerConfig) -> AuditMiddleware:
    """Build the server for one TrustPaths; nothing is read until this is called."""
    config.paths.ensure()
    state = SharingState(config)
    docs = {} if config.api_docs else {"openapi_url": None, "docs_url": None, "redoc_url": None}
    app = FastAPI(title="Labour Market Data Trust — Delta Sharing", version="1",
                  description="Delta Sharing protocol endpoints for department shares and published products.",
                  **docs)  # type: ignore[arg-type]
    app.state.sharing = state
    app.add_exception_handler(SharingError, _sharing_error)
    app.add_exception_handler(TableAccessError, _sharing_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _internal)
    for module in (shares, tables, files, oauth):
        app.include_router(module.router, prefix=config.prefix)
    return AuditMiddleware(GuardMiddleware(app, config), app, state.access_log)


def _error_body(status: int, code: str, message: str) -> list[Message]:
    body = json.dumps({"errorCode": code, "message": message}).encode()
    return [{"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]},
            {"type": "http.response.body", "body": body}]


class GuardMiddleware:
    """Bounds headers and bodies before the app sees them, adds the security headers, and turns any unexpected
    exception into one clean 500 (no internals, connection kept) instead of letting it reach the server."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        audit_fields: dict[str, Any] = scope.setdefault("state", {}).setdefault("audit", {})
        started = {"yes": False}
        docs_page = self.config.api_docs and scope["path"] in ("/docs", "/docs/oauth2-redirect")

        async def secured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started["yes"] = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                extra = dict(SECURITY_HEADERS)
                if docs_page:
                    extra["content-security-policy"] = DOCS_CSP
                if self.config.tls:
                    extra["strict-transport-security"] = HSTS
                present = {k.lower() for k, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            check_headers(scope.get("headers", []))
            receive = await self._bounded_body(scope, receive)
        except LimitExceeded as exc:
            code = {413: "REQUEST_TOO_LARGE", 431: "HEADERS_TOO_LARGE"}.get(exc.status, "INVALID_PARAMETER_VALUE")
            audit_fields.update(outcome=code, message=exc.message)
            for message in _error_body(exc.status, code, exc.message):
                await secured_send(message)
            return
        try:
            await self.app(scope, receive, secured_send)
        except Exception as exc:  # the last line of defence: log it, answer 500 once, keep serving
            log.exception("unexpected error serving %s %s", scope.get("method"), scope.get("path"))
            audit_fields.update(outcome="INTERNAL_ERROR", message=type(exc).__name__)
            if not started["yes"]:
                for message in _error_body(500, "INTERNAL_ERROR", "internal error; see the server log"):
                    await secured_send(message)

    @staticmethod
    async def _bounded_body(scope: Scope, receive: Receive) -> Receive:
        """Read the whole body (at most MAX_BODY_BYTES) up front, check JSON depth, then replay it to the app."""
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                raise LimitExceeded(400, "Content-Length is not a number")
            if int(length) > MAX_BODY_BYTES:
                raise LimitExceeded(413, f"request body of {int(length)} bytes exceeds the limit of "
                                    f"{MAX_BODY_BYTES} bytes")
        if scope["method"] in ("GET", "HEAD") and length in (None, b"0"):
            return receive
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise LimitExceeded(413, f"request body exceeds the limit of {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            check_json_depth(body, "request body")
        replayed = {"done": False}

        async def replay() -> Message:
            if not replayed["done"]:
                replayed["done"] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay


class AuditMiddleware:
    """Records every request after its response has been sent: status, outcome and the bytes actually served."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI, log: AccessLog) -> None:
        self.app: ASGIApp = app
        self.fastapi = fastapi
        self.log = log

    def __getattr__(self, name: str) -> Any:  # lets tests and tools reach .openapi(), .state, ...
        return getattr(self.fastapi, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        audit: dict[str, Any] = {}
        scope.setdefault("state", {})["audit"] = audit
        status = {"code": 500}
        sent = {"bytes": 0}

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body" and scope["method"] != "HEAD":
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            client = scope.get("client")
            self.log.append(
                method=scope["method"], path=scope["path"][:2048], status=status["code"],
                outcome=audit.pop("outcome", "ok" if status["code"] < 400 else "error"),
                client=client[0] if client else None, bytes_sent=sent["bytes"], **audit,
            )
