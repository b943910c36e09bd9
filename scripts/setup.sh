#!/usr/bin/env bash
# Install everything mailproc needs on a Debian machine, as root: Debian packages (Dovecot
# for the local mail stack, Python venv support) and the project's virtual environment.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
[ -x /usr/sbin/dovecot ] || need_apt+=(dovecot-imapd dovecot-core)
[ -x /usr/lib/dovecot/dovecot-lda ] || need_apt+=(dovecot-core)
[ -e /usr/lib/dovecot/modules/lib90_sieve_plugin.so ] || need_apt+=(dovecot-sieve)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] || need_apt+=(fonts-dejavu-core)  # the PDF letters
command -v pdftotext >/dev/null || need_apt+=(poppler-utils)  # tests read the PDF letters back
command -v systemd-analyze >/dev/null || need_apt+=(systemd)  # tests verify deploy/mailproc.service
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: need Debian packages ${need_apt[*]}; run as root (or: sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The packages' own service start is not wanted (tests and the demo run their own Dovecot).
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

stamp=.venv/.mailproc-installed
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating the virtual environment in .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v '^WARNING: Location' || true
  # constraints.txt pins the versions the suite was last run with (the production install
  # uses the same file); refresh it with scripts/pin.sh.
  .venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]" 2>&1 \
    | grep -v '^WARNING: Location' || true
  .venv/bin/python -c 'import mailproc.cli, imap_tools, mailparser, aiosmtplib, apscheduler, aiosmtpd' \
    || { echo "setup: the virtual environment is incomplete" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
# The package is installed editable, so Python writes its bytecode on first import, unless
# PYTHONDONTWRITEBYTECODE is set (as on these machines): then every `mailproc` start would
# compile all its modules again (about 40 ms). Compile them here, as pip does for a regular
# install; only changed modules are compiled again.
.venv/bin/python -m compileall -q mailproc >/dev/null
