from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from partnerloop.account.rules import (
    Role,
    SessionTimes,
    assignable_roles,
    common_passwords,
    landing_page,
    password_problem,
    safe_next,
    session_is_valid,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
IDLE = timedelta(minutes=120)


@pytest.mark.parametrize(
    ("password", "email", "refused_because"),
    [
        ("short", None, "at least 8"),
        ("password", None, "most common"),
        ("Password1", None, "most common"),
        ("qwertyuiop", None, "most common"),
        ("aaaaaaaaaaaa", None, "too few"),
        ("jane.cooper", "jane.cooper@example.com", "email"),
        ("x" * 300, None, "at most"),
        ("correct horse battery", None, None),
        ("Tr0ub4dor&3-staple", "jane@example.com", None),
    ],
    ids=[
        "fewer than 8 characters is refused",
        "the most common password is refused",
        "common passwords are refused whatever the case",
        "a keyboard walk from the list is refused",
        "one repeated character is refused",
        "the email's local part is refused",
        "an absurdly long password is refused",
        "a passphrase is accepted",
        "a mixed password is accepted",
    ],
)
def test_password_policy(password: str, email: str | None, refused_because: str | None) -> None:
    problem = password_problem(password, email=email)
    if refused_because is None:
        assert problem is None
    else:
        assert problem is not None and refused_because in problem


def test_the_shipped_list_holds_thousands_of_common_passwords() -> None:
    words = common_passwords()
    assert len(words) > 10_000 and "iloveyou" in words and "password1" in words
    assert all(len(word) >= 8 for word in words)


def _times(*, created: timedelta, seen: timedelta, expires: timedelta, ended: bool = False) -> SessionTimes:
    return SessionTimes(NOW - created, NOW - seen, NOW + expires, NOW if ended else None)


@pytest.mark.parametrize(
    ("times", "valid"),
    [
        (_times(created=timedelta(hours=1), seen=timedelta(minutes=5), expires=timedelta(hours=5)), True),
        (_times(created=timedelta(hours=3), seen=timedelta(minutes=121), expires=timedelta(hours=5)), False),
        (_times(created=timedelta(hours=25), seen=timedelta(minutes=1), expires=-timedelta(seconds=1)), False),
        (_times(created=timedelta(hours=1), seen=timedelta(minutes=1), expires=timedelta(hours=5), ended=True), False),
    ],
    ids=[
        "recently used and before its expiry: valid",
        "idle longer than the idle timeout: invalid",
        "past the absolute expiry although active: invalid",
        "ended by logout: invalid",
    ],
)
def test_session_validity(times: SessionTimes, valid: bool) -> None:
    assert session_is_valid(times, NOW, IDLE) is valid


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/manage/partners?program=1", "/manage/partners?program=1"),
        ("//evil.example/x", "/manage"),
        ("https://evil.example/", "/manage"),
        ("/\\evil.example", "/manage"),
        ("", "/manage"),
        (None, "/manage"),
        ("/ok\r\nSet-Cookie: x", "/manage"),
    ],
    ids=[
        "a local path is kept",
        "a protocol-relative URL is dropped",
        "an absolute URL is dropped",
        "a backslash trick is dropped",
        "empty gives the default",
        "missing gives the default",
        "control characters are dropped",
    ],
)
def test_after_login_only_local_paths_are_followed(next_url: str | None, expected: str) -> None:
    assert safe_next(next_url, "/manage") == expected


@pytest.mark.parametrize(
    ("inviter", "roles"),
    [
        (Role.OWNER, [Role.OWNER, Role.ADMIN, Role.MANAGER, Role.VIEWER]),
        (Role.ADMIN, [Role.ADMIN, Role.MANAGER, Role.VIEWER]),
        (Role.MANAGER, []),
        (Role.VIEWER, []),
    ],
    ids=["an owner gives any role", "an admin gives any but owner", "a manager gives none", "a viewer gives none"],
)
def test_roles_an_inviter_may_give(inviter: Role, roles: list[Role]) -> None:
    assert assignable_roles(inviter) == roles


def test_only_viewers_cannot_act_and_only_owners_and_admins_administer() -> None:
    assert [role.can_act for role in Role] == [True, True, True, False]
    assert [role.can_administer for role in Role] == [True, True, False, False]


@pytest.mark.parametrize(
    ("member", "partner", "page"),
    [(True, False, "/manage"), (True, True, "/manage"), (False, True, "/partner"), (False, False, "/account")],
    ids=["a member lands on /manage", "a member and partner too", "a partner lands on /partner", "neither: /account"],
)
def test_landing_page_after_login(member: bool, partner: bool, page: str) -> None:
    assert landing_page(member, partner) == page
