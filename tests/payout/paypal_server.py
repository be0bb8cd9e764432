"""A loopback PayPal Payouts API: OAuth client credentials, batch create (sender_batch_id refused when
used before, with a HATEOAS link to the original, as PayPal documents), paged batch status. It records
every call and pays each item once. Behaviour knobs: answer 500 to the next N creates, hang on a create
(a timeout), fail items whose receiver contains "fail"."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLIENT_ID, CLIENT_SECRET = "client-id-1", "client-secret-1"


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class PaypalState:
    calls: list[Call] = field(default_factory=list)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)  # payout_batch_id -> batch
    by_sender_id: dict[str, str] = field(default_factory=dict)
    fail_creates: int = 0
    hang_creates_s: float = 0.0
    status_after_polls: int = 0  # polls answering PENDING before items become final
    lock: threading.Lock = field(default_factory=threading.Lock)

    def creates(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path == "/v1/payments/payouts"]

    def paid_items(self) -> list[dict[str, Any]]:
        """Every item PayPal accepted, across batches (what money would have moved)."""
        return [item for batch in self.batches.values() for item in batch["items"]]


class PaypalServer:
    def __init__(self) -> None:
        self.state = PaypalState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, body: Any) -> None:
                with state.lock:
                    state.calls.append(Call(self.command, urlsplit(self.path).path, dict(self.headers), body))

            def _authorized(self) -> bool:
                return self.headers.get("Authorization", "").startswith("Bearer A21-token")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                path = urlsplit(self.path).path
                if path == "/v1/oauth2/token":
                    self._record(raw)
                    expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                    if self.headers.get("Authorization") != expected or "grant_type=client_credentials" not in raw:
                        return self._send(
                            401, {"error": "invalid_client", "error_description": "Client Authentication failed"}
                        )
                    return self._send(
                        200,
                        {
                            "scope": "https://uri.paypal.com/payments/payouts",
                            "access_token": "A21-token",
                            "token_type": "Bearer",
                            "app_id": "APP-1",
                            "expires_in": 32400,
                            "nonce": "n",
                        },
                    )
                if path != "/v1/payments/payouts":
                    return self._send(404, {"name": "RESOURCE_NOT_FOUND"})
                body = json.loads(raw)
                self._record(body)
                if not self._authorized():
                    return self._send(401, {"name": "AUTHENTICATION_FAILURE"})
                if state.hang_creates_s:
                    time.sleep(state.hang_creates_s)
                with state.lock:
                    if state.fail_creates > 0:
                        state.fail_creates -= 1
                        return self._send(
                            500, {"name": "INTERNAL_ERROR", "message": "An internal service error has occurred."}
                        )
                    sender_batch_id = body["sender_batch_header"]["sender_batch_id"]
                    if sender_batch_id in state.by_sender_id:
                        original = state.by_sender_id[sender_batch_id]
                        return self._send(
                            400,
                            {
                                "name": "USER_BUSINESS_ERROR",
                                "message": "User business error.",
                                "debug_id": "d1",
                                "information_link": "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors",
                                "details": [
                                    {
                                        "field": "SENDER_BATCH_ID",
                                        "location": "body",
                                        "issue": "Batch with given sender_batch_id already exists",
                                        "link": [
                                            {
                                                "href": f"http://paypal.test/v1/payments/payouts/{original}",
                                                "rel": "self",
                                                "method": "GET",
                                            }
                                        ],
                                    }
                                ],
                            },
                        )
                    payout_batch_id = f"PB{len(state.batches) + 1:08d}"
                    items = []
                    for index, item in enumerate(body["items"]):
                        final = "FAILED" if "fail" in item["receiver"] else "SUCCESS"
                        items.append({"payout_item_id": f"{payout_batch_id}I{index}", "final": final, "item": item})
                    state.batches[payout_batch_id] = {"header": body["sender_batch_header"], "items": items, "polls": 0}
                    state.by_sender_id[sender_batch_id] = payout_batch_id
                self._send(
                    201,
                    {
                        "batch_header": {
                            "payout_batch_id": payout_batch_id,
                            "batch_status": "PENDING",
                            "sender_batch_header": body["sender_batch_header"],
                        },
                        "links": [
                            {
                                "href": f"http://paypal.test/v1/payments/payouts/{payout_batch_id}",
                                "rel": "self",
                                "method": "GET",
                            }
                        ],
                    },
                )

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                self._record(None)
                if not self._authorized():
                    return self._send(401, {"name": "AUTHENTICATION_FAILURE"})
                batch_id = parts.path.rsplit("/", 1)[-1]
                batch = state.batches.get(batch_id)
                if batch is None:
                    return self._send(404, {"name": "INVALID_RESOURCE_ID"})
                query = parse_qs(parts.query)
                page, size = int(query.get("page", ["1"])[0]), int(query.get("page_size", ["1000"])[0])
                batch["polls"] += 1
                final = batch["polls"] > state.status_after_polls
                items = batch["items"][(page - 1) * size : page * size]
                out = []
                for entry in items:
                    status = entry["final"] if final else "PENDING"
                    record: dict[str, Any] = {
                        "payout_item_id": entry["payout_item_id"],
                        "transaction_status": status,
                        "payout_batch_id": batch_id,
                        "payout_item": entry["item"],
                    }
                    if status == "SUCCESS":
                        record["transaction_id"] = "T" + entry["payout_item_id"]
                    if status == "FAILED":
                        record["errors"] = {"name": "RECEIVER_UNREGISTERED", "message": "Receiver is unregistered"}
                    out.append(record)
                total_pages = max(1, -(-len(batch["items"]) // size))
                self._send(
                    200,
                    {
                        "batch_header": {
                            "payout_batch_id": batch_id,
                            "batch_status": "SUCCESS" if final else "PROCESSING",
                            "sender_batch_header": batch["header"],
                        },
                        "items": out,
                        "total_items": len(batch["items"]),
                        "total_pages": total_pages,
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PaypalServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
