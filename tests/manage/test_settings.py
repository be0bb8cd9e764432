"""Settings: program settings, tracking instructions, API keys shown once, the team with roles."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.models import Member, Program, User
from tests.account.helpers import login
from tests.conftest import ProgramKeys
from tests.manage.factories import (
    PASSWORD,
    add_member,
    as_member,
    as_owner,
    convert,
    form_post,
    make_partner,
    make_plan,
)
from tests.notify.smtp import SmtpRecorder

GOOD = {
    "name": "Acme Partners",
    "currency": "eur",
    "allowed_domains": "acme.test, shop.acme.test",
    "link_params": "ref, via, aff",
    "cookie_days": "60",
    "hold_days": "14",
    "min_payout": "25.50",
    "attribution_model": "first_click",
    "default_plan_id": "",
    "fallback_url": "https://acme.test/partners",
}


def _program(engine: Engine, program_id: str) -> Program:
    with transaction(engine, writes=False) as session:
        found = session.get(Program, program_id)
        assert found is not None
        return found


def test_program_settings_are_saved_from_the_form(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    as_owner(client)
    settings = f"/manage/settings?program={program.id}"
    saved = form_post(client, settings, f"/manage/settings/program?program={program.id}", GOOD)
    assert saved.status_code == 303
    stored = _program(engine, program.id)
    assert (stored.name, stored.currency, stored.cookie_days, stored.hold_days) == ("Acme Partners", "eur", 60, 14)
    assert stored.allowed_domains == ["acme.test", "shop.acme.test"] and stored.link_params == ["ref", "via", "aff"]
    assert stored.min_payout_amount == 2550 and stored.attribution_model == "first_click"
    page = client.get(settings).text
    assert 'value="25.50"' in page and "?aff=CODE" in page and program.publishable_key in page


def test_bad_settings_are_explained_and_change_nothing(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    as_owner(client)
    settings = f"/manage/settings?program={program.id}"
    action = f"/manage/settings/program?program={program.id}"
    cases = [
        ({"cookie_days": "ninety"}, "whole number of days"),
        ({"cookie_days": "0"}, "cookie_days"),
        ({"min_payout": "12.345"}, "at most 2 decimals"),
        ({"currency": "zzz"}, "not an ISO 4217 currency"),
        ({"allowed_domains": ""}, "allowed_domains"),
        ({"link_params": "ref, bad param"}, "not a usable link parameter"),
        ({"attribution_model": "random"}, "attribution_model"),
        ({"fallback_url": "https://elsewhere.test/"}, "elsewhere.test"),
        ({"default_plan_id": "01aaaaaaaaaaaaaaaaaaaaaaaa"}, "No plan"),
    ]
    before = _program(engine, program.id)
    for change, message in cases:
        response = form_post(client, settings, action, {**GOOD, **change})
        assert 400 <= response.status_code < 500, change
        assert message in response.text, (change, response.text[response.text.find('class="error"') :][:300])
        assert 'value="Acme Partners"' in response.text  # what was typed is kept
    after = _program(engine, program.id)
    assert (after.name, after.currency, after.cookie_days, after.allowed_domains) == (
        before.name,
        before.currency,
        before.cookie_days,
        before.allowed_domains,
    )


def test_the_currency_is_fixed_once_money_was_recorded(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    make_plan(client, program)
    jane = make_partner(client, program)
    convert(client, program, jane["referral_code"], "cus_1", 1000, "in_1")
    as_owner(client)
    settings = f"/manage/settings?program={program.id}"
    response = form_post(
        client, settings, f"/manage/settings/program?program={program.id}", {**GOOD, "currency": "eur"}
    )
    assert response.status_code == 409 and "cannot change" in response.text
    assert _program(engine, program.id).currency == "usd"


def test_an_api_key_is_shown_once_works_and_stops_working_when_revoked(
    client: TestClient, program: ProgramKeys
) -> None:
    as_owner(client)
    settings = f"/manage/settings?program={program.id}"
    created = form_post(client, settings, f"/manage/settings/api-keys?program={program.id}", {"name": "Zapier"})
    assert created.status_code == 201 and "it will not be shown again" in created.text
    secret = re.search(r'id="new-key" value="(pl_sk_[^"]+)"', created.text)
    assert secret is not None
    key = secret.group(1)
    assert client.get("/api/v1/program", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    listing = client.get(settings).text
    assert key not in listing and key[:10] in listing and "Zapier" in listing
    key_id = re.search(r"/manage/settings/api-keys/([0-9a-z]{26})/revoke", listing.split("Zapier")[1])
    assert key_id is not None
    revoked = form_post(
        client, settings, f"/manage/settings/api-keys/{key_id.group(1)}/revoke?program={program.id}", {}
    )
    assert revoked.status_code == 303
    assert client.get("/api/v1/program", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert client.get("/api/v1/program", headers=program.headers).status_code == 200  # the other key still works
    nameless = form_post(client, settings, f"/manage/settings/api-keys?program={program.id}", {"name": " "})
    assert nameless.status_code == 422 and "Give the key a name" in nameless.text


def test_a_manager_reads_settings_but_cannot_change_them(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    as_member(client, engine, program, "manager")
    settings = f"/manage/settings?program={program.id}"
    page = client.get(settings)
    assert page.status_code == 200 and "Only owners and admins" in page.text and "Create key" not in page.text
    for action, data in [
        (f"/manage/settings/program?program={program.id}", GOOD),
        (f"/manage/settings/api-keys?program={program.id}", {"name": "Mine"}),
        (f"/manage/settings/team/invite?program={program.id}", {"email": "x@acme.test", "role": "owner"}),
    ]:
        response = form_post(client, settings, action, data)
        assert response.status_code == 403, action
    assert _program(engine, program.id).name == "Acme"


def test_an_owner_invites_a_teammate_who_joins_with_the_role(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    as_owner(mail_client)
    settings = f"/manage/settings?program={program.id}"
    sent = form_post(
        mail_client,
        settings,
        f"/manage/settings/team/invite?program={program.id}",
        {"email": "Max@Acme.test", "role": "manager"},
    )
    assert sent.status_code == 303
    assert "max@acme.test as manager" in mail_client.get(settings).text
    message = smtp.wait_for(to="max@acme.test", subject="invited you to Acme")
    newcomer = TestClient(mail_client.app, base_url="http://testserver")
    link = message.link("/invite/")
    joined = form_post(newcomer, link, link, {"name": "Max", "password": "max's own passphrase"})
    assert joined.status_code == 303 and joined.headers["location"] == f"/manage?program={program.id}"
    assert newcomer.get(joined.headers["location"]).status_code == 200
    with transaction(engine, writes=False) as session:
        role = session.execute(
            select(Member.role).join(User, User.id == Member.user_id).where(User.email == "max@acme.test")
        ).scalar_one()
        verified = session.execute(select(User.email_verified_at).where(User.email == "max@acme.test")).scalar_one()
    assert role == "manager" and verified is not None


def test_an_invitation_for_an_existing_account_asks_it_to_log_in(
    mail_client: TestClient, program: ProgramKeys, other_program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    as_owner(mail_client)
    settings = f"/manage/settings?program={program.id}"
    form_post(
        mail_client,
        settings,
        f"/manage/settings/team/invite?program={program.id}",
        {"email": "owner-other@example.com", "role": "viewer"},
    )
    link = smtp.wait_for(to="owner-other@example.com").link("/invite/")
    other = TestClient(mail_client.app, base_url="http://testserver")
    assert "Log in to accept" in other.get(link).text
    assert login(other, "owner-other@example.com", PASSWORD, next=link).headers["location"] == link
    accepted = form_post(other, link, link, {})
    assert accepted.status_code == 303
    assert {row for row in other.get("/manage").text.split() if "Acme" in row}  # the switcher lists both programs
    assert other.get(f"/manage?program={program.id}").status_code == 200
    # The invitee is a viewer of Acme: reading yes, acting no.
    assert (
        form_post(
            other, f"/manage/plans?program={program.id}", f"/manage/groups?program={program.id}", {"name": "X"}
        ).status_code
        == 403
    )


def test_roles_are_changed_within_what_the_actor_may_give_and_the_last_owner_stays(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    add_member(engine, program.workspace_id, "viv@acme.test", "viewer")
    as_member(client, engine, program, "admin")
    settings = f"/manage/settings?program={program.id}"
    with transaction(engine, writes=False) as session:
        members = dict(session.execute(select(User.email, Member.id).join(User, User.id == Member.user_id)).all())  # type: ignore[arg-type]
    promoted = form_post(
        client,
        settings,
        f"/manage/settings/team/{members['viv@acme.test']}/role?program={program.id}",
        {"role": "manager"},
    )
    assert promoted.status_code == 303
    to_owner = form_post(
        client,
        settings,
        f"/manage/settings/team/{members['viv@acme.test']}/role?program={program.id}",
        {"role": "owner"},
    )
    assert to_owner.status_code == 403
    demote_owner = form_post(
        client,
        settings,
        f"/manage/settings/team/{members['owner-acme@example.com']}/role?program={program.id}",
        {"role": "viewer"},
    )
    assert demote_owner.status_code == 403
    invite_owner = form_post(
        client,
        settings,
        f"/manage/settings/team/invite?program={program.id}",
        {"email": "boss@acme.test", "role": "owner"},
    )
    assert invite_owner.status_code == 403 and "cannot invite an owner" in invite_owner.text
    removed = form_post(
        client, settings, f"/manage/settings/team/{members['viv@acme.test']}/remove?program={program.id}", {}
    )
    assert removed.status_code == 303

    owner = TestClient(client.app, base_url="http://testserver")
    as_owner(owner)
    last = form_post(
        owner,
        settings,
        f"/manage/settings/team/{members['owner-acme@example.com']}/role?program={program.id}",
        {"role": "admin"},
    )
    assert last.status_code == 422 and "at least one owner" in last.text
    with transaction(engine, writes=False) as session:
        roles = dict(session.execute(select(User.email, Member.role).join(User, User.id == Member.user_id)).all())  # type: ignore[arg-type]
    assert roles == {"owner-acme@example.com": "owner", f"admin-{program.id[-6:]}@acme.test": "admin"}
