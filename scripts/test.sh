#!/usr/bin/env bash
# Run the whole test suite (unit, golden corpus, end-to-end on real Dovecot/SMTP, crash tests),
# plus ruff and mypy. Extra arguments go to pytest. Set MAILPROC_TEST_DATABASE_URL to run the
# database tests on PostgreSQL too, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check mailproc tests bench
.venv/bin/mypy
set +e
.venv/bin/python -m pytest -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "test.sh: pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$rc"
