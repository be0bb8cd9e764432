"""The command line: partnerloop serve | worker | migrate | demo | program create | plan simulate | fx import |
secrets rotate | secrets generate-key."""

from __future__ import annotations

import copy
import json
import os
import secrets
import sys
from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from partnerloop.config import get_settings

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Partnerloop: partner programs you run yourself.")
program_cli = typer.Typer(no_args_is_help=True, help="Programs.")
cli.add_typer(program_cli, name="program")
secrets_cli = typer.Typer(no_args_is_help=True, help="Secrets at rest: ENCRYPTION_KEY and its rotation.")
cli.add_typer(secrets_cli, name="secrets")

from partnerloop.fx.cli import fx_cli  # noqa: E402  (commands import their dependencies when run)
from partnerloop.plan.cli import plan_cli  # noqa: E402

cli.add_typer(plan_cli, name="plan")
cli.add_typer(fx_cli, name="fx")


def _migrated_engine() -> Engine:
    from partnerloop import migrate
    from partnerloop.db import get_engine
    from partnerloop.kit.sealing import MissingEncryptionKey, check_encryption_key

    settings = get_settings()
    try:
        check_encryption_key(settings)  # before anything: a migration may seal secrets (0014)
    except MissingEncryptionKey as error:
        _fail(str(error))
    engine = get_engine(settings)
    migrate.upgrade(engine, settings=settings)
    return engine


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@cli.command()
def migrate() -> None:
    """Apply database migrations."""
    _migrated_engine()
    typer.echo("database is at the latest revision")


@program_cli.command("create")
def program_create(
    name: Annotated[str, typer.Option("--name", help="Program name")],
    domain: Annotated[list[str], typer.Option("--domain", help="Allowed destination domain (repeatable)")],
    currency: Annotated[str, typer.Option("--currency")] = "usd",
    owner_email: Annotated[str | None, typer.Option("--owner-email")] = None,
    owner_password: Annotated[str | None, typer.Option("--owner-password")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    kind: Annotated[str, typer.Option("--kind", help="affiliate or referral (customer advocates)")] = "affiliate",
) -> None:
    """Create a workspace, its owner and a program; print its id and keys."""
    from partnerloop.account.service import check_new_password
    from partnerloop.db import transaction
    from partnerloop.kit.errors import AppError
    from partnerloop.plan.service import create_starter_plan
    from partnerloop.program.schemas import ProgramPatch
    from partnerloop.program.service import create_program, update_program

    engine = _migrated_engine()
    email = owner_email or f"owner+{secrets.token_hex(4)}@partnerloop.local"
    password = owner_password or (None if owner_email else secrets.token_urlsafe(12))
    try:
        if owner_password is not None:  # the policy of the signup and reset pages, so no weak login is made here
            check_new_password(owner_password, email.strip().lower())
        with transaction(engine) as session:
            created = create_program(
                session,
                name=name,
                domains=domain,
                currency=currency,
                owner_email=email,
                owner_password=password,
                kind=kind,
            )
            if created.program.kind == "affiliate":  # a sensible plan to edit, rather than none
                starter = create_starter_plan(session, created.program)
                update_program(session, created.program, ProgramPatch(default_plan_id=starter.id))
            result = {
                "id": created.program.id,
                "name": created.program.name,
                "kind": created.program.kind,
                "currency": created.program.currency,
                "allowed_domains": created.program.allowed_domains,
                "api_key": created.api_key,
                "publishable_key": created.program.publishable_key,
                "owner_email": created.owner_email,
            }
            if password and not owner_password:
                result["owner_password"] = password
    except AppError as error:
        _fail(error.message)
        return
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for key, value in result.items():
            typer.echo(f"{key}: {value}")


@secrets_cli.command("generate-key")
def secrets_generate_key() -> None:
    """Print a new random key for ENCRYPTION_KEY (put it first to rotate: ENCRYPTION_KEY="new,old")."""
    from partnerloop.kit.crypto import generate_fernet_key

    typer.echo(generate_fernet_key())


@secrets_cli.command("rotate")
def secrets_rotate(
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per transaction")] = 500,
) -> None:
    """Re-encrypt every secret at rest with the first ENCRYPTION_KEY (payout details, webhook secrets,
    Slack and HubSpot tokens, Stripe keys); safe to run again. Exits 1 when some value no key reads."""
    from partnerloop.secrets_rotation import rotate_secrets

    engine = _migrated_engine()
    counts = rotate_secrets(engine, get_settings(), batch_size)
    for column, found in counts.items():
        typer.echo(f"{column}: {found.resealed} re-encrypted, {found.current} already current, "
                   f"{found.unreadable} unreadable")  # fmt: skip
    resealed = sum(found.resealed for found in counts.values())
    current = sum(found.current for found in counts.values())
    unreadable = sum(found.unreadable for found in counts.values())
    typer.echo(f"total: {resealed} re-encrypted, {current} already current, {unreadable} unreadable")
    if unreadable:
        typer.echo("error: some values cannot be decrypted with any ENCRYPTION_KEY: they were left as they are; "
                   "add the key they were sealed with and run again", err=True)  # fmt: skip
        raise typer.Exit(code=1)


def _serve_log_config() -> dict[str, Any]:
    """uvicorn's logging plus our own `partnerloop.*` loggers at INFO (e.g. emails logged without SMTP_URL)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["partnerloop"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@cli.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="Seed the demo program first (once)")] = False,
    no_jobs: Annotated[bool, typer.Option("--no-jobs", help="Leave jobs to `partnerloop worker`")] = False,
) -> None:
    """Serve the API, the portals and links (migrating first)."""
    import uvicorn

    if not os.environ.get("BASE_URL"):  # links, emails and the demo's logins name the address served
        os.environ["BASE_URL"] = served_base_url(host, port)
    engine = _migrated_engine()
    if demo:
        from partnerloop.demo import print_logins, seed_demo

        print_logins(seed_demo(engine, get_settings()))
    if no_jobs:
        os.environ["RUN_JOBS_IN_PROCESS"] = "false"
    if workers > 1 and get_settings().is_sqlite and not no_jobs:
        os.environ["RUN_JOBS_IN_PROCESS"] = "false"  # SQLite: one job runner; start `partnerloop worker`
        typer.echo("note: with several workers on SQLite, run jobs with `partnerloop worker`", err=True)
    if workers > 1 and get_settings().metrics_enabled:
        typer.echo("note: with several workers, /metrics counts requests and clicks per worker (docs/operations.md)",
                   err=True)  # fmt: skip
    engine.dispose()
    get_settings.cache_clear()  # the app is built in this process too: it must see the changes made above
    uvicorn.run(
        "partnerloop.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=_serve_log_config(),
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=30,
    )


def served_base_url(host: str, port: int) -> str:
    """BASE_URL when none is set: the address `serve` listens on (loopback for "every interface")."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


@cli.command()
def worker() -> None:
    """Run durable jobs until SIGTERM / Ctrl-C."""
    from partnerloop.job_registry import SCHEDULES
    from partnerloop.jobs.runner import run_worker_forever

    engine = _migrated_engine()
    run_worker_forever(engine, get_settings(), SCHEDULES)


@cli.command()
def demo() -> None:
    """Seed a realistic demo program and print its logins."""
    from partnerloop.demo import print_logins, seed_demo

    engine = _migrated_engine()
    print_logins(seed_demo(engine, get_settings()))


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
