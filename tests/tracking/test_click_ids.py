"""Signed click ids: what they carry, and that nothing else passes for one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ulid import ULID

from partnerloop.kit.ids import new_id
from partnerloop.tracking.click_ids import SIGNED_LENGTH, ClickIds, looks_like_click_id

LINK_ID = new_id()
KEYS = ClickIds("the server's secret")


def test_a_new_id_carries_its_link_and_time_and_verifies() -> None:
    before = datetime.now(UTC)
    click_id = KEYS.new(LINK_ID.encode()).decode()
    assert len(click_id) == SIGNED_LENGTH == 64
    assert click_id == click_id.lower() and click_id.isalnum()
    signed = KEYS.verify(click_id)
    assert signed is not None
    assert signed.link_id == LINK_ID
    assert before - timedelta(milliseconds=2) <= signed.clicked_at <= datetime.now(UTC)
    assert looks_like_click_id(click_id)


def test_sign_puts_the_time_of_the_ulid_in_the_id() -> None:
    at = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    base = str(ULID.from_datetime(at)).lower().encode()
    signed = KEYS.verify(KEYS.sign(base, LINK_ID.encode()).decode())
    assert signed is not None and signed.clicked_at == at


def _flip(text: str, index: int) -> str:
    return text[:index] + ("0" if text[index] != "0" else "1") + text[index + 1 :]


GOOD = KEYS.new(LINK_ID.encode()).decode()


@pytest.mark.parametrize(
    "click_id",
    [
        pytest.param(_flip(GOOD, 3), id="a changed time is refused"),
        pytest.param(_flip(GOOD, 20), id="a changed random part is refused"),
        pytest.param(GOOD[:26] + new_id() + GOOD[52:], id="another link's id under the same MAC is refused"),
        pytest.param(_flip(GOOD, 63), id="a changed MAC is refused"),
        pytest.param(GOOD.upper(), id="the same id upper-cased is refused"),
        pytest.param(GOOD[:63], id="a shortened id is refused"),
        pytest.param(ClickIds("another key").new(LINK_ID.encode()).decode(), id="an id of another key is refused"),
        pytest.param(new_id(), id="an old 26-character id carries no signature"),
        pytest.param(GOOD[:60] + "é" * 4, id="non-ASCII text is refused"),
        pytest.param("", id="empty text is refused"),
    ],
)
def test_anything_but_an_intact_id_of_this_key_does_not_verify(click_id: str) -> None:
    assert KEYS.verify(click_id) is None


def test_a_link_id_that_is_not_a_ulid_gets_a_plain_unsigned_id() -> None:
    click_id = KEYS.new(b"not-a-ulid").decode()
    assert len(click_id) == 26 and KEYS.verify(click_id) is None
