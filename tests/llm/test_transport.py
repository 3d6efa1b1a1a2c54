"""The abortable transport honours TLS settings and proxies (issue 16 item 2): it used to
replace httpx's private pool with one that dropped ``verify`` and any proxy, so a proxied
request could not be aborted. Real servers on 127.0.0.1."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from qaforge.llm.transport import AbortableTransport


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append(self.path)
        if self.path.endswith("/hang"):
            self.server.release.wait(10)
            return
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, body: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.body = body
        self.seen: list[str] = []
        self.release = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@pytest.fixture
def serve() -> Iterator[list[_Server]]:
    servers: list[_Server] = []
    yield servers
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


def start(servers: list[_Server], body: bytes, tls: ssl.SSLContext | None = None) -> _Server:
    server = _Server(body)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    servers.append(server)
    return server


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_verify_is_honoured(tmp_path: Path, serve: list[_Server]) -> None:
    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    server = start(serve, b"secret", tls)
    url = f"https://127.0.0.1:{server.port}/x"
    trusting = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(transport=AbortableTransport(verify=trusting)) as client:
        assert client.get(url).content == b"secret"
    with httpx.Client(transport=AbortableTransport()) as client, \
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get(url)


def test_requests_go_through_the_proxy_and_can_be_aborted(serve: list[_Server]) -> None:
    proxy = start(serve, b"via proxy")
    transport = AbortableTransport(proxy=f"http://127.0.0.1:{proxy.port}")
    target = "http://127.0.0.1:9"  # never contacted: the proxy answers
    outcome: list[BaseException | bytes] = []

    def hanging() -> None:
        try:
            outcome.append(client.get(f"{target}/hang").content)
        except httpx.TransportError as exc:
            outcome.append(exc)

    with httpx.Client(transport=transport, timeout=30) as client:
        assert client.get(f"{target}/ok").content == b"via proxy"
        assert proxy.seen == [f"{target}/ok"]  # absolute-form: a proxy request
        worker = threading.Thread(target=hanging, name="qaforge-test-1")
        started = time.monotonic()
        worker.start()
        while len(proxy.seen) < 2 and time.monotonic() - started < 10:
            time.sleep(0.01)
        assert transport.abort("qaforge-test-") == 1
        worker.join(5)
        assert not worker.is_alive() and time.monotonic() - started < 5
    assert isinstance(outcome[0], httpx.TransportError), outcome  # not an answer


def test_only_http_proxies() -> None:
    with pytest.raises(ValueError, match="unsupported proxy"):
        AbortableTransport(proxy="socks5://127.0.0.1:1080")
