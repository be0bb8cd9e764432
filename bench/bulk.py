"""Bulk data for the PostgreSQL benchmarks, through COPY: PARTNERS approved partners of an existing program
(spread over `group_ids` in turn, if given), COMMISSIONS sales over the last ~75 days each with one commission
(20%), half as many customers as sales (a customer's partner is skewed: a few partners sell a lot, as in real
programs), and one lead per customer. Then VACUUM ANALYZE, as autovacuum would soon after a load."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta

import psycopg

COPY_ROWS = 100_000


def load(
    url: str, program_id: str, workspace_id: str, partners: int, commissions: int, group_ids: list[str] | None = None
) -> list[str]:
    """Returns the new partners' ids (partner n has email p{n}@bench.test and referral code ref{n})."""
    from partnerloop.kit.ids import new_id

    now = datetime.now(UTC)
    long_ago = now - timedelta(days=400)
    random.seed(17)
    partner_ids = [new_id() for _ in range(partners)]
    customers = max(1, commissions // 2)
    customer_ids = [new_id() for _ in range(customers)]
    owner = [partner_ids[min(partners - 1, int(partners * random.random() ** 3))] for _ in range(customers)]
    with psycopg.connect(url) as connection:
        with connection.cursor() as cursor:
            with cursor.copy("COPY partners (id, workspace_id, email, name, created_at) FROM STDIN") as copy:
                for n, partner_id in enumerate(partner_ids):
                    copy.write_row((partner_id, workspace_id, f"p{n}@bench.test", f"Partner {n}", long_ago))
            with cursor.copy(
                "COPY enrollments (id, program_id, partner_id, kind, status, referral_code, group_id, created_at) FROM STDIN"
            ) as copy:
                for n, partner_id in enumerate(partner_ids):
                    group_id = group_ids[n % len(group_ids)] if group_ids else None
                    copy.write_row(
                        (new_id(), program_id, partner_id, "partner", "approved", f"ref{n}", group_id, long_ago)
                    )
            with cursor.copy(
                "COPY customers (id, program_id, external_id, partner_id, metadata, created_at) FROM STDIN"
            ) as copy:
                for n, customer_id in enumerate(customer_ids):
                    copy.write_row((customer_id, program_id, f"bench_cus_{n}", owner[n], "{}", long_ago))
        connection.commit()
        _sales(connection, program_id, commissions, customer_ids, owner, now)
        with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY events (id, program_id, kind, business_key, customer_id, partner_id, occurred_at, created_at) FROM STDIN"
            ) as copy,
        ):
            for n, customer_id in enumerate(customer_ids):
                at = now - timedelta(days=80)
                copy.write_row((new_id(), program_id, "lead", f"bench_lead_{n}", customer_id, owner[n], at, at))
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
    return partner_ids


def _sales(
    connection: psycopg.Connection, program_id: str, commissions: int, customer_ids: list[str], owner: list[str],
    now: datetime,
) -> None:  # fmt: skip
    from partnerloop.kit.ids import new_id

    made, customers = 0, len(customer_ids)
    while made < commissions:
        chunk = min(COPY_ROWS, commissions - made)
        events, rows = io.StringIO(), io.StringIO()
        for n in range(made, made + chunk):
            customer = n % customers
            partner_id = owner[customer]
            at = (now - timedelta(minutes=random.randint(1, 75 * 24 * 60))).isoformat()
            amount = random.randint(1_000, 20_000)
            event_id = new_id()
            events.write(f"{event_id}\t{program_id}\tsale\tbench_in_{n}\t{customer_ids[customer]}\t{amount}\tusd\t"
                         f"{amount}\t{partner_id}\tbench_in_{n}\t{at}\t{at}\n")  # fmt: skip
            rows.write(f"{new_id()}\t{program_id}\t{partner_id}\t{customer_ids[customer]}\t{event_id}\tsale\t\t{amount}\t"
                       f"usd\t{amount // 5}\tusd\tpending\tbench\t{at}\t{at}\t{at}\n")  # fmt: skip
        with connection.cursor() as cursor:
            with cursor.copy("COPY events (id, program_id, kind, business_key, customer_id, amount, currency, "
                             "program_amount, partner_id, invoice_id, occurred_at, created_at) FROM STDIN") as copy:  # fmt: skip
                copy.write(events.getvalue())
            with cursor.copy("COPY commissions (id, program_id, partner_id, customer_id, event_id, kind, reverses_id, "
                             "amount, currency, earnings_amount, earnings_currency, status, explanation, occurred_at, "
                             "hold_until, created_at) FROM STDIN") as copy:  # fmt: skip
                copy.write(rows.getvalue())
        connection.commit()
        made += chunk
