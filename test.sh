#!/usr/bin/env bash
# Installs what is missing, builds, brings the local cluster up (unless it already runs), runs the
# unit, integration and end-to-end tests, and stops what it started. Non-zero on any failure.
#
#   ./test.sh                 everything
#   CESYNC_KEEP_CLUSTER=1     leave servers this run started running afterwards
#   CESYNC_TEST_LABELS="unit" run only these phases (unit integration e2e lint)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$PWD
BUILD=${CESYNC_BUILD_DIR:-$ROOT/build}
PHASES=${CESYNC_TEST_LABELS:-lint unit integration e2e}
t0=$SECONDS

step() { printf '\n== %s\n' "$*"; }
has() { [[ " $PHASES " == *" $1 "* ]]; }

step "dependencies"
./scripts/install-deps

step "build"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2

failed=()
if has lint; then
  step "lint"
  ./scripts/lint --tidy || failed+=(lint)
fi

started=""
stop_started() {
  if [ -n "$started" ] && [ -z "${CESYNC_KEEP_CLUSTER:-}" ]; then
    step "stopping what this run started: $started"
    ./scripts/cluster down $started || true
  fi
}
trap stop_started EXIT
if has integration || has e2e; then
  step "cluster"
  ./scripts/cluster up
  started=$(cat "${CESYNC_CLUSTER_DIR:-.cluster}/last-started")
  # shellcheck disable=SC2046
  export $(./scripts/cluster env)
fi

if has unit; then
  step "unit tests"
  ctest --test-dir "$BUILD" -L unit --output-on-failure -j2 || failed+=(unit)
fi
if has integration; then
  step "integration tests"
  ctest --test-dir "$BUILD" -L integration --output-on-failure || failed+=(integration)
  # Integration suites written in Python (the trigger's, checked with the official driver).
  if compgen -G "tests/integration/*/test_*.py" >/dev/null; then
    python3 -m pytest tests/integration -q -p no:cacheprovider || failed+=(integration-py)
  fi
fi
if has e2e; then
  step "end-to-end tests"
  CESYNC_BIN="$BUILD/src/cli/cesync" python3 -m pytest tests/e2e -q -p no:cacheprovider || failed+=(e2e)
fi

step "done in $((SECONDS - t0))s"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all phases passed: $PHASES"
