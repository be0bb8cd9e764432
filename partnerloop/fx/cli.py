"""`partnerloop fx import rates.csv`: daily exchange rates from a CSV (date,base,quote,rate)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

fx_cli = typer.Typer(no_args_is_help=True, help="Exchange rates.")


@fx_cli.command("import")
def import_rates(
    path: Annotated[Path, typer.Argument(help="CSV with the columns date,base,quote,rate (1 base = rate quote)")],
    program_id: Annotated[
        str | None, typer.Option("--program", help="Program id (needed when there are several)")
    ] = None,
) -> None:
    """Record every rate of the file for the program; a file with any bad line is refused whole."""
    from sqlalchemy import select

    from partnerloop.cli import _fail, _migrated_engine
    from partnerloop.db import transaction
    from partnerloop.fx.service import import_csv
    from partnerloop.kit.errors import AppError
    from partnerloop.models import Program

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"cannot read {path}: {error}")
        return
    engine = _migrated_engine()
    try:
        with transaction(engine) as session:
            if program_id is not None:
                program = session.get(Program, program_id)
                if program is None:
                    raise AppError(f"No program {program_id}.")
            else:
                programs = list(session.execute(select(Program).limit(2)).scalars())
                if len(programs) != 1:
                    raise AppError("Say which program the rates are for: --program ID.")
                program = programs[0]
            result = import_csv(session, program, text, source=f"csv:{path.name}"[:50])
    except AppError as error:
        _fail(error.message)
        return
    typer.echo(
        f"imported {result.imported} rates for program {program.id} "
        f"({', '.join(result.pairs)}; {result.first_date} to {result.last_date})"
    )
