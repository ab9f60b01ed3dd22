#!/usr/bin/env bash
# Regenerate the QEMU 7.2 reference fixtures in tests/fixtures/qemu72/.
#
#   tools/qemu-fixtures/make.sh QEMU_SRC [OUT_DIR]
#
#   QEMU_SRC  path to an unpacked QEMU 7.2 source tree (only its
#             scripts/analyze-migration.py and scripts/vmstate-static-checker.py
#             are used; nothing is copied into this repository).
#             May also be given as the env var QEMU_SRC.
#   OUT_DIR   default: <repo>/tests/fixtures/qemu72
#
# Environment overrides:
#   QEMU      qemu-system-riscv32 binary   (default: qemu-system-riscv32 in PATH)
#   CC        RISC-V cross gcc             (default: riscv64-unknown-elf-gcc)
#   PYTHON    python3 interpreter          (default: python3)
#   RUN_SECS  how long the guest runs before 'stop' (default: 0.5)
#
# THIS SCRIPT IS NOT RUN BY TESTS.  It needs a real QEMU 7.2 install and is
# only used by a human to (re)create the committed reference data.  The
# streams contain wall-clock dependent values (timer section, goldfish_rtc
# tick_offset), so regenerating changes a few bytes even with the same QEMU.
#
# The fixtures committed with this script were produced on Debian bookworm:
#   apt-get install qemu-system-misc gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf
#   (deb-src enabled)  apt-get source --download-only qemu ; dpkg-source -x qemu_*.dsc
#   -> QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
QEMU_SRC="${1:-${QEMU_SRC:-}}"
OUT="${2:-$REPO/tests/fixtures/qemu72}"
QEMU="${QEMU:-qemu-system-riscv32}"
CC="${CC:-riscv64-unknown-elf-gcc}"
PYTHON="${PYTHON:-python3}"
RUN_SECS="${RUN_SECS:-0.5}"

if [[ -z "$QEMU_SRC" || ! -f "$QEMU_SRC/scripts/analyze-migration.py" ]]; then
    echo "usage: $0 QEMU_SRC [OUT_DIR]   (QEMU_SRC must contain scripts/analyze-migration.py)" >&2
    exit 2
