# Shared set-up of the fixture scripts (sourced, not run): paths, the tools they use, a work
# directory and a cleanup that ends the QEMU they started ($QPID) and removes the directory.
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh"; fixture_setup NAME [OUT_DIR]
fixture_setup() {
    HERE="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
    REPO="$(cd "$HERE/../.." && pwd)"
    OUT="${2:-$REPO/tests/fixtures/qemu72}"
    QEMU="${QEMU:-qemu-system-riscv32}"
    PYTHON="${PYTHON:-python3}"
    WORK="$(mktemp -d "/tmp/qemu72-$1.XXXXXX")"
    QPID=""
    trap fixture_cleanup EXIT
}

fixture_cleanup() {
    if [[ -n "$QPID" ]] && kill -0 "$QPID" 2>/dev/null; then kill "$QPID"; fi
    rm -rf "$WORK"
}
