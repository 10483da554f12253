#!/usr/bin/env bash
# The Citus CI job: build Citus (cached), start a coordinator + 2 workers, run the whole suite
# against the coordinator, then fail on any tenant-table statement (on any node) that was not a
# router query.
set -uo pipefail

usage() {
  cat <<'USAGE'
usage: ci/citus/run.sh [--keep] [--help] [PYTEST_ARGS...]

  1. ci/citus/build.sh              Citus built against the venv's PostgreSQL (cached)
  2. ci/citus/cluster.py start      coordinator + 2 workers on 127.0.0.1 under a fresh
                                    /tmp/relata-citus.XXXXXX (or $RELATA_CITUS_ROOT)
  3. relata migrate                 against the coordinator
  4. pytest -q PYTEST_ARGS          TEST_DATABASE_URL=<coordinator>, multi-shard statements fail
  5. ci/citus/cluster.py check-router
                                    fails listing tenant-table statements without a partition
                                    key in citus_stat_statements of any node (multi-shard /
                                    pulled to the coordinator)
  6. on failure, a summary of the ERRORs the nodes logged
  7. the cluster is stopped and deleted, whatever happened; the nodes' server logs are kept in
     $RELATA_CITUS_LOG_DIR (default: the cluster directory + ".logs"). --keep leaves the
     cluster running (stop it with `.venv/bin/python ci/citus/cluster.py --root DIR stop`)

Environment:
  CITUS_TARBALL, XDG_CACHE_HOME        see ci/citus/build.sh --help
  RELATA_CITUS_ROOT                    cluster directory (default: a new /tmp/relata-citus.XXXXXX)
  RELATA_CITUS_LOG_DIR                 where the nodes' server logs are saved

Exit status: 0 passed, 77 skipped (no Citus source tarball: report as skipped, never passed),
anything else failed.
USAGE
}

KEEP=0
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --keep) KEEP=1; shift ;;
esac

cd "$(dirname "$0")/../.."
PY=.venv/bin/python
CLUSTER="$PY ci/citus/cluster.py"
say() { echo "[citus-ci $(date +%H:%M:%S)] $*" >&2; }

ci/citus/build.sh
rc=$?
if [ $rc -eq 77 ]; then say "SKIPPED: Citus job not run (no Citus source)"; exit 77; fi
[ $rc -eq 0 ] || { say "FAILED: building Citus"; exit $rc; }

# A cluster of our own (two runs at once must not share or stop each other's nodes).
export RELATA_CITUS_ROOT=${RELATA_CITUS_ROOT:-$(mktemp -d /tmp/relata-citus.XXXXXX)}
LOG_DIR=${RELATA_CITUS_LOG_DIR:-$RELATA_CITUS_ROOT.logs}
rm -rf "$LOG_DIR"
trap "exit 130" INT TERM
if [ $KEEP -eq 0 ]; then trap '$CLUSTER stop --save-logs "$LOG_DIR"' EXIT; fi
t0=$SECONDS
$CLUSTER start || { say "FAILED: starting the cluster"; exit 1; }
say "cluster started in $((SECONDS - t0)) s under $RELATA_CITUS_ROOT"
COORDINATOR=$($CLUSTER dsn) || exit 1

DATABASE_URL=$COORDINATOR .venv/bin/relata migrate || { say "FAILED: relata migrate"; exit 1; }
$CLUSTER reset-stats || exit 1

t0=$SECONDS
say "pytest against the coordinator $COORDINATOR"
# -p no:cacheprovider: leave .pytest_cache (last-failed) to the single-node runs.
RELATA_TEST_SLOWDOWN=4 TEST_DATABASE_URL=$COORDINATOR $PY -m pytest -q -p no:cacheprovider "$@"
tests_rc=$?
say "pytest finished in $((SECONDS - t0)) s (status $tests_rc)"

$CLUSTER check-router
router_rc=$?

if [ $tests_rc -eq 0 ] && [ $router_rc -eq 0 ]; then say "PASSED"; exit 0; fi
say "ERRORs the nodes logged (expected ones included: constraint violations, limits, ...):"
$CLUSTER errors
say "FAILED:$([ $tests_rc -ne 0 ] && echo " test suite (pytest status $tests_rc)")$([ $router_rc -ne 0 ] && echo " non-router statements")"
exit 1
