#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine with Python >= 3.10, starts the
# real iRODS 5.0.2 zone beside the project, then runs ruff, mypy and pytest against both the
# embedded server and that zone (as regular rodsusers the fixtures create).
#
# zone.sh is looked for at ../shared/real-irods/zone.sh (beside the project), else at
# $MANGO_ZONE_SH, else at /work/shared/real-irods/zone.sh; pam.sh lies beside it. A zone that
# cannot be started stops the run with zone.sh's one-line reason: the real zone is never skipped
# silently. The zone is stopped at the end only if it was not running before.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)

# The Celery scale-out tests start their own redis-server (Debian's package) on a free port.
if ! command -v redis-server >/dev/null 2>&1; then
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server >/dev/null
fi
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"

find_zone_sh() {
    local candidate
    for candidate in ../shared/real-irods/zone.sh "${MANGO_ZONE_SH:-}" /work/shared/real-irods/zone.sh; do
        if [ -n "$candidate" ] && [ -f "$candidate" ]; then
            (cd "$(dirname "$candidate")" && echo "$PWD/$(basename "$candidate")")
            return 0
        fi
    done
    return 1
}

# Runs a zone script (as root) and keeps its output; on failure prints its last line, its reason.
zone_script() {
    local what=$1 output
    shift
    if ! output=$($SUDO bash "$@" 2>&1); then
        echo "scripts/test.sh: $what failed: $(printf '%s\n' "$output" | tail -n 1)" >&2
        return 1
    fi
}

ZONE_SH=$(find_zone_sh) || {
    echo "scripts/test.sh: zone.sh not found at ../shared/real-irods/zone.sh, \$MANGO_ZONE_SH or" \
         "/work/shared/real-irods/zone.sh: the real iRODS zone is needed (set MANGO_ZONE_SH)" >&2
    exit 1
}
PAM_SH="$(dirname "$ZONE_SH")/pam.sh"
[ -f "$PAM_SH" ] || { echo "scripts/test.sh: $PAM_SH not found (it lies beside zone.sh)" >&2; exit 1; }

ZONE_WAS_RUNNING=0
if $SUDO bash "$ZONE_SH" status >/dev/null 2>&1; then ZONE_WAS_RUNNING=1; fi
CLIENT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mango-zone.XXXXXX")
PAM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mango-pam.XXXXXX")

finish() {
    local code=$?
    if [ "$ZONE_WAS_RUNNING" = 0 ]; then
        $SUDO bash "$ZONE_SH" stop >/dev/null 2>&1 \
            || echo "scripts/test.sh: zone.sh stop failed (see /var/log/irods/zone.log)" >&2
    fi
    rm -rf "$CLIENT_DIR" "$PAM_DIR"
    exit "$code"
}
trap finish EXIT

zone_script "zone.sh start" "$ZONE_SH" start --client-env "$CLIENT_DIR" --client-uid "$(id -u)"
zone_script "pam.sh enable" "$PAM_SH" enable --client-env "$PAM_DIR" --client-uid "$(id -u)"

export MANGO_TEST_ENV="$CLIENT_DIR/irods_environment.json"
export MANGO_TEST_AUTH="$CLIENT_DIR/.irodsA"
export MANGO_REQUIRE_REAL_ZONE=1
export MANGO_TEST_PAM_ENV="$PAM_DIR/irods_environment.json"
export MANGO_TEST_PAM_PASSWORD_FILE="$PAM_DIR/password.txt"

python3 -m ruff check src tests
python3 -m mypy src
python3 -m pytest -q "$@"
