"""The command line, run as a process on the suite's database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import Engine, func, select

from partnerloop.cli import served_base_url
from partnerloop.db import transaction
from partnerloop.models import Program, User


def _program_create(database_url: str, *options: str) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
           "ENCRYPTION_KEY": os.environ["ENCRYPTION_KEY"]}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "partnerloop.cli", "program", "create", "--name", "Cli Co", "--domain", "cli.test",
         "--owner-email", "owner@cli.test", *options, "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def _counts(engine: Engine) -> tuple[int, int]:
    with transaction(engine, writes=False) as session:
        users = session.scalar(select(func.count()).select_from(User))
        programs = session.scalar(select(func.count()).select_from(Program))
    return int(users or 0), int(programs or 0)


def test_program_create_refuses_an_owner_password_the_signup_page_refuses(engine: Engine, database_url: str) -> None:
    for weak, reason in (
        ("password123", "most common"),
        ("aaaaaaaaaa", "too few characters"),
        ("owner@cli.test", "email address"),
        ("short", "at least 8"),
    ):
        done = _program_create(database_url, "--owner-password", weak)
        assert done.returncode == 2, (weak, done.stdout, done.stderr)
        assert reason in done.stderr, (weak, done.stderr)
    assert _counts(engine) == (0, 0)
    accepted = _program_create(database_url, "--owner-password", "tangerine orbit 42")
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["owner_email"] == "owner@cli.test"
    assert _counts(engine) == (1, 1)


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8000, "http://127.0.0.1:8000"),
        ("127.0.0.1", 8765, "http://127.0.0.1:8765"),  # `serve --port 8765`: the demo's logins name 8765
        ("0.0.0.0", 9000, "http://127.0.0.1:9000"),
        ("::", 9000, "http://127.0.0.1:9000"),
        ("::1", 9000, "http://[::1]:9000"),
        ("partners.acme.test", 80, "http://partners.acme.test:80"),
    ],
)
def test_serve_without_base_url_names_the_address_it_listens_on(host: str, port: int, expected: str) -> None:
    assert served_base_url(host, port) == expected
