"""A stand-in for the Hugging Face Hub API on 127.0.0.1: just the endpoints that
``HfApi.create_repo`` and ``HfApi.upload_folder`` call (read from huggingface_hub's source:
``/api/repos/create``, ``/api/validate-yaml``, ``/api/{type}s/{repo}/preupload/{rev}`` and
``/api/{type}s/{repo}/commit/{rev}`` with an NDJSON body of base64 file contents)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HubStandIn(ThreadingHTTPServer):
    """Records repos, uploaded files and the Authorization header of every request."""

    def __init__(self, *, refuse_token: str = "") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.refuse_token = refuse_token
        self.repos: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, bytes]] = {}
        self.validated: list[str] = []
        self.requests: list[tuple[str, str, str]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> HubStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: HubStandIn

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> None:
        self.server.requests.append((self.command, self.path,
                                     self.headers.get("authorization", "")))

    def do_GET(self) -> None:
        self._record()
        self._reply(404, {"error": "not in the stand-in"})

    def do_POST(self) -> None:
        self._record()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.server.refuse_token and self.server.refuse_token in (
                self.headers.get("authorization", "")):
            self._reply(401, {"error": "Invalid credentials in Authorization header"})
            return
        path = self.path.split("?")[0]
        parts = path.split("/")  # "", "api", "datasets", owner, name, verb, revision
        if path == "/api/repos/create":
            info = json.loads(body)
            repo = f"{info.get('organization')}/{info['name']}"
            self.server.repos[repo] = info
            self._reply(200, {"url": f"{self.server.url}/datasets/{repo}", "name": repo})
        elif path == "/api/validate-yaml":
            self.server.validated.append(json.loads(body)["content"])
            self._reply(200, {"errors": [], "warnings": []})
        elif len(parts) == 7 and parts[5] == "preupload":
            files = json.loads(body)["files"]
            self._reply(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                         "shouldIgnore": False} for f in files]})
        elif len(parts) == 7 and parts[5] == "commit":
            repo = f"{parts[3]}/{parts[4]}"
            store = self.server.files.setdefault(repo, {})
            for line in body.decode().splitlines():
                op = json.loads(line)
                if op["key"] == "file":
                    store[op["value"]["path"]] = base64.b64decode(op["value"]["content"])
            self._reply(200, {"commitUrl": f"{self.server.url}/datasets/{repo}/commit/1",
                              "commitOid": "1" * 40, "success": True})
        else:
            self._reply(404, {"error": f"not in the stand-in: {path}"})
