#!/usr/bin/env bash
# Make the large QEMU 7.2 x86_64 streams the stream-tool benchmark (bench/streams_bench.ts) reads:
#   pc-1g.mig         a 1 GiB `-M pc` guest, stopped at start (-S), migrated to a file
#   random-4g.mig     a 4 GiB `-M pc` guest with 1 GiB of random bytes loaded at 16 MiB
#                     (-device loader,force-raw=on: no guest code runs), migrated to a file
# into OUT_DIR (default ~/.cache/snapshell/streams/, git-ignored: never committed). Files already
# there are kept; delete them to remake.
#
#   tools/qemu-fixtures/make-big-streams.sh [OUT_DIR]
#
# Environment: QEMU_X86 (default qemu-system-x86_64), PYTHON (default python3).
# Needs about 2.2 GiB free in OUT_DIR. Exits 0 with a message when QEMU is missing.
# NOT RUN BY TESTS.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fixture_setup streams "${1:-${XDG_CACHE_HOME:-$HOME/.cache}/snapshell/streams}"
QEMU="${QEMU_X86:-qemu-system-x86_64}"
if ! command -v "$QEMU" >/dev/null; then
    echo "== skipped: $QEMU not found (apt-get install qemu-system-x86)"
    exit 0
fi
mkdir -p "$OUT"

# migrate NAME QEMU_ARGS...: start QEMU paused with the arguments, migrate to OUT/NAME, quit.
migrate() {
    local name="$1"
    shift
    if [[ -s "$OUT/$name" ]]; then
        echo "== kept: $OUT/$name"
        return
    fi
    "$QEMU" -nographic -S -serial none -display none -nodefaults "$@" \
        -monitor "unix:$WORK/mon.sock,server,nowait" 2>"$WORK/qemu.stderr" &
    QPID=$!
    "$PYTHON" "$HERE/hmp.py" "$WORK/mon.sock" \
        "migrate_set_parameter max-bandwidth 0" \
        "migrate \"exec:cat > $OUT/$name.part\"" \
        "@wait-migrate" \
        quit >"$WORK/hmp.out"
    wait "$QPID" || true
    QPID=""
    rm -f "$WORK/mon.sock"
    if ! grep -q "Migration status: completed" "$WORK/hmp.out"; then
        cat "$WORK/hmp.out" "$WORK/qemu.stderr" >&2
        echo "== failed: $name" >&2
        exit 1
    fi
    mv "$OUT/$name.part" "$OUT/$name"
    echo "== made: $OUT/$name ($(stat -c %s "$OUT/$name") bytes)"
}

migrate pc-1g.mig -M pc -m 1G

if [[ ! -s "$OUT/random-4g.mig" ]]; then
    head -c 1G /dev/urandom >"$WORK/random.bin"
fi
migrate random-4g.mig -M pc -m 4G \
    -device "loader,file=$WORK/random.bin,addr=0x1000000,force-raw=on"
echo "== done: $OUT"
