"""An httpx transport whose in-flight requests can be aborted from another thread.

Closing an ``httpx.Client`` does not wake a thread blocked reading a response, and llama.cpp's
server cannot be destroyed while it still owes a response (its destructor waits for it).
So every connection is tracked with the name of the thread that last sent on it;
:meth:`AbortableTransport.abort` shuts down the sockets of matching threads, which makes
their blocked reads fail at once and tells the server the client has gone (it then cancels
the generation).

The transport is built on httpx's public extension point (``httpx.BaseTransport``) over an
httpcore pool, direct or through an HTTP(S) proxy, with a network backend that tracks the
sockets (httpcore's public ``network_backend`` hook), so TLS settings (``verify``,
``cert``) and a proxy are honoured and proxied requests can be aborted too.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import typing
import weakref
from collections.abc import Iterator

import httpcore
import httpx


class _TrackedStream(httpcore.NetworkStream):
    """A network stream that remembers its socket and the thread using it."""

    def __init__(self, inner: httpcore.NetworkStream, registry: _Registry) -> None:
        self._inner = inner
        self._registry = registry
        self.owner = ""
        registry.add(self)

    @property
    def socket(self) -> socket.socket | None:
        sock = self._inner.get_extra_info("socket")
        return sock if isinstance(sock, socket.socket) else None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.owner = threading.current_thread().name
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._registry.discard(self)
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        self._registry.discard(self)
        return _TrackedStream(self._inner.start_tls(ssl_context, server_hostname, timeout),
                              self._registry)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _Registry:
    def __init__(self) -> None:
        self._streams: weakref.WeakSet[_TrackedStream] = weakref.WeakSet()
        self._lock = threading.Lock()

    def add(self, stream: _TrackedStream) -> None:
        with self._lock:
            self._streams.add(stream)

    def discard(self, stream: _TrackedStream) -> None:
        with self._lock:
            self._streams.discard(stream)

    def snapshot(self) -> list[_TrackedStream]:
        with self._lock:
            return list(self._streams)


class _TrackingBackend(httpcore.NetworkBackend):
    def __init__(self, registry: _Registry) -> None:
        self._inner = httpcore.SyncBackend()
        self._registry = registry

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None,
                    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _TrackedStream(stream, self._registry)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable[typing.Any] | None = None,
                            ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, timeout, socket_options)
        return _TrackedStream(stream, self._registry)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class AbortableTransport(httpx.BaseTransport):
    """An httpx transport with :meth:`abort` for requests stuck in other threads.

    Takes what ``httpx.HTTPTransport`` takes for connections: ``limits``, ``verify``,
    ``cert``, ``trust_env`` (``SSL_CERT_FILE``/``SSL_CERT_DIR``) and an HTTP(S) ``proxy``.
    """

    def __init__(self, limits: httpx.Limits | None = None, *,
                 verify: ssl.SSLContext | str | bool = True,
                 cert: typing.Any = None, trust_env: bool = True,
                 proxy: httpx.Proxy | httpx.URL | str | None = None) -> None:
        self._registry = _Registry()
        limits = limits or httpx.Limits()
        options: dict[str, typing.Any] = {
            "ssl_context": httpx.create_ssl_context(verify=verify, cert=cert,
                                                    trust_env=trust_env),
            "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry,
            "network_backend": _TrackingBackend(self._registry)}
        self._pool: httpcore.ConnectionPool
        if proxy is None:
            self._pool = httpcore.ConnectionPool(**options)
            return
        proxy = proxy if isinstance(proxy, httpx.Proxy) else httpx.Proxy(proxy)
        if proxy.url.scheme not in ("http", "https"):
            raise ValueError(f"unsupported proxy {proxy.url} (http:// or https:// only)")
        self._pool = httpcore.HTTPProxy(
            proxy_url=_core_url(proxy.url), proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw, proxy_ssl_context=proxy.ssl_context, **options)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(method=request.method, url=_core_url(request.url),
                                headers=request.headers.raw, content=request.stream,
                                extensions=request.extensions)
        with _httpx_errors():
            response = self._pool.handle_request(core)
        assert isinstance(response.stream, typing.Iterable)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_Body(response.stream), extensions=response.extensions)

    def close(self) -> None:
        self._pool.close()

    def abort(self, thread_prefix: str = "") -> int:
        """Shut down the sockets last used by threads whose name starts with
        ``thread_prefix`` ("" = all). Returns how many were aborted."""
        aborted = 0
        for stream in self._registry.snapshot():
            sock = stream.socket
            if sock is None or not stream.owner.startswith(thread_prefix):
                continue
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
                aborted += 1
        return aborted


def _core_url(url: httpx.URL) -> httpcore.URL:
    return httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port,
                        target=url.raw_path)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpcore's errors as the httpx errors of the same name (``httpx.ReadError``,
    ``httpx.ConnectTimeout``...), which is what callers of an httpx client catch."""
    try:
        yield
    except Exception as exc:
        for kind in type(exc).__mro__:
            mapped = getattr(httpx, kind.__name__, None) if kind.__module__.startswith(
                "httpcore") else None
            if isinstance(mapped, type) and issubclass(mapped, httpx.TransportError):
                raise mapped(str(exc)) from exc
        raise


class _Body(httpx.SyncByteStream):
    """A response body read from httpcore, its errors mapped like the request's."""

    def __init__(self, stream: typing.Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()
