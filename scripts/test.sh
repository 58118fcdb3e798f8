#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine with Python >= 3.10, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
# The Celery scale-out tests start their own redis-server (Debian's package) on a free port.
if ! command -v redis-server >/dev/null 2>&1; then
    SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server >/dev/null
fi
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
python3 -m ruff check src tests
python3 -m mypy src
python3 -m pytest -q "$@"
