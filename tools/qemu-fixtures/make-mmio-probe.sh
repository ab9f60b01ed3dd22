#!/usr/bin/env bash
# Record what QEMU 7.2's riscv32 virt answers to physical reads of the devices snapshell models in
# emu/devices/qemu/ (fw_cfg, the PCIe ECAM window, the flash banks), through the monitor's `xp`
# (which reads like a guest load), into tests/fixtures/qemu72/virt-mmio-probe.txt.
#
#   tools/qemu-fixtures/make-mmio-probe.sh [OUT_DIR]
#
# Environment: QEMU (default qemu-system-riscv32), PYTHON (default python3).
# NOT RUN BY TESTS: it needs QEMU 7.2; tests read the committed output.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fixture_setup probe "${1:-}"

"$QEMU" -M virt -bios none -m 16M -nographic -S -serial none \
    -monitor "unix:$WORK/mon.sock,server,nowait" 2>"$WORK/qemu.stderr" &
QPID=$!
# Order matters for fw_cfg: each data read advances the selected item (the signature at reset).
"$PYTHON" "$HERE/hmp.py" "$WORK/mon.sock" \
    "xp /2wx 0x10100010" \
    "xp /1wx 0x10100000" \
    "xp /1wx 0x10100000" \
    "xp /16wx 0x30000000" \
    "xp /1wx 0x30000100" \
    "xp /1wx 0x30001000" \
    "xp /1wx 0x30008000" \
    "xp /1wx 0x30100000" \
    "xp /4wx 0x20000000" \
    "xp /4wx 0x22000000" \
    quit > "$OUT/virt-mmio-probe.txt"
wait "$QPID" || true
QPID=""
echo "== done: $OUT/virt-mmio-probe.txt"
