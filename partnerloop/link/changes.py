"""Who in this process hears that a link changed, right after the commit.

The link cache that serves /go/{key} belongs to tracking, which depends on links; so tracking
subscribes here instead of link/service calling into tracking (which would be an import circle).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("partnerloop.link")

_listeners: list[Callable[[str], None]] = []


def subscribe(listener: Callable[[str], None]) -> None:
    """Call `listener(key)` (blocking; from a worker thread, after the commit) for every link change."""
    _listeners.append(listener)


def unsubscribe(listener: Callable[[str], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def link_changed(key: str) -> None:
    """Tell every listener that link `key` changed; a failing listener does not stop the others."""
    for listener in list(_listeners):
        try:
            listener(key)
        except Exception:  # the cache's poll repairs it within a second; the committed change stands
            log.exception("link change listener failed for key %r", key)
