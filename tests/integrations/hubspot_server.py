"""A loopback stand-in for HubSpot's CRM batch APIs (http.server in a thread): contacts and deals batch
upsert by an id property (stable ids per value, as HubSpot keeps them), v4 default associations, every
request recorded, and queued answers (e.g. 429 with Retry-After) served first."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

UPSERT = re.compile(r"^/crm/v3/objects/(contacts|deals)/batch/upsert$")
ASSOCIATE = re.compile(r"^/crm/v4/associations/(\w+)/(\w+)/batch/associate/default$")
NOW = "2026-12-03T17:00:00.000Z"


@dataclass
class Refusal:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    path: str
    authorization: str
    json: Any


class HubSpotServer:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.refusals: list[Refusal] = []  # answered in order before anything is stored
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"contacts": {}, "deals": {}}  # id -> properties
        self.keys: dict[tuple[str, str, str], str] = {}  # (object, id property, value) -> id
        self.associations: list[tuple[str, str, str, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"null")
                with server._lock:
                    server.requests.append(Request(self.path, self.headers.get("authorization", ""), body))
                    refusal = server.refusals.pop(0) if server.refusals else None
                    status, answer = (refusal.status, {"status": "error", "message": "refused"}) if refusal else (
                        server._answer(self.path, body))  # fmt: skip
                data = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in (refusal.headers if refusal else {}).items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def _answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if match := UPSERT.match(path):
            kind = match.group(1)
            results = []
            for item in body["inputs"]:
                key = (kind, item["idProperty"], str(item["id"]).lower())
                new = key not in self.keys
                object_id = self.keys.setdefault(key, str(len(self.keys) + 1001))
                stored = self.objects[kind].setdefault(object_id, {})
                stored.update({**item["properties"], item["idProperty"]: item["id"]})
                results.append({"id": object_id, "properties": dict(stored), "createdAt": NOW, "updatedAt": NOW,
                                "archived": False, "new": new})  # fmt: skip
            return 200, {"status": "COMPLETE", "results": results, "startedAt": NOW, "completedAt": NOW}
        if match := ASSOCIATE.match(path):
            for item in body["inputs"]:
                self.associations.append((match.group(1), item["from"]["id"], match.group(2), item["to"]["id"]))
            return 200, {"status": "COMPLETE", "results": [], "startedAt": NOW, "completedAt": NOW}
        return 404, {"status": "error", "message": f"no route {path}"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> HubSpotServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def by(self, kind: str, prop: str, value: str) -> dict[str, Any]:
        with self._lock:
            return dict(self.objects[kind][self.keys[(kind, prop, value.lower())]])
