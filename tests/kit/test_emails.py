"""One spelling per mailbox: what self-referral checks in alerts and referrals compare."""

from __future__ import annotations

import pytest

from partnerloop.kit.emails import email_key, normalize_email


@pytest.mark.parametrize(
    ("email", "normalized"),
    [
        pytest.param("Bob@Example.com", "bob@example.com", id="lower-cased"),
        pytest.param(" bob@example.com ", "bob@example.com", id="trimmed"),
        pytest.param("bob+aff@example.com", "bob@example.com", id="without a plus tag"),
        pytest.param("b.o.b@example.com", "b.o.b@example.com", id="dots kept outside gmail"),
        pytest.param("B.o.b+x@googlemail.com", "bob@gmail.com", id="gmail without dots, googlemail is gmail"),
        pytest.param("not-an-address", "not-an-address", id="no at sign: lower-cased only"),
    ],
)
def test_normalize_email(email: str, normalized: str) -> None:
    assert normalize_email(email) == normalized


def test_one_key_per_mailbox() -> None:
    assert email_key("Ana.Banana+shop@googlemail.com") == email_key("anabanana@gmail.com")
    assert email_key("ana@example.com") != email_key("anna@example.com")
