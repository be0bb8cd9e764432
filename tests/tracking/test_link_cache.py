"""The link cache follows the database: at once for changes made in this process, within a second for
changes made by another process (here: SQL written straight to the database, as another process would)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, update

from partnerloop.app import create_app
from partnerloop.kit.ids import new_id
from partnerloop.kit.time import utc_now
from partnerloop.models import Link, Program
from tests.conftest import ProgramKeys, make_settings
from tests.tracking.helpers import eventually, make_link, make_partner

ANOTHER_PROCESS_DEADLINE_S = 1.0


def _status(client: TestClient, key: str) -> int:
    return client.get(f"/go/{key}", follow_redirects=False).status_code


def _location(client: TestClient, key: str) -> str:
    return str(client.get(f"/go/{key}", follow_redirects=False).headers.get("location", ""))


def _within_a_second(client: TestClient, check: object) -> float:
    started = time.monotonic()
    eventually(check, timeout=ANOTHER_PROCESS_DEADLINE_S)  # type: ignore[arg-type]
    return time.monotonic() - started


def test_a_deleted_link_stops_redirecting_at_once(client: TestClient, program: ProgramKeys) -> None:
    link = make_link(client, program, key="gone")
    assert _status(client, "gone") == 302
    assert client.delete(f"/api/v1/links/{link['id']}", headers=program.headers).status_code == 204
    assert _status(client, "gone") == 404


def test_a_changed_destination_applies_at_once(client: TestClient, program: ProgramKeys) -> None:
    link = make_link(client, program, "https://acme.test/old", key="moving")
    assert _location(client, "moving").startswith("https://acme.test/old?pl_cid=")
    response = client.patch(f"/api/v1/links/{link['id']}", json={"destination_url": "https://acme.test/new?x=1"},
                            headers=program.headers)  # fmt: skip
    assert response.status_code == 200, response.text
    assert _location(client, "moving").startswith("https://acme.test/new?x=1&pl_cid=")


def test_a_new_link_redirects_at_once(client: TestClient, program: ProgramKeys) -> None:
    partner_id = make_partner(client, program)
    assert _status(client, "fresh") == 404
    make_link(client, program, key="fresh", partner_id=partner_id)
    assert _status(client, "fresh") == 302


def test_a_destination_changed_by_another_process_applies_within_a_second(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    make_link(client, program, "https://acme.test/old", key="elsewhere")
    assert _location(client, "elsewhere").startswith("https://acme.test/old?")
    with engine.begin() as connection:
        connection.execute(
            update(Link)
            .where(Link.key == "elsewhere")
            .values(destination_url="https://acme.test/new", updated_at=utc_now())
        )
    _within_a_second(client, lambda: _location(client, "elsewhere").startswith("https://acme.test/new?pl_cid="))


def test_links_created_and_deleted_by_another_process_apply_within_a_second(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    partner_id = make_partner(client, program)
    with engine.begin() as connection:
        connection.execute(
            insert(Link).values(id=new_id(), program_id=program.id, partner_id=partner_id, key="remote",
                                destination_url="https://acme.test/remote", created_at=utc_now(), updated_at=utc_now())
        )  # fmt: skip
    _within_a_second(client, lambda: _status(client, "remote") == 302)
    with engine.begin() as connection:
        now = utc_now()
        connection.execute(update(Link).where(Link.key == "remote").values(deleted_at=now, updated_at=now))
    _within_a_second(client, lambda: _status(client, "remote") == 404)


def test_a_link_off_the_programs_new_allowed_domains_stops_redirecting(
    client: TestClient, program: ProgramKeys
) -> None:
    make_link(client, program, "https://acme.test/a", key="domain-a")
    response = client.patch("/api/v1/program", json={"allowed_domains": ["acme.test", "beta.test"]},
                            headers=program.headers)  # fmt: skip
    assert response.status_code == 200, response.text
    make_link(client, program, "https://beta.test/b", key="domain-b")

    response = client.patch("/api/v1/program", json={"allowed_domains": ["acme.test"]}, headers=program.headers)
    assert response.status_code == 200, response.text
    _within_a_second(client, lambda: _status(client, "domain-b") == 404)
    assert _status(client, "domain-a") == 302
    assert "beta.test" not in client.get("/go/domain-b", follow_redirects=False).text

    client.patch("/api/v1/program", json={"allowed_domains": ["acme.test", "beta.test"]}, headers=program.headers)
    _within_a_second(client, lambda: _status(client, "domain-b") == 302)


def test_a_changed_cookie_window_applies_to_the_cookie(client: TestClient, program: ProgramKeys) -> None:
    make_link(client, program, key="window")
    response = client.patch("/api/v1/program", json={"cookie_days": 30}, headers=program.headers)
    assert response.status_code == 200, response.text

    def max_age_is_30_days() -> bool:
        cookie = client.get("/go/window", follow_redirects=False).headers["set-cookie"]
        return f"Max-Age={30 * 86400};" in cookie

    _within_a_second(client, max_age_is_30_days)


def test_a_link_deleted_in_another_program_does_not_touch_this_one(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys, engine: Engine
) -> None:
    mine = make_link(client, program, key="mine")
    theirs = make_link(client, other_program, "https://other.test/", key="theirs",
                       partner_id=make_partner(client, other_program, "o@example.com"))  # fmt: skip
    assert client.delete(f"/api/v1/links/{theirs['id']}", headers=other_program.headers).status_code == 204
    assert client.delete(f"/api/v1/links/{mine['id']}", headers=other_program.headers).status_code == 404
    assert _status(client, "mine") == 302
    assert _status(client, "theirs") == 404
    with engine.begin() as connection:  # a program with no links changing is harmless to the others
        connection.execute(update(Program).where(Program.id == other_program.id).values(updated_at=utc_now()))
    time.sleep(0.3)
    assert _status(client, "mine") == 302


def test_a_restarted_process_loads_every_live_link_and_no_deleted_one(
    client: TestClient, program: ProgramKeys, database_url: str
) -> None:
    live = make_link(client, program, key="live")
    dead = make_link(client, program, key="dead", partner_id=live["partner_id"])
    client.delete(f"/api/v1/links/{dead['id']}", headers=program.headers)
    with TestClient(create_app(make_settings(database_url))) as restarted:
        assert _status(restarted, "live") == 302
        assert _status(restarted, "dead") == 404
