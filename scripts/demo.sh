#!/usr/bin/env bash
# See mailproc work end to end on a throwaway local mail stack (Dovecot IMAP + an SMTP server
# delivering into it, on loopback) with SQLite: realistic complaints in, tickets and receipts out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/mailproc demo "$@"
