"""Defences of the local review server against other web pages and hostile input.

* every API call carries the per-session token in a header (CSRF: another site can neither
  read the token nor send the header without a CORS preflight we never answer);
* the page itself is only served to a browser that opened the printed URL with the token
  (it then gets a cookie), so other users of the machine cannot use the server either;
* the ``Host`` header must name the bound host (DNS rebinding), see ``allowed_hosts``;
* request bodies are capped (413) and every response carries a strict CSP.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_HEADER = "x-qaforge-token"
MAX_BODY_BYTES = 1 << 20

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "*"})


def token_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a presented token."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def cookie_name(token: str) -> str:
    """A cookie name per server session (cookies are shared between ports of one host)."""
    return "qaforge_review_" + hashlib.sha256(token.encode()).hexdigest()[:10]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(bound_host: str, extra: Iterable[str] = ()) -> list[str]:
    """``Host`` header names accepted for a server bound to ``bound_host``."""
    if bound_host in WILDCARD_HOSTS:
        return ["*"]
    names = {bound_host.strip("[]").lower(), *extra}
    if is_loopback(bound_host):
        names |= {"127.0.0.1", "localhost", "::1"}
    return sorted(names)


def origin_allowed(origin: str | None, hosts: list[str]) -> bool:
    """A browser's ``Origin`` header, when present, must be this server."""
    if origin is None or "*" in hosts:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.hostname in hosts


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes
        # read (and drop) this much of a refused body so the client hears the 413
        # instead of a connection reset; a bigger body is cut off
        self.drain_bytes = 8 * max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _plain(send, 400, b"bad Content-Length")
                return
            if int(declared) > self.max_bytes:
                await _drain(receive, self.drain_bytes)
                await _plain(send, 413, b"request body too large")
                return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, started, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not refused:
                    refused = True
                    if message.get("more_body", False):
                        await _drain(receive, self.drain_bytes)
                    if not started:
                        started = True
                        await _plain(send, 413, b"request body too large")
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the app may turn the error into its own reply; the 413 went out
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, limited_receive, guarded_send)


class HostCheckMiddleware:
    """Refuse requests whose ``Host`` header names another host (DNS rebinding)."""

    def __init__(self, app: ASGIApp, hosts: list[str]) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "*" not in self.hosts:
            header = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            try:
                name = urlsplit(f"//{header}").hostname
            except ValueError:
                name = None
            if name is None or name not in self.hosts:
                await _plain(send, 400, b"unexpected Host header")
                return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """Add the CSP and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _TooLarge(Exception):
    pass


async def _drain(receive: Receive, limit: int) -> None:
    drained = 0
    while drained <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
