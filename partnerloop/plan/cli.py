"""`partnerloop plan simulate`: the simulator from the command line (a rich table, or --json)."""

from __future__ import annotations

from typing import Annotated

import typer

plan_cli = typer.Typer(no_args_is_help=True, help="Commission plans.")


def _money(amount: int | None, currency: str) -> str:
    from partnerloop.kit.money import format_money

    return "-" if amount is None else format_money(amount, currency)


def _bps(value: int | None) -> str:
    from partnerloop.kit.money import format_rate

    return "-" if value is None else format_rate(value)


@plan_cli.command("simulate")
def simulate(
    program_id: Annotated[str, typer.Option("--program", help="Program id")],
    plan_id: Annotated[str, typer.Option("--plan", help="The proposed plan's id")],
    starts: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD) or time with a zone")],
    to: Annotated[str, typer.Option("--to", help="Last day, included (YYYY-MM-DD), or time with a zone, excluded")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON answer")] = False,
) -> None:
    """Replay a window of past events under a plan, beside the plans in force. Writes nothing."""
    import json

    from pydantic import ValidationError
    from rich.console import Console
    from rich.table import Table

    from partnerloop.cli import _fail, _migrated_engine
    from partnerloop.db import transaction
    from partnerloop.deps import sale_shares
    from partnerloop.kit.errors import AppError
    from partnerloop.models import Program
    from partnerloop.plan import service, simulation
    from partnerloop.plan.schemas import SimulateIn

    engine = _migrated_engine()
    try:
        body = SimulateIn.model_validate({"from": starts, "to": to})
        with transaction(engine, writes=False) as session:
            program = session.get(Program, program_id)
            if program is None:
                raise AppError(f"No program {program_id}.")
            plan = service.get_plan(session, program, plan_id)
            result = simulation.simulate(session, program, plan, body, sale_shares())
    except ValidationError as error:
        _fail("; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors()))
        return
    except AppError as error:
        _fail(error.message)
        return
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json", by_alias=True)))
        return
    currency = result.currency
    console = Console(width=160)
    summary = Table(title=f"{result.plan_name}: {result.starts:%Y-%m-%d %H:%M} to {result.to:%Y-%m-%d %H:%M} UTC")
    for column in ("", "commissions", "ROI", "effective rate"):
        summary.add_column(column, justify="right" if column else "left")
    for label, totals in (("plans in force", result.current), ("proposed", result.proposed)):
        summary.add_row(label, _money(totals.commissions_amount, currency), totals.roi or "-",
                        _bps(totals.effective_rate_bps))  # fmt: skip
    summary.caption = (
        f"{result.sales} sales, {result.leads} leads, revenue {_money(result.revenue_amount, currency)}, "
        f"difference {_money(result.difference_amount, currency)}"
    )
    console.print(summary)
    partners = Table(title="Per partner")
    for column in ("partner", "group", "sales", "revenue", "now", "proposed", "difference", "customers", "avg CLV",
                   "now / CLV", "proposed / CLV"):  # fmt: skip
        partners.add_column(column, justify="left" if column in ("partner", "group") else "right")
    for row in result.partners:
        partners.add_row(
            row.name, row.group or "-", str(row.sales), _money(row.revenue_amount, currency),
            _money(row.current_amount, currency), _money(row.proposed_amount, currency),
            _money(row.difference_amount, currency), str(row.customers), _money(row.average_clv_amount, currency),
            _bps(row.current_share_of_clv_bps), _bps(row.proposed_share_of_clv_bps),
        )  # fmt: skip
    console.print(partners)