fi
QEMU_SRC="$(cd "$QEMU_SRC" && pwd)"
ANALYZE="$QEMU_SRC/scripts/analyze-migration.py"
CHECKER="$QEMU_SRC/scripts/vmstate-static-checker.py"
HMP="$PYTHON $HERE/hmp.py"

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$(mktemp -d /tmp/qemu72-fixtures.XXXXXX)"
QPID=""
cleanup() {
    if [[ -n "$QPID" ]] && kill -0 "$QPID" 2>/dev/null; then kill "$QPID"; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== QEMU version"
"$QEMU" --version | tee "$OUT/qemu-version.txt"

# ---------------------------------------------------------------------------
# 1. Guest: tools/qemu-fixtures/hello.S linked at 0x80000000 (virt DRAM base).
#    With -bios none, QEMU 7.2's virt reset vector (in mrom at 0x1000) jumps
#    to the DRAM base, which is where the ELF entry point lives.
# ---------------------------------------------------------------------------
echo "== build hello.elf"
"$CC" -march=rv32ima_zicsr -mabi=ilp32 -nostdlib -static \
    -T "$HERE/hello.ld" -o "$OUT/hello.elf" "$HERE/hello.S"

# ---------------------------------------------------------------------------
# 2. Streams.  Common QEMU arguments:
#    -M virt -bios none -m 16M  : smallest useful RAM; the two 32 MiB pflash
#                                 blocks are migrated anyway (as zero pages)
#    -nographic -S              : no display, CPU paused at reset
#    -serial file:...           : capture the UART
#    -monitor unix:...          : HMP, driven by hmp.py
#    (no -nic none: the default user-mode netdev stays, so a 'slirp' section
#     is present, as in a plain "qemu-system-riscv32 -M virt" invocation)
# ---------------------------------------------------------------------------
start_qemu() { # $1 = monitor socket, $2 = serial output file, rest = extra args
    local sock="$1" ser="$2"; shift 2
    rm -f "$sock"
    "$QEMU" -M virt -bios none -m 16M -nographic -S \
        -serial "file:$ser" -monitor "unix:$sock,server,nowait" "$@" \
        2>"$WORK/qemu.stderr" &
    QPID=$!
}
wait_qemu() {
    wait "$QPID" || true
    QPID=""
    if [[ -s "$WORK/qemu.stderr" ]]; then echo "qemu stderr:"; cat "$WORK/qemu.stderr"; fi
}

# 2a. virt-reset.qemu: never run; migrate straight from the -S prelaunch state.
echo "== virt-reset.qemu"
start_qemu "$WORK/mon.sock" "$WORK/reset.serial"
$HMP "$WORK/mon.sock" \
    "info status" \
    "info ramblock" \
    "migrate \"exec:cat > $WORK/virt-reset.qemu\"" \
    @wait-migrate \
    quit > "$WORK/virt-reset.hmp.txt"
wait_qemu
cp "$WORK/virt-reset.qemu" "$OUT/virt-reset.qemu"
sed "s#$WORK/#WORK/#g" "$WORK/virt-reset.hmp.txt" > "$OUT/virt-reset.hmp.txt"

# 2b. virt-running.qemu: run hello.elf for RUN_SECS, stop, inspect, migrate.
echo "== virt-running.qemu"
start_qemu "$WORK/mon.sock" "$WORK/running.serial" -kernel "$OUT/hello.elf"
$HMP "$WORK/mon.sock" \
    cont "@sleep:$RUN_SECS" stop \
    "info status" \
    "info registers" \
    "xp /8wx 0x80010000" \
    "xp /4wx 0x80012ff0" \
    "xp /5wx 0x80013000" \
    "migrate \"exec:cat > $WORK/virt-running.qemu\"" \
    @wait-migrate \
    quit > "$WORK/virt-running.hmp.txt"
wait_qemu
cp "$WORK/virt-running.qemu" "$OUT/virt-running.qemu"
cp "$WORK/running.serial" "$OUT/virt-running.serial.txt"
sed "s#$WORK/#WORK/#g" "$WORK/virt-running.hmp.txt" > "$OUT/virt-running.hmp.txt"

# ---------------------------------------------------------------------------
# 3. QEMU's own analyzer on each stream.
# ---------------------------------------------------------------------------
for X in virt-reset virt-running; do
    echo "== analyze $X"
    S="$OUT/$X.qemu"
    # default (-d state): device state + RAM block sizes
    "$PYTHON" "$ANALYZE" -f "$S" > "$OUT/$X.analyze.json"
    # -d desc: the vmdesc JSON trailer, re-indented by json.dumps(indent=4)
    "$PYTHON" "$ANALYZE" -f "$S" -d desc > "$OUT/$X.desc.json"
    # -x: extract into the current directory (desc.json, state.json and one
    #     file per RAM block, named by the block idstr).  Only the listing is
    #     kept; RAM block files are 16-32 MiB each.
    mkdir -p "$WORK/x-$X"
    (
        cd "$WORK/x-$X"
        {
            echo "# analyze-migration.py -f $X.qemu -x   (run in an empty directory)"
            echo "# stdout:"
            "$PYTHON" "$ANALYZE" -f "$S" -x
            echo "# files: size sha256 path (sorted by path)"
            find . -type f | LC_ALL=C sort | while read -r f; do
                printf '%s %s %s\n' "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -d' ' -f1)" "${f#./}"
            done
        } > "$OUT/$X.extract.txt"
    )
    # -m: dump RAM contents.  Known to crash under python3 (ord() on bytes);
    #     record exit status and the traceback (source path normalised).
    set +e
    "$PYTHON" "$ANALYZE" -f "$S" -m > "$WORK/m.out" 2> "$WORK/m.err"
    rc=$?
    set -e
    {
        echo "# analyze-migration.py -f $X.qemu -m : exit status $rc, stdout $(stat -c %s "$WORK/m.out") bytes"
        sed "s#$QEMU_SRC/#QEMU_SRC/#g" "$WORK/m.err"
    } > "$OUT/$X.dump-memory.err"

    # Our own (independent) byte-layout walk and the raw vmdesc trailer bytes.
    "$PYTHON" "$HERE/stream-layout.py" "$S" > "$OUT/$X.layout.txt"
    "$PYTHON" - "$S" "$OUT/$X.vmdesc.raw.json" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
j = b.rfind(b'{"page_size"')
assert b[j - 5] == 0x06
n = struct.unpack_from(">I", b, j - 4)[0]
open(sys.argv[2], "wb").write(b[j:j + n])   # exact bytes, no trailing newline
PY
done

# ---------------------------------------------------------------------------
# 4. -dump-vmstate and the static checker.
# ---------------------------------------------------------------------------
echo "== dump-vmstate"
"$QEMU" -M virt -dump-vmstate "$OUT/virt.dump-vmstate.json"
{
    echo "# vmstate-static-checker.py -s virt.dump-vmstate.json -d virt.dump-vmstate.json"
    set +e
    "$PYTHON" "$CHECKER" -s "$OUT/virt.dump-vmstate.json" -d "$OUT/virt.dump-vmstate.json"
    echo "# exit status $?"
    set -e
} > "$OUT/virt.static-checker-self.txt"

# Small subset (virt's own devices) + a deliberately broken copy, and QEMU's
# checker output for both directions.
"$PYTHON" "$HERE/vmstate-subset.py" "$OUT/virt.dump-vmstate.json" \
    "$OUT/virt-subset.dump-vmstate.json" "$OUT/virt-subset-mutated.dump-vmstate.json"
for dir in forward reverse; do
    extra=""; [[ $dir == reverse ]] && extra="--reverse"
    {
        echo "# vmstate-static-checker.py -s virt-subset.dump-vmstate.json -d virt-subset-mutated.dump-vmstate.json $extra"
        set +e
        (cd "$OUT" && "$PYTHON" "$CHECKER" -s virt-subset.dump-vmstate.json \
            -d virt-subset-mutated.dump-vmstate.json $extra)
        echo "# exit status $?"
        set -e
    } > "$OUT/virt-subset.static-checker-$dir.txt"
done

# ---------------------------------------------------------------------------
# 5. Checksums of everything generated.
# ---------------------------------------------------------------------------
(cd "$OUT" && LC_ALL=C sha256sum $(ls | LC_ALL=C sort | grep -v '^SHA256SUMS$') > SHA256SUMS)
echo "== done: $OUT"
ls -la "$OUT"
