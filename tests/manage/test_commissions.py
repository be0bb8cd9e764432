"""The commission review queue: filters, bulk approve / hold / reject, CSV export."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.models import Commission
from tests.conftest import ProgramKeys
from tests.manage.factories import as_member, as_owner, convert, form_post, make_partner, make_plan


def _statuses(engine: Engine) -> dict[str, str]:
    with transaction(engine, writes=False) as session:
        return dict(session.execute(select(Commission.id, Commission.status)).all())  # type: ignore[arg-type]


def _sale_commissions(client: TestClient, program: ProgramKeys) -> tuple[list[str], dict[str, str]]:
    make_plan(client, program, rules=[{"event": "sale", "reward": {"type": "percent", "rate_bps": 1000}}])
    jane = make_partner(client, program, name="Jane", email="jane@p.test")
    evil = make_partner(client, program, name='=HYPERLINK("http://x")', email="evil@p.test")
    ids = []
    for index, partner in enumerate([jane, jane, evil]):
        sale = convert(client, program, partner["referral_code"], f"cus_{index}", 10000 * (index + 1), f"in_{index}")
        ids.append(sale["commissions"][0]["id"])
    return ids, {"jane": jane["id"], "evil": evil["id"]}


def test_the_queue_shows_pending_commissions_and_decides_them_in_bulk(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    ids, _partners = _sale_commissions(client, program)
    as_owner(client)
    queue = f"/manage/commissions?program={program.id}"
    page = client.get(queue)
    assert page.status_code == 200 and all(commission_id in page.text for commission_id in ids)
    assert "10% of 100.00 USD" in page.text or "100.00 USD" in page.text
    approved = form_post(
        client, queue, queue, [("action", "approve"), ("commission_ids", ids[0]), ("commission_ids", ids[1])]
    )
    assert approved.status_code == 303
    assert "2 commissions approved." in client.get(approved.headers["location"]).text
    held = form_post(client, queue, queue, [("action", "hold"), ("commission_ids", ids[2])])
    assert "1 commission put on hold." in client.get(held.headers["location"]).text
    statuses = _statuses(engine)
    assert [statuses[i] for i in ids] == ["approved", "approved", "on_hold"]
    # The queue holds what is left to review; an approved commission cannot be put on hold again here.
    remaining = client.get(queue).text
    assert ids[2] in remaining and ids[0] not in remaining
    refused = form_post(
        client, queue, queue, [("action", "reject"), ("commission_ids", ids[2]), ("commission_ids", ids[0])]
    )
    message = client.get(refused.headers["location"]).text
    assert "1 commission rejected. 1 not:" in message
    assert _statuses(engine)[ids[2]] == "rejected"


def test_the_queue_filters_by_status_partner_kind_and_dates(client: TestClient, program: ProgramKeys) -> None:
    ids, partners = _sale_commissions(client, program)
    as_owner(client)
    base = f"/manage/commissions?program={program.id}"
    assert ids[2] in client.get(base + "&q=evil").text and ids[0] not in client.get(base + "&q=evil").text
    by_partner = client.get(base + f"&partner_id={partners['jane']}&status=all").text
    assert ids[0] in by_partner and ids[2] not in by_partner and "Partner: <a" in by_partner
    assert "No commission matches." in client.get(base + "&status=approved").text
    assert "No commission matches." in client.get(base + "&kind=lead").text
    assert "No commission matches." in client.get(base + "&start=2001-01-01&end=2001-12-31").text
    assert "Dates are written YYYY-MM-DD." in client.get(base + "&start=yesterday").text


def test_the_csv_export_has_every_matching_commission_and_neutralises_formulas(
    client: TestClient, program: ProgramKeys
) -> None:
    ids, _partners = _sale_commissions(client, program)
    as_owner(client)
    response = client.get(f"/manage/commissions.csv?program={program.id}&status=all")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in rows] == ids
    assert (
        rows[1]["earnings_amount"] == "2000" and rows[1]["earnings"] == "20.00 USD" and rows[1]["status"] == "pending"
    )
    assert rows[2]["partner_name"].startswith("'=HYPERLINK")  # a spreadsheet shows it as text, never runs it
    only_jane = client.get(f"/manage/commissions.csv?program={program.id}&q=jane")
    assert len(list(csv.DictReader(io.StringIO(only_jane.text)))) == 2


def test_a_viewer_reads_the_queue_but_cannot_decide(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    ids, _partners = _sale_commissions(client, program)
    as_member(client, engine, program, "viewer")
    queue = f"/manage/commissions?program={program.id}"
    page = client.get(queue)
    assert page.status_code == 200 and "$10.00" in page.text and "Jane" in page.text
    assert 'name="commission_ids"' not in page.text and 'value="approve"' not in page.text
    refused = form_post(client, queue, queue, [("action", "approve"), ("commission_ids", ids[0])])
    assert refused.status_code == 403 and "viewer" in refused.text
    assert _statuses(engine)[ids[0]] == "pending"
    assert client.get(f"/manage/commissions.csv?program={program.id}").status_code == 200


def test_a_column_header_sorts_the_commissions_and_keeps_the_filters(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    import re
    from datetime import timedelta

    from sqlalchemy import update

    from partnerloop.kit.time import utc_now

    ids, _partners = _sale_commissions(client, program)  # Jane 10.00, Jane 20.00, the other 30.00 (10% of sales)
    with transaction(engine) as session:  # the smallest sale happened last: reported late, but newest by date
        session.execute(
            update(Commission).where(Commission.id == ids[0]).values(occurred_at=utc_now() + timedelta(hours=1))
        )
    as_owner(client)

    def order(url: str) -> list[str]:
        body = client.get(url).text.split("<tbody>")[1]
        return [commission_id for commission_id in re.findall(r'name="commission_ids" value="(\w+)"', body)]

    base = f"/manage/commissions?program={program.id}&q=jane"
    assert order(base) == [ids[0], ids[1]]  # by when it happened, newest first; only Jane's
    page = client.get(base).text
    header = re.search(r'<a class="sort" href="([^"]+)" data-sort="earnings">', page)
    assert header, "the Earnings header is a link"
    url = header.group(1).replace("&amp;", "&")
    assert "q=jane" in url and "status=queue" in url and "sort=earnings" in url
    assert order(url) == [ids[1], ids[0]]  # highest earnings first, still only Jane's
    assert order(f"/manage/commissions?program={program.id}&sort=earnings") == [ids[2], ids[1], ids[0]]
    assert order(f"/manage/commissions?program={program.id}&sort=nonsense") == [ids[0], ids[2], ids[1]]
    sorted_page = client.get(url).text
    assert (
        'name="back" value="/manage/commissions?' in sorted_page
        and "sort=earnings" in sorted_page.split('name="back"')[1][:300]
    )
