#!/usr/bin/env bash
# Refresh constraints.txt: resolve mailproc's dependencies (runtime, postgres, demo and dev
# extras) afresh in a scratch virtual environment and pin every version. Run the whole suite
# (scripts/test.sh) after it, and commit the file with the result.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install -q --disable-pip-version-check ".[postgres,demo,dev]"
{
  echo "# The versions mailproc's test suite runs with; the production install uses them too:"
  echo "#   pip install -c constraints.txt 'mailproc[postgres]'   (or the wheel)"
  echo "# Made by scripts/pin.sh on $(date -u +%Y-%m-%d) with $("$scratch/venv/bin/python" -V)."
  "$scratch/venv/bin/pip" freeze --disable-pip-version-check --exclude mailproc | LC_ALL=C sort -f
} > constraints.txt
echo "pin: wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"
