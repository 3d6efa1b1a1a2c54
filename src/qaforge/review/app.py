"""The review web app: an ASGI app serving the page, its assets and the JSON API.

Build it with :func:`create_app`; :mod:`qaforge.review.server` runs it with uvicorn.
"""

from __future__ import annotations

import json
import secrets
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response

from qaforge.fileio import encode_text
from qaforge.review.ops import OpRequest
from qaforge.review.security import (
    MAX_BODY_BYTES,
    TOKEN_HEADER,
    BodyLimitMiddleware,
    HostCheckMiddleware,
    SecurityHeadersMiddleware,
    allowed_hosts,
    cookie_name,
    origin_allowed,
    token_matches,
)
from qaforge.review.store import QueueFilter, ReviewError, ReviewStore

ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "keys.js": "text/javascript; charset=utf-8",
    "judge.js": "text/javascript; charset=utf-8",
    "render.js": "text/javascript; charset=utf-8",
    "state.js": "text/javascript; charset=utf-8",
    "writes.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
LOCKED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>qaforge review</title><link rel="stylesheet" href="/app.css"></head>
<body class="locked"><main><h1>qaforge review</h1>
<p>Open the address that <code>qaforge review</code> printed in your terminal
(it ends in <code>?token=...</code>). This keeps other pages and other users of this
machine away from your files.</p></main></body></html>"""


class SafeJSONResponse(JSONResponse):
    """JSON that always encodes: a lone surrogate (hostile PDF text, model output, a file
    name that is not UTF-8) goes out as its ``\\udXXX`` escape instead of failing."""

    def render(self, content: Any) -> bytes:
        return encode_text(json.dumps(content, ensure_ascii=False, allow_nan=False,
                                      separators=(",", ":")))


def _asset(name: str) -> bytes:
    return resources.files("qaforge.review").joinpath("static", name).read_bytes()


def create_app(workdir: Path, *, token: str | None = None, host: str = "127.0.0.1",
               extra_hosts: tuple[str, ...] = (), max_body_bytes: int = MAX_BODY_BYTES
               ) -> FastAPI:
    """The review app for ``workdir``.

    ``token`` is the per-session secret (generated when omitted, see ``app.state.token``);
    ``host`` is the address the server binds, which decides the accepted ``Host`` headers.
    """
    token = token or secrets.token_urlsafe(32)
    hosts = allowed_hosts(host, extra_hosts)
    store = ReviewStore(workdir)
    app = FastAPI(title="qaforge review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.token, app.state.store, app.state.hosts = token, store, hosts
    cookie = cookie_name(token)

    @app.exception_handler(ReviewError)
    async def review_error(_: Request, exc: ReviewError) -> JSONResponse:
        return SafeJSONResponse(exc.to_json(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"] if part != "body")
        return JSONResponse({"error": f"{where}: {first['msg']}" if where else first["msg"],
                             "kind": "invalid"}, status_code=422)

    @app.get("/", include_in_schema=False)
    def index(request: Request, token_param: Annotated[str | None, Query(alias="token")] = None
              ) -> Response:
        if token_param is not None and token_matches(token, token_param):
            # trade the token in the address for a cookie, and drop it from the address bar
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(cookie, token, httponly=True, samesite="strict", path="/")
            return response
        if not token_matches(token, request.cookies.get(cookie)):
            return Response(LOCKED_PAGE, status_code=401, media_type="text/html")
        page = _asset("index.html").decode("utf-8").replace("{{TOKEN}}", token)
        return Response(page, media_type="text/html; charset=utf-8")

    for name, media_type in ASSETS.items():
        app.add_api_route(f"/{name}", _asset_route(name, media_type), methods=["GET"],
                          include_in_schema=False)

    app.include_router(_api_router(store, token, hosts))
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(HostCheckMiddleware, hosts=hosts)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def _asset_route(name: str, media_type: str) -> Any:
    def serve_asset() -> Response:
        return Response(_asset(name), media_type=media_type)

    return serve_asset


def _api_router(store: ReviewStore, token: str, hosts: list[str]) -> APIRouter:
    def require_token(request: Request) -> None:
        if not token_matches(token, request.headers.get(TOKEN_HEADER)):
            raise ReviewError(403, "forbidden", "missing or wrong session token; reload the "
                              "page from the address qaforge review printed")
        if not origin_allowed(request.headers.get("origin"), hosts):
            raise ReviewError(403, "forbidden", "request from another site refused")

    router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])

    @router.get("/docs")
    def list_documents() -> Response:
        return SafeJSONResponse({"workdir": str(store.workdir),
                                 "documents": store.summaries(),
                                 "evaluation": store.evaluation_status()})

    @router.get("/docs/{doc}")
    def get_document(doc: str) -> Response:
        return SafeJSONResponse(store.document(doc))

    @router.post("/docs/{doc}/ops")
    def apply_op(doc: str, request: OpRequest) -> Response:
        return SafeJSONResponse(store.apply(doc, request))

    @router.get("/queue")
    def get_queue(status: str | None = None, doc: str | None = None,
                  q: Annotated[str, Query(max_length=500)] = "", flagged: bool = False
                  ) -> Response:
        return SafeJSONResponse(store.queue(QueueFilter(status=status or None,
                                                        document=doc or None, query=q,
                                                        flagged=flagged)))

    return router
