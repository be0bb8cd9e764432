#!/usr/bin/env bash
# Every test: lint and types, then the whole suite on SQLite and on PostgreSQL (but the browser tests,
# below), side by side (two databases, two cores). PostgreSQL is required: TEST_PG_URL
# (default postgresql://postgres@127.0.0.1:5432/partnerloop_test). Each log ends with its 25 slowest tests, to
# keep CI under its 20 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/partnerloop_test}"
LOGS="${TEST_LOGS:-artifacts/test-logs}"
mkdir -p "$LOGS"

echo "== ruff"
ruff check partnerloop tests bench scripts
ruff format --check partnerloop tests bench scripts
echo "== mypy"
mypy

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

# The browser tests (tests/e2e: Chromium on a real `serve`) run once, on SQLite, the quick start's
# database: what their pages read and write is run on both databases by the page and API tests, and
# running them twice cost CI three minutes of its two cores.
echo "== tests on SQLite and on PostgreSQL ($PG_URL), in parallel; logs in $LOGS/"
env -u TEST_DATABASE_URL python -m pytest tests --durations=25 "$@" > "$LOGS/sqlite.log" 2>&1 &
sqlite_pid=$!
TEST_DATABASE_URL="$PG_URL" python -m pytest tests --ignore=tests/e2e --durations=25 "$@" > "$LOGS/postgres.log" 2>&1 &
postgres_pid=$!
sqlite_rc=0; postgres_rc=0
wait "$sqlite_pid" || sqlite_rc=$?
wait "$postgres_pid" || postgres_rc=$?

echo "== SQLite (exit $sqlite_rc)"
if [ "$sqlite_rc" -ne 0 ]; then cat "$LOGS/sqlite.log"; else tail -n 3 "$LOGS/sqlite.log"; fi
echo "== PostgreSQL (exit $postgres_rc)"
if [ "$postgres_rc" -ne 0 ]; then cat "$LOGS/postgres.log"; else tail -n 3 "$LOGS/postgres.log"; fi
[ "$sqlite_rc" -eq 0 ] && [ "$postgres_rc" -eq 0 ]
