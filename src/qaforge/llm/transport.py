"""An httpx transport whose in-flight requests can be aborted from another thread.

Closing an ``httpx.Client`` does not wake a thread blocked reading a response, and llama.cpp's
server cannot be destroyed while it still owes a response (its destructor waits for it).
So every connection is tracked with the name of the thread that last sent on it;
:meth:`AbortableTransport.abort` shuts down the sockets of matching threads, which makes
their blocked reads fail at once and tells the server the client has gone (it then cancels
the generation).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import typing
import weakref

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


class AbortableTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` with :meth:`abort` for requests stuck in other threads."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self._registry = _Registry()
        # httpx builds its httpcore pool in __init__ and offers no hook for the network
        # backend, so swap in an equivalent pool that uses the tracking backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_TrackingBackend(self._registry))

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
