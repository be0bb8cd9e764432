#!/usr/bin/env bash
# Every test: lint and types, then the whole suite on SQLite and again on PostgreSQL.
# PostgreSQL is required: TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/partnerloop_test).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/partnerloop_test}"

echo "== ruff"
ruff check partnerloop tests bench scripts
ruff format --check partnerloop tests bench scripts
echo "== mypy"
mypy

echo "== tests on SQLite"
env -u TEST_DATABASE_URL python -m pytest tests "$@"

echo "== tests on PostgreSQL ($PG_URL)"
if ! python - "$PG_URL" <<'PY'
import sys
import psycopg
url = sys.argv[1].rsplit("/", 1)[0] + "/postgres"
psycopg.connect(url, connect_timeout=5).close()
PY
then
  echo "PostgreSQL is not reachable at $PG_URL: the PostgreSQL suite cannot run, so the tests fail." >&2
  echo "Start it (e.g. pg_ctlcluster <version> main start) or set TEST_PG_URL." >&2
  exit 1
fi
TEST_DATABASE_URL="$PG_URL" python -m pytest tests "$@"
