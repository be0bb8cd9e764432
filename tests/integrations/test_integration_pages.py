"""/manage/integrations: connect, change and disconnect Slack and HubSpot from the dashboard (CSRF-checked,
secrets shown masked), the last sync and the last error shown; bad input is explained and stores nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.models import HubSpotConnection, SlackConnection
from partnerloop.webhook.service import configure_webhooks
from tests.commission.factories import make_partner
from tests.conftest import ProgramKeys, make_settings
from tests.integrations.hubspot_server import HubSpotServer, Refusal
from tests.manage.factories import as_member, as_owner, form_post
from tests.webhook.conftest import run_jobs

TOKEN = "pat-eu1-aaaa-bbbb-secret-7788"


@pytest.fixture
def hubspot() -> Iterator[HubSpotServer]:
    server = HubSpotServer().start()
    yield server
    server.stop()


@pytest.fixture
def api(engine: Engine, database_url: str, hubspot: HubSpotServer) -> Iterator[TestClient]:
    settings = make_settings(database_url, allow_private_integrations=True, run_jobs_in_process=False,
                             hubspot_api_base=hubspot.url)  # fmt: skip
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield client
    configure_webhooks(None)


def _rows(engine: Engine, model: type) -> list[object]:
    with transaction(engine, writes=False) as session:
        return list(session.execute(select(model)).scalars())


def test_connect_both_see_the_sync_and_disconnect(
    api: TestClient, program: ProgramKeys, engine: Engine, hubspot: HubSpotServer
) -> None:
    as_owner(api)
    page = f"/manage/integrations?program={program.id}"
    listing = api.get(page)
    assert listing.status_code == 200 and listing.text.count("Not connected.") == 2
    assert 'href="/manage/integrations?program=' in listing.text  # the nav link
    action = f"/manage/integrations/hubspot?program={program.id}"
    assert form_post(api, page, action, {"access_token": TOKEN}).status_code == 303
    slack = [("webhook_url", "http://127.0.0.1:9/services/x"), ("events", "sale.created"), ("sale_min_amount", "500")]
    assert form_post(api, page, f"/manage/integrations/slack?program={program.id}", slack).status_code == 303
    shown = api.get(page).text
    assert "pat-…7788" in shown and TOKEN not in shown and "/services/x" not in shown and "none yet" in shown
    (stored,) = _rows(engine, SlackConnection)
    assert stored.events == ["sale.created"] and stored.sale_min_amount == 500  # type: ignore[attr-defined]

    hubspot.refusals = [Refusal(403)]
    make_partner(api, program)
    run_jobs(engine)
    assert "Last error: " in api.get(page).text and "HubSpot answered 403" in api.get(page).text
    make_partner(api, program)
    run_jobs(engine)
    shown = api.get(page).text
    assert re.search(r"Last sync: \d{1,2} \w{3} \d{4}", shown) and "HubSpot answered 403" not in shown

    for name in ("hubspot", "slack"):
        assert form_post(api, page, f"/manage/integrations/{name}/delete?program={program.id}", {}).status_code == 303
    assert _rows(engine, HubSpotConnection) == [] and _rows(engine, SlackConnection) == []


def test_bad_input_is_explained_and_a_viewer_cannot_connect(
    api: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    as_owner(api)
    page = f"/manage/integrations?program={program.id}"
    bad = form_post(api, page, f"/manage/integrations/hubspot?program={program.id}", {"access_token": "nope"})
    assert bad.status_code == 422 and "access_token:" in bad.text
    amount = [("webhook_url", "http://127.0.0.1:9/s"), ("sale_min_amount", "lots")]
    bad = form_post(api, page, f"/manage/integrations/slack?program={program.id}", amount)
    assert bad.status_code == 422 and "sale_min_amount" in bad.text
    no_csrf = api.post(f"/manage/integrations/hubspot?program={program.id}", data={"access_token": TOKEN},
                       follow_redirects=False)  # fmt: skip
    assert no_csrf.status_code in (400, 403)
    as_member(api, engine, program, "viewer")
    assert "Connect HubSpot" not in api.get(page).text
    refused = form_post(api, page, f"/manage/integrations/hubspot?program={program.id}", {"access_token": TOKEN})
    assert refused.status_code == 403
    assert _rows(engine, HubSpotConnection) == [] and _rows(engine, SlackConnection) == []
