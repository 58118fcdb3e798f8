#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine with Python >= 3.10, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
python3 -m ruff check src tests
python3 -m mypy src
python3 -m pytest -q "$@"
