"""PayPal Payouts API over httpx: OAuth 2.0 client credentials, batch create with `sender_batch_id` as
the idempotency key (PayPal refuses a sender_batch_id used in the last 30 days and links the original),
and batch status polling (GET /v1/payments/payouts/{payout_batch_id}, paged)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from partnerloop.config import Settings


class PaypalError(Exception):
    """A failure worth retrying (network, timeout, 5xx, 429): the same sender_batch_id is safe to resend."""


class PaypalRejected(Exception):
    """PayPal refused the batch for good (4xx other than a duplicate): its payouts failed."""


class PaypalNotConfigured(Exception):
    pass


@dataclass(frozen=True)
class BatchItem:
    sender_item_id: str  # our payout id
    receiver: str
    amount: str  # decimal text
    currency: str  # upper case
    note: str


@dataclass(frozen=True)
class ItemStatus:
    sender_item_id: str
    payout_item_id: str
    transaction_id: str | None
    transaction_status: str
    error: str | None


class PaypalClient:
    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.paypal_client_id or not settings.paypal_client_secret:
            raise PaypalNotConfigured("Set PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET to pay through PayPal.")
        self.settings = settings
        self.http = httpx.Client(
            base_url=settings.paypal_api_base.rstrip("/"), timeout=settings.payout_http_timeout_s, transport=transport
        )
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> PaypalClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:  # timeouts, refused connections, resets
            raise PaypalError(f"PayPal {method} {path}: {type(error).__name__}: {error}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise PaypalError(f"PayPal {method} {path} answered {response.status_code}: {response.text[:300]}")
        return response

    def token(self) -> str:
        if self._token is None:
            response = self._request(
                "POST",
                "/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(self.settings.paypal_client_id or "", self.settings.paypal_client_secret or ""),
                headers={"Accept": "application/json"},
            )
            if response.status_code != 200:
                raise PaypalError(f"PayPal OAuth answered {response.status_code}: {response.text[:300]}")
            self._token = str(response.json()["access_token"])
        return self._token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"}

    def create_batch(self, sender_batch_id: str, items: list[BatchItem], subject: str) -> str:
        """Create the batch (or find the one made before with this sender_batch_id); PayPal's payout_batch_id."""
        body = {
            "sender_batch_header": {
                "sender_batch_id": sender_batch_id,
                "email_subject": subject,
                "recipient_type": "EMAIL",
            },
            "items": [
                {
                    "recipient_type": "EMAIL",
                    "amount": {"value": item.amount, "currency": item.currency},
                    "receiver": item.receiver,
                    "note": item.note,
                    "sender_item_id": item.sender_item_id,
                }
                for item in items
            ],
        }
        response = self._request(
            "POST", "/v1/payments/payouts", json=body, headers={**self._headers(), "PayPal-Request-Id": sender_batch_id}
        )
        data: dict[str, Any] = response.json() if response.content else {}
        if response.status_code in (200, 201):
            return str(data["batch_header"]["payout_batch_id"])
        existing = _duplicate_batch_link(data)
        if existing is not None:
            return existing
        if response.status_code == 401:
            self._token = None
            raise PaypalError("PayPal refused the access token (401); will retry with a new one.")
        raise PaypalRejected(
            f"PayPal refused the batch ({response.status_code} {data.get('name', '')}): {_issues(data)}"
        )

    def get_batch(self, payout_batch_id: str) -> tuple[str, list[ItemStatus]]:
        """(batch_status, every item's status), reading all pages."""
        statuses: list[ItemStatus] = []
        page = 1
        while True:
            response = self._request(
                "GET",
                f"/v1/payments/payouts/{payout_batch_id}",
                params={"page": page, "page_size": 1000, "total_required": "true"},
                headers=self._headers(),
            )
            if response.status_code != 200:
                raise PaypalError(
                    f"PayPal GET batch {payout_batch_id} answered {response.status_code}: {response.text[:300]}"
                )
            data = response.json()
            batch_status = str(data["batch_header"]["batch_status"])
            for item in data.get("items", []):
                errors = item.get("errors")
                statuses.append(
                    ItemStatus(
                        sender_item_id=str(item["payout_item"]["sender_item_id"]),
                        payout_item_id=str(item["payout_item_id"]),
                        transaction_id=item.get("transaction_id"),
                        transaction_status=str(item.get("transaction_status", "PENDING")),
                        error=(errors.get("message") or errors.get("name")) if isinstance(errors, dict) else None,
                    )
                )
            total_pages = int(data.get("total_pages") or 1)
            if page >= total_pages:
                return batch_status, statuses
            page += 1


def _issues(data: dict[str, Any]) -> str:
    details = data.get("details") or []
    text = "; ".join(
        f"{detail.get('field', '')}: {detail.get('issue', '')}" for detail in details if isinstance(detail, dict)
    )
    return text or str(data.get("message", ""))


def _duplicate_batch_link(data: dict[str, Any]) -> str | None:
    """The payout_batch_id in the HATEOAS link of a 'sender_batch_id already used' error, if that is what it is."""
    details = [detail for detail in data.get("details") or [] if isinstance(detail, dict)]
    if not any(str(detail.get("field", "")).upper() == "SENDER_BATCH_ID" for detail in details):
        return None
    links = list(data.get("links") or [])
    for detail in details:
        links += list(detail.get("link") or detail.get("links") or [])
    for link in links:
        href = str(link.get("href", ""))
        if "/v1/payments/payouts/" in href:
            return href.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    return None
