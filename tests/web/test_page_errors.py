"""A browser on a page path gets an error page, never the API's JSON; API clients keep the JSON error shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys
from tests.manage.factories import as_owner

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/manage/no-such-page", "There is no such page."),  # no route at all
        ("/manage/webhooks/01nosuchendpoint0000000000", "No webhook endpoint"),  # a domain error, not a PageError
        ("/partner/no-such-page", "There is no such page."),
    ],
)
def test_a_browser_gets_a_not_found_page_under_manage_and_partner(
    client: TestClient, program: ProgramKeys, path: str, shown: str
) -> None:
    as_owner(client)
    page = client.get(path, headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), page.text[:200]
    assert "Not found" in page.text and shown in page.text


def test_api_clients_keep_the_json_error_shape(client: TestClient, program: ProgramKeys) -> None:
    as_owner(client)
    for path, headers in (("/api/v1/no-such-thing", BROWSER), ("/manage/no-such-page", {"Accept": "*/*"})):
        answer = client.get(path, headers={**headers, **program.headers})
        assert answer.status_code == 404 and answer.json() == {"error": "NotFound", "detail": "No such endpoint."}
