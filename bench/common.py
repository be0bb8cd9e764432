"""What the benchmarks share: a free loopback port, and a PostgreSQL database recreated for a run.

Only the standard library is imported here at module level: `redirect.py` imports this module, and
uvicorn imports `redirect.py` for its raw ASGI baseline, which must stay minimal.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

# The virtualenv's scripts (partnerloop, uvicorn) beside the Python running the benchmark: no need to
# activate the virtualenv first.
BIN = Path(sys.executable).parent
PARTNERLOOP = str(BIN / "partnerloop")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def recreate_postgres(url: str) -> None:
    """Drop the PostgreSQL database that `url` names and create it empty. Its name must say bench or
    test: whatever it holds is gone. Sets ENCRYPTION_KEY (a fresh Fernet key) unless it is set: on
    PostgreSQL Partnerloop refuses to start without one, and the servers a benchmark starts inherit it."""
    import psycopg

    os.environ.setdefault("ENCRYPTION_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())

    admin_url, _, name = url.rpartition("/")
    if not url.startswith(("postgresql://", "postgres://")) or not re.search(r"bench|test", name):
        sys.exit(f"{url}: a PostgreSQL database whose name says bench or test is needed (it is dropped first)")
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def extract_revision(ref: str, workdir: Path) -> Path:
    """The `partnerloop` package of git revision `ref`, extracted into workdir (git archive)."""
    target = workdir / f"code-{re.sub(r'[^A-Za-z0-9]+', '-', ref)}"
    target.mkdir()
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(repo), "archive", ref, "partnerloop"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target
