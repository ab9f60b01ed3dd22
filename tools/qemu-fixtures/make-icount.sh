#!/usr/bin/env bash
# Make the QEMU 7.2 stream with -icount (tests/fixtures/qemu72/virt-icount.*) without touching
# the fixtures of make.sh (those carry wall-clock values other tests read).
#
#   tools/qemu-fixtures/make-icount.sh [OUT_DIR]
#
# The guest is make.sh's hello.elf (already in OUT_DIR). QEMU runs it with `-icount shift=0`
# (1 ns per instruction, so the timer/icount subsection is emitted) and an explicit
# `-nic none -netdev user,id=n0` (a user-mode netdev with no device and no connections: the
# `slirp` section without a NIC), stops, and migrates to a file through the monitor.
# Environment: QEMU (default qemu-system-riscv32), PYTHON (default python3), RUN_SECS (0.3).
# NOT RUN BY TESTS: it needs QEMU 7.2; the committed outputs are what tests read.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fixture_setup icount "${1:-}"
RUN_SECS="${RUN_SECS:-0.3}"
[[ -f "$OUT/hello.elf" ]] || { echo "run make.sh first (no $OUT/hello.elf)" >&2; exit 2; }

"$QEMU" -M virt -bios none -m 16M -nographic -S -icount shift=0 \
    -nic none -netdev user,id=n0 \
    -serial "file:$WORK/serial.txt" -monitor "unix:$WORK/mon.sock,server,nowait" \
    -kernel "$OUT/hello.elf" 2>"$WORK/qemu.stderr" &
QPID=$!
"$PYTHON" "$HERE/hmp.py" "$WORK/mon.sock" \
    cont "@sleep:$RUN_SECS" stop "info status" \
    "migrate \"exec:cat > $WORK/virt-icount.qemu\"" @wait-migrate quit \
    | sed "s#$WORK/#WORK/#g" > "$OUT/virt-icount.hmp.txt"
wait "$QPID" || true
QPID=""
if [[ -s "$WORK/qemu.stderr" ]]; then echo "qemu stderr:"; cat "$WORK/qemu.stderr"; fi

cp "$WORK/virt-icount.qemu" "$OUT/virt-icount.qemu"
"$PYTHON" "$HERE/stream-layout.py" "$OUT/virt-icount.qemu" > "$OUT/virt-icount.layout.txt"
"$PYTHON" - "$OUT/virt-icount.qemu" "$OUT/virt-icount.vmdesc.raw.json" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
j = b.rfind(b'{"page_size"')
assert b[j - 5] == 0x06
n = struct.unpack_from(">I", b, j - 4)[0]
open(sys.argv[2], "wb").write(b[j:j + n])   # exact bytes, no trailing newline
PY
(cd "$OUT" && sha256sum virt-icount.qemu virt-icount.vmdesc.raw.json virt-icount.layout.txt \
    virt-icount.hmp.txt > virt-icount.SHA256SUMS)
echo "== done: $OUT/virt-icount.qemu"
