"""One HTTP attempt of a webhook delivery: resolve the host, refuse non-public addresses, connect to the
address that was checked (pinned: the URL names the IP, the Host header and TLS SNI name the host, so a
second DNS answer cannot swap in 127.0.0.1), never follow a redirect, stop at a deadline and a size.

Hand-written pinning because httpx has no resolver hook; the request extension `sni_hostname` is
httpcore's documented way to set the TLS server name (certificates are still verified against it)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import httpx

from partnerloop.webhook.rules import address_problem, url_parts, url_problem

RESPONSE_LIMIT_BYTES = 64 * 1024  # read at most this much of an answer; the rest is cut
EXCERPT_CHARS = 2000
USER_AGENT = "Partnerloop-Webhooks/1.0"


class UnsafeUrl(Exception):
    """The URL's host is (or resolves to) an address a webhook may not reach."""


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    response_excerpt: str | None
    duration_ms: int
    error: str | None
    retry_after: str | None = None
    address: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def resolve_checked(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for `host`: every address it resolves to must be public (unless
    `allow_private`), else UnsafeUrl; socket.gaierror when it does not resolve."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        addresses = [str(literal)]
    except ValueError:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeUrl(f"{host} does not resolve to any address.")
    if not allow_private:
        for address in addresses:
            problem = address_problem(address)
            if problem is not None:
                raise UnsafeUrl(f"{host} resolves to {address}, which {problem}.")
    return addresses[0]


def check_url(url: str, *, allow_private: bool) -> str | None:
    """Why `url` may not receive webhooks now (shape, DNS, address); None when it may."""
    problem = url_problem(url)
    if problem is not None:
        return f"The URL {problem}."
    parts = url_parts(url)
    try:
        resolve_checked(parts.host, parts.port, allow_private=allow_private)
    except UnsafeUrl as error:
        return str(error)
    except (OSError, UnicodeError):
        return f"The host {parts.host} does not resolve."
    return None


class _Clients:
    """Keep-alive clients: one for plain HTTP (the Host header tells virtual hosts apart on a shared
    connection), one per host name for HTTPS (a pooled TLS connection belongs to the name it was made for)."""

    MAX_TLS_CLIENTS = 32

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plain: httpx.Client | None = None
        self._tls: OrderedDict[str, httpx.Client] = OrderedDict()

    def get(self, scheme: str, host: str, timeout: float) -> httpx.Client:
        with self._lock:
            if scheme == "http":
                if self._plain is None:
                    self._plain = self._new(timeout)
                return self._plain
            client = self._tls.pop(host, None) or self._new(timeout)
            self._tls[host] = client
            while len(self._tls) > self.MAX_TLS_CLIENTS:
                _name, oldest = self._tls.popitem(last=False)
                oldest.close()
            return client

    @staticmethod
    def _new(timeout: float) -> httpx.Client:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=30)
        return httpx.Client(timeout=httpx.Timeout(timeout), limits=limits, follow_redirects=False, trust_env=False)


_clients = _Clients()


def _ip_url(scheme: str, address: str, port: int, target: str) -> str:
    shown = f"[{address}]" if ":" in address else address
    return f"{scheme}://{shown}:{port}{target}"


def send(url: str, headers: dict[str, str], body: bytes, *, timeout: float, allow_private: bool) -> AttemptResult:
    """POST `body` to `url`; never raises for anything the receiver or the network does."""
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    problem = url_problem(url)
    if problem is not None:
        return AttemptResult(None, None, 0, f"Refused: the URL {problem}.")
    parts = url_parts(url)
    try:
        address = resolve_checked(parts.host, parts.port, allow_private=allow_private)
    except UnsafeUrl as error:
        return AttemptResult(None, None, elapsed_ms(), f"Refused: {error}")
    except (OSError, UnicodeError) as error:
        return AttemptResult(None, None, elapsed_ms(), f"DNS: {parts.host} does not resolve ({error}).")
    default_port = 443 if parts.scheme == "https" else 80
    host_header = parts.host if parts.port == default_port else f"{parts.host}:{parts.port}"
    if ":" in parts.host:
        host_header = f"[{parts.host}]" if parts.port == default_port else f"[{parts.host}]:{parts.port}"
    request_headers = {
        **headers,
        "host": host_header,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    client = _clients.get(parts.scheme, parts.host, timeout)
    extensions: dict[str, object] = {}
    if parts.scheme == "https":
        extensions["sni_hostname"] = parts.host
    deadline = started + timeout
    try:
        request = client.build_request(
            "POST",
            _ip_url(parts.scheme, address, parts.port, parts.target),
            headers=request_headers,
            content=body,
            extensions=extensions,
            timeout=httpx.Timeout(timeout),
        )
        response = client.send(request, stream=True)
        try:
            received = bytearray()
            cut = False
            for chunk in response.iter_raw(8192):
                received.extend(chunk)
                if len(received) >= RESPONSE_LIMIT_BYTES:
                    cut = True
                    break
                if time.monotonic() > deadline:
                    return AttemptResult(
                        response.status_code, None, elapsed_ms(), f"Timeout: no full answer within {timeout:g} s.",
                        address=address,
                    )  # fmt: skip
        finally:
            response.close()
    except httpx.TimeoutException:
        return AttemptResult(None, None, elapsed_ms(), f"Timeout: no answer within {timeout:g} s.", address=address)
    except httpx.HTTPError as error:
        return AttemptResult(None, None, elapsed_ms(), f"{type(error).__name__}: {error}", address=address)
    excerpt = bytes(received[:RESPONSE_LIMIT_BYTES]).decode("utf-8", "replace")[:EXCERPT_CHARS]
    error_text = None
    if cut:
        error_text = (
            f"The answer was cut at {RESPONSE_LIMIT_BYTES} bytes." if not 200 <= response.status_code < 300 else None
        )
    if 300 <= response.status_code < 400:
        error_text = f"Redirect to {response.headers.get('location', '?')} not followed: a redirect is a failure."
    return AttemptResult(
        response.status_code,
        excerpt,
        elapsed_ms(),
        error_text,
        retry_after=response.headers.get("retry-after"),
        address=address,
    )
