"""Attacks on the local review server, sent to a real uvicorn on loopback."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from review_helpers import WriteDoc

import qaforge.review
from qaforge.review.security import MAX_BODY_BYTES
from qaforge.review.server import ReviewServer

DOC = "manual_suggestions.json"
SECRET = "TOP-SECRET-MARKER"


def raw_request(server: ReviewServer, target: str, method: str = "GET", body: bytes = b"",
                host: str | None = None, token: str | None = None) -> tuple[int, bytes]:
    """Send the request line exactly as given (no client-side URL normalisation)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host or f'127.0.0.1:{server.port}'}",
             f"X-QAForge-Token: {token or server.token}", "Connection: close",
             "Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1") + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload


@pytest.fixture
def outside(tmp_path: Path, write_doc: WriteDoc, workdir: Path) -> Path:
    """A suggestions file outside the work dir, linked from inside output_json."""
    inside_copy = write_doc("secret", [{"headings": ["S"], "pages": [1, 1], "text": SECRET,
                                        "pairs": [("Secret?", SECRET)]}])
    target = tmp_path / "elsewhere" / "secret_suggestions.json"
    target.parent.mkdir()
    inside_copy.rename(target)
    (workdir / "output_json" / "evil_suggestions.json").symlink_to(target)
    return target


TRAVERSALS = [
    "/api/docs/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/api/docs/%2e%2e%2f%2e%2e%2felsewhere%2fsecret_suggestions.json",
    "/api/docs/../../elsewhere/secret_suggestions.json",
    "/api/docs/..%5C..%5Celsewhere%5Csecret_suggestions.json",
    "/api/docs/%2Fetc%2Fpasswd",
    "/api/docs//etc/passwd",
    "/api/docs/evil_suggestions.json",
    "/api/docs/%65vil_suggestions.json",
    "/api/queue?doc=..%2F..%2Felsewhere%2Fsecret_suggestions.json",
    "/api/queue?doc=%2Fetc%2Fpasswd",
    "/api/queue?doc=evil_suggestions.json",
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/app.js/../../../review/app.py",
    "/..%2Fapp.py",
    "/static/..%2F..%2Fapp.py",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_path_reaches_outside_the_work_dir(server: ReviewServer, outside: Path,
                                              target: str) -> None:
    status, body = raw_request(server, target)
    assert status in (400, 403, 404), (target, status, body[:200])
    assert SECRET.encode() not in body and b"root:" not in body and b"import" not in body


def test_absolute_path_as_document_is_refused(server: ReviewServer, outside: Path) -> None:
    status, body = raw_request(server, "/api/docs/" + quote(str(outside), safe=""))
    assert status == 404 and SECRET.encode() not in body


def test_symlinked_file_cannot_be_written(server: ReviewServer, outside: Path,
                                          client: httpx.Client) -> None:
    before = outside.read_bytes()
    listing = client.get("/api/docs").json()["documents"]
    assert "outside the work dir" in next(d for d in listing
                                          if d["id"] == "evil_suggestions.json")["error"]["message"]
    response = client.post("/api/docs/evil_suggestions.json/ops", json={
        "revision": "x", "op": {"op": "restore", "chunk": "c", "suggestions": "pwned"}})
    assert response.status_code == 403
    assert outside.read_bytes() == before


def test_api_needs_the_session_token(server: ReviewServer, manual: Path) -> None:
    before = manual.read_bytes()
    with httpx.Client(base_url=server.base_url) as http:
        assert http.get("/api/docs").status_code == 403
        assert http.get("/api/docs", headers={"X-QAForge-Token": "guess"}).status_code == 403
        revision = http.get("/api/docs", headers={"X-QAForge-Token": server.token}).json()[
            "documents"][0]["revision"]
        op = {"revision": revision, "op": {"op": "restore", "chunk": "c", "suggestions": "x"}}
        for headers in ({}, {"X-QAForge-Token": ""}, {"X-QAForge-Token": server.token[:-1]}):
            assert http.post(f"/api/docs/{DOC}/ops", json=op, headers=headers).status_code == 403
        # what a hostile page can send: a simple form post, cookies included, no header
        http.get(server.url)  # the browser session cookie
        form = http.post(f"/api/docs/{DOC}/ops", data={"revision": revision})
        assert form.status_code == 403
    assert manual.read_bytes() == before


def test_cross_origin_requests_are_refused(client: httpx.Client, server: ReviewServer) -> None:
    assert client.get("/api/docs", headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.get("/api/docs", headers={"Origin": "null"}).status_code == 403
    same = client.get("/api/docs", headers={"Origin": server.base_url})
    assert same.status_code == 200


def test_foreign_host_header_is_refused(server: ReviewServer, manual: Path) -> None:
    # DNS rebinding: evil.example resolves to 127.0.0.1 but the Host header gives it away
    assert raw_request(server, "/api/docs", host=f"evil.example:{server.port}")[0] == 400
    assert raw_request(server, "/", host="evil.example")[0] == 400
    assert raw_request(server, "/api/docs", host=f"localhost:{server.port}")[0] == 200


def test_oversized_bodies_are_refused(client: httpx.Client, manual: Path) -> None:
    before = manual.read_bytes()
    revision = client.get(f"/api/docs/{DOC}").json()["revision"]
    big = "x" * (MAX_BODY_BYTES + 10)
    declared = client.post(f"/api/docs/{DOC}/ops", json={
        "revision": revision, "op": {"op": "restore", "chunk": "c", "suggestions": big}})
    assert declared.status_code == 413

    def stream() -> Iterator[bytes]:
        yield b'{"revision": "' + revision.encode() + b'", "op": {"op": "restore", "chunk": "c"'
        for _ in range(40):
            yield b', "pad": "' + b"y" * 65536 + b'"'
        yield b"}}"

    chunked = client.post(f"/api/docs/{DOC}/ops", content=stream(),
                          headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413
    assert manual.read_bytes() == before


def test_page_needs_the_printed_address_and_forbids_inline_script(server: ReviewServer) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        locked = http.get("/")
        assert locked.status_code == 401 and server.token not in locked.text
        assert http.get("/?token=wrong").status_code == 401
        entry = http.get(server.url)
        assert entry.status_code == 303 and entry.headers["location"] == "/"
        cookie = entry.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        page = http.get("/")
    assert page.status_code == 200
    assert f'content="{server.token}"' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and page.headers["x-frame-options"] == "DENY"
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page.text, re.S)
    assert scripts and all(body.strip() == "" for body in scripts)  # no inline code
    assert not re.search(r"https?://", page.text)  # no CDN or remote asset


def test_assets_ship_in_the_package(server: ReviewServer) -> None:
    static = Path(qaforge.review.__file__).parent / "static"
    names = sorted(p.name for p in static.iterdir() if p.name != "index.html")
    assert {"app.js", "app.css", "dom.js", "render.js"} <= set(names)
    with httpx.Client(base_url=server.base_url) as http:
        for name in names:
            response = http.get(f"/{name}")
            assert response.status_code == 200, name
            assert response.content == (static / name).read_bytes()
            text = response.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
            assert not re.search(r"https?://|//cdn|@import", text), name


def test_binds_loopback_by_default(workdir: Path, manual: Path) -> None:
    server = ReviewServer(workdir)
    try:
        assert server.socket.getsockname()[0] == "127.0.0.1" and not server.exposed
    finally:
        server.socket.close()
