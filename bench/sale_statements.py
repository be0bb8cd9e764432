"""SQL statements per POST /api/v1/track/sale, counted in process (the real app, its real database).

For each database: a fresh one (SQLite file; PostgreSQL at --postgres-url, recreated), a program made by
the CLI, the same lifetime plan, partner and lead-attributed customers as bench/track_sale.py, then
--sales sales through the ASGI app (httpx's TestClient, no network; jobs not run, so only the request's) with a `before_cursor_execute`
counter on the app's engine. Prints statements per sale by kind (SELECT / INSERT / UPDATE / other,
transaction control excluded: SQLAlchemy's BEGIN/COMMIT do not pass through the cursor) and, with
--show, the statements of one sale.

Run: python bench/sale_statements.py [--sales 50] [--databases sqlite,postgres] [--show]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from common import PARTNERLOOP, recreate_postgres
from track_sale import CUSTOMERS, PLAN


def count(database_url: str, sales: int, show: bool) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from partnerloop.app import create_app
    from partnerloop.config import Settings

    env = {**os.environ, "DATABASE_URL": database_url}
    created = json.loads(
        subprocess.run(
            [PARTNERLOOP, "program", "create", "--name", "Bench", "--domain", "bench.test", "--json"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    settings = Settings(database_url=database_url, click_writer="inline", run_jobs_in_process=False)  # type: ignore[call-arg]
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    statements: list[str] = []
    with TestClient(app, headers=headers) as client:
        plan = client.post("/api/v1/plans", json=PLAN).json()
        client.patch("/api/v1/program", json={"default_plan_id": plan["id"]}).raise_for_status()
        client.post("/api/v1/partners", json={"email": "b@bench.test", "name": "B", "referral_code": "BENCH1"})
        for index in range(CUSTOMERS):
            body = {"customer_external_id": f"cus_{index}", "referral_code": "BENCH1"}
            client.post("/api/v1/track/lead", json=body).raise_for_status()

        def sale(index: int) -> None:
            body = {"customer_external_id": f"cus_{index % CUSTOMERS}", "amount": 4900, "currency": "usd",
                    "invoice_id": f"inv_{index}"}  # fmt: skip
            answer = client.post("/api/v1/track/sale", json=body)
            assert answer.status_code == 200 and answer.json()["commissions"], answer.text

        for index in range(10):  # warm: caches filled
            sale(1_000_000 + index)

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.strip() != "SELECT 1":  # the health probe's, once a second
                statements.append(statement)

        event.listen(app.runtime.engine, "before_cursor_execute", record)
        for index in range(sales):
            sale(index)
        total = len(statements)
        sale(sales)
        last_sale = statements[total:]
        del statements[total:]
        event.remove(app.runtime.engine, "before_cursor_execute", record)
    kinds = Counter(statement.split(None, 1)[0].upper() for statement in statements)
    print(f"{app.runtime.engine.name:<10} {len(statements) / sales:5.1f} statements per sale  "
          + "  ".join(f"{kind} {n / sales:.1f}" for kind, n in kinds.most_common()))  # fmt: skip
    if show:
        for statement in last_sale:
            print("   ", " ".join(statement.split())[:200])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sales", type=int, default=50)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/pl_bench")
    parser.add_argument("--show", action="store_true", help="print the statements of one sale")
    args = parser.parse_args()
    for name in args.databases.split(","):
        if name == "sqlite":
            with tempfile.TemporaryDirectory(prefix="pl-bench-") as folder:
                count(f"sqlite:///{Path(folder) / 'bench.db'}", args.sales, args.show)
        else:
            recreate_postgres(args.postgres_url)
            count(args.postgres_url, args.sales, args.show)


if __name__ == "__main__":
    main()
