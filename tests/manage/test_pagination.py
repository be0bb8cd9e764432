"""Manager lists past one page: the pager counts the pages, its links keep the list's filters, and a page
number out of range shows the nearest page that exists."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl

from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys
from tests.manage.factories import as_owner, convert, make_partner, make_plan

PER_PAGE = 50  # partners.PER_PAGE and commissions.PER_PAGE


def _pager_links(page: str) -> dict[str, str]:
    """rel ("prev" / "next") -> href of the pager's links."""
    nav = page.split('<nav class="pager"', 1)[1].split("</nav>", 1)[0]
    return {rel: html.unescape(href) for href, rel in re.findall(r'<a href="([^"]+)" rel="(prev|next)"', nav)}


def _query(href: str) -> tuple[str, dict[str, str]]:
    path, _, query = href.partition("?")
    return path, dict(parse_qsl(query))


def _partner_names(page: str) -> list[str]:
    table = page.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'/manage/partners/[0-9a-z]{26}\?program=[0-9a-z]+">([^<]+)</a>', table)


def test_the_partner_list_pages_through_a_search_and_keeps_it(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    for index in range(PER_PAGE + 3):
        make_partner(client, program, name=f"Paged {index:02d}", email=f"paged{index:02d}@page.test")
    make_partner(client, program, name="Other One", email="other@elsewhere.test")
    as_owner(client)

    first = client.get(f"/manage/partners?program={program.id}&q=page.test&sort=name").text
    assert "Page 1 of 2" in first
    assert _partner_names(first) == [f"Paged {index:02d}" for index in range(PER_PAGE)]
    links = _pager_links(first)
    assert set(links) == {"next"}
    kept = {"program": program.id, "q": "page.test", "sort": "name"}
    assert _query(links["next"]) == ("/manage/partners", {**kept, "page": "2"})

    second = client.get(links["next"]).text
    assert "Page 2 of 2" in second
    assert _partner_names(second) == ["Paged 50", "Paged 51", "Paged 52"]  # the search still applies
    assert set(_pager_links(second)) == {"prev"}
    assert _query(_pager_links(second)["prev"]) == ("/manage/partners", {**kept, "page": "1"})

    beyond = client.get(f"/manage/partners?program={program.id}&q=page.test&sort=name&page=9").text
    assert "Page 2 of 2" in beyond and _partner_names(beyond) == ["Paged 50", "Paged 51", "Paged 52"]
    unfiltered = client.get(f"/manage/partners?program={program.id}").text
    assert "Page 1 of 2" in unfiltered
    one_page = client.get(f"/manage/partners?program={program.id}&q=elsewhere").text
    assert '<nav class="pager"' not in one_page and _partner_names(one_page) == ["Other One"]


def test_the_commission_queue_pages_through_a_partners_commissions(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program, rules=[{"event": "sale", "reward": {"type": "percent", "rate_bps": 1000}}])
    busy = make_partner(client, program, name="Busy", email="busy@page.test")
    quiet = make_partner(client, program, name="Quiet", email="quiet@page.test")
    ids = [convert(client, program, busy["referral_code"], f"cus_{index}", 1000, f"in_{index}")["commissions"][0]["id"]
           for index in range(PER_PAGE + 2)]  # fmt: skip
    quiet_id = convert(client, program, quiet["referral_code"], "cus_quiet", 1000, "in_quiet")["commissions"][0]["id"]
    as_owner(client)

    first = client.get(f"/manage/commissions?program={program.id}&partner_id={busy['id']}").text
    assert "Page 1 of 2" in first and quiet_id not in first
    next_page = _pager_links(first)["next"]
    assert _query(next_page) == (
        "/manage/commissions",
        {"program": program.id, "partner_id": busy["id"], "status": "queue", "page": "2"},
    )
    second = client.get(next_page).text
    assert "Page 2 of 2" in second and quiet_id not in second
    shown = [commission_id for commission_id in ids if commission_id in first or commission_id in second]
    assert sorted(shown) == sorted(ids)  # every one of the partner's commissions, on one page or the other
    assert not any(commission_id in first and commission_id in second for commission_id in ids)
    assert "prev" in _pager_links(second) and "next" not in _pager_links(second)
