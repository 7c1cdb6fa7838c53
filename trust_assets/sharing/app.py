"""The trust's Delta Sharing server (protocol: delta-io/delta-sharing PROTOCOL.md), built with FastAPI.

Two directions use the same server: department shares to the trust (recipient ``trust``) and published products
to analysts. What a recipient sees is exactly what its agreements list; every response and file is cut down to
the agreement's columns and rows; every request, refused or not, lands in the hash-chained access log.
Client mistakes get 400/401/403/404 with ``{errorCode, message}``, never a 5xx. The routes live in ``routes/``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trust_assets.sharing.access_log import AccessLog
from trust_assets.sharing.protocol import audit
from trust_assets.sharing.routes import files, shares, tables
from trust_assets.sharing.state import ServerConfig, SharingError, SharingState
from trust_assets.sharing.tables import TableAccessError


async def _sharing_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SharingError | TableAccessError)
    audit(request, outcome=exc.code, message=exc.message)
    return JSONResponse({"errorCode": exc.code, "message": exc.message}, status_code=exc.status)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
    audit(request, outcome="INVALID_PARAMETER_VALUE", message=problems)
    return JSONResponse({"errorCode": "INVALID_PARAMETER_VALUE", "message": problems}, status_code=400)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "RESOURCE_DOES_NOT_EXIST", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
    audit(request, outcome=code)
    return JSONResponse({"errorCode": code, "message": str(exc.detail)}, status_code=exc.status_code)


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    audit(request, outcome="INTERNAL_ERROR", message=f"{type(exc).__name__}: {exc}")
    return JSONResponse({"errorCode": "INTERNAL_ERROR", "message": "internal error; see the server log"},
                        status_code=500)


def create_app(config: ServerConfig) -> AuditMiddleware:
    """Build the server for one TrustPaths; nothing is read until this is called."""
    state = SharingState(config)
    app = FastAPI(title="Labour Market Data Trust — Delta Sharing", version="1",
                  description="Delta Sharing protocol endpoints for department shares and published products.")
    app.state.sharing = state
    app.add_exception_handler(SharingError, _sharing_error)
    app.add_exception_handler(TableAccessError, _sharing_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _internal)
    for module in (shares, tables, files):
        app.include_router(module.router, prefix=config.prefix)
    return AuditMiddleware(app, state.access_log)


class AuditMiddleware:
    """Records every request after its response has been sent: status, outcome and the bytes actually served."""

    def __init__(self, app: FastAPI, log: AccessLog) -> None:
        self.app: ASGIApp = app
        self.fastapi = app
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
                method=scope["method"], path=scope["path"], status=status["code"],
                outcome=audit.pop("outcome", "ok" if status["code"] < 400 else "error"),
                client=client[0] if client else None, bytes_sent=sent["bytes"], **audit,
            )
