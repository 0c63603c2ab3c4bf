#!/usr/bin/env bash
# `make test`'s pytest run: the suite in two pytest processes, one per core, each with its
# own test database. The suite spends much of its time waiting on model stand-ins,
# browsers and workers; one process took 11 minutes per database.
#
# The split is by folder, not per test (pytest-xdist): pytest-django runs a process's
# transactional tests after its other tests because they empty the database (the groups
# and schedules the migrations made); splitting per test would interleave them.
set -u
cd "$(dirname "$0")/.."
PYTEST=.venv/bin/pytest
# The worker, browser, model-server and sandbox tests (about 7 minutes on PostgreSQL);
# the other process runs the rest (about 6 minutes, with the commands' tests).
FIRST=(tests/browser tests/services tests/test_tasks.py tests/webui tests/judge)
rest=(tests)
for path in "${FIRST[@]}"; do rest+=("--ignore=$path"); done

second_env=(QB_TEST_SQLITE="${QB_TEST_SQLITE:-.test-db.sqlite3}-2")
case "${DATABASE_URL:-}" in
  postgres://*|postgresql://*)
    second_url="${DATABASE_URL%%\?*}_2"
    .venv/bin/python - "$second_url" <<'PY'
import sys
from urllib.parse import urlsplit

import psycopg

url = urlsplit(sys.argv[1])
name = url.path.lstrip("/")
with psycopg.connect(sys.argv[1].replace(url.path, "/postgres"), autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        conn.execute(f'CREATE DATABASE "{name}"')
PY
    second_env+=(DATABASE_URL="$second_url")
    ;;
esac

logs=$(mktemp -d)
"$PYTEST" "${FIRST[@]}" >"$logs/first.log" 2>&1 &
first=$!
env "${second_env[@]}" "$PYTEST" "${rest[@]}" >"$logs/second.log" 2>&1 &
second=$!
wait "$first"; first_rc=$?
wait "$second"; second_rc=$?
echo "=== pytest ${FIRST[*]} (exit $first_rc) ==="
cat "$logs/first.log"
echo "=== pytest tests, the rest (exit $second_rc) ==="
cat "$logs/second.log"
rm -rf "$logs"
[ "$first_rc" -eq 0 ] && [ "$second_rc" -eq 0 ]
