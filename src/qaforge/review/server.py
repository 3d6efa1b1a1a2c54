"""Run the review app with uvicorn, in the foreground (the CLI) or in a thread (tests)."""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote

import uvicorn

from qaforge.errors import PortInUseError
from qaforge.review.app import create_app
from qaforge.review.security import is_loopback

#: when the asked-for port is taken, try the next few before giving up
PORT_ATTEMPTS = 20


def bind_socket(host: str, port: int, attempts: int = PORT_ATTEMPTS) -> socket.socket:
    """A listening socket on ``host`` at ``port`` or the next free one (``port=0``: any)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last_error: OSError | None = None
    for candidate in [0] if port == 0 else range(port, min(port + attempts, 65536)):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            last_error = exc
            continue
        sock.listen(128)
        sock.set_inheritable(True)
        return sock
    raise PortInUseError(errno.EADDRINUSE, f"ports {port}-{port + attempts - 1} on {host} are "
                         f"all in use ({last_error}); pass --port 0 for any free port")


class ReviewServer:
    """The review app served by uvicorn on one socket.

    >>> server = ReviewServer(Path("work")).start()   # in a background thread
    >>> print(server.url)                             # http://127.0.0.1:8765/?token=...
    >>> server.stop()
    """

    def __init__(self, workdir: Path, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, log_level: str = "warning") -> None:
        self.workdir = Path(workdir)
        self.host = host
        self.app = create_app(self.workdir, token=token, host=host)
        self.token: str = self.app.state.token
        self.socket = bind_socket(host, port)
        self.port: int = self.socket.getsockname()[1]
        config = uvicorn.Config(self.app, log_level=log_level, lifespan="off",
                                access_log=False, server_header=False, timeout_keep_alive=5)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        if shown in ("0.0.0.0", "[::]"):
            shown = "127.0.0.1"
        return f"http://{shown}:{self.port}"

    @property
    def url(self) -> str:
        """The address to open: it carries the session token once, then a cookie does."""
        return f"{self.base_url}/?token={quote(self.token)}"

    @property
    def exposed(self) -> bool:
        """True when other machines may reach the server."""
        return not is_loopback(self.host)

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl+C)."""
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self.socket.close()

    def start(self, timeout: float = 15.0) -> ReviewServer:
        """Serve in a daemon thread; returns once the server accepts connections."""
        self._thread = threading.Thread(target=self.serve_forever, name="qaforge-review",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the review server did not start")
            time.sleep(0.01)
        return self

    def wait(self) -> None:
        """Block until the server thread of :meth:`start` ends; Ctrl+C interrupts the wait
        (not the server's event loop, which a signal at start-up would leave half made)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self.socket.close()

    def __enter__(self) -> ReviewServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
