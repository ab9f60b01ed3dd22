import { ok, strictEqual } from "node:assert/strict";
import {
  isQemuFinding,
  keyLine,
  normalise,
  qemuSignature,
} from "../../../../harness/fuzz/qemu/outcome.ts";

Deno.test("keyLine picks QEMU's assertion line over the generic load failure", () => {
  const stderr = [
    "qemu-system-x86_64: -qmp tcp:127.0.0.1:4: info: QEMU waiting for connection",
    "qemu-system-x86_64: ../../hw/usb/hcd-xhci.c:1234: xhci_foo: Assertion `slot < 64' failed.",
    "qemu-system-x86_64: load of migration failed: Invalid argument",
  ].join("\n");
  ok(keyLine(stderr).includes("Assertion `slot < 64' failed"), keyLine(stderr));
  strictEqual(
    keyLine(
      "qemu-system-riscv32: Missing section footer for cpu\nqemu-system-riscv32: load of " +
        "migration failed: Invalid argument\n",
    ),
    "qemu-system-riscv32: Missing section footer for cpu",
  );
});

Deno.test("signatures ignore the numbers that vary between occurrences", () => {
  strictEqual(
    normalise("Mismatched section id in footer for fw_cfg - read 0x18 expected 0x10"),
    "Mismatched section id in footer for fw_cfg - read # expected #",
  );
  const a = qemuSignature({ class: "crashed", detail: "read 12 bytes", exit: "signal SIGABRT" });
  const b = qemuSignature({ class: "crashed", detail: "read 99 bytes", exit: "signal SIGABRT" });
  strictEqual(a, b);
  ok(a !== qemuSignature({ class: "crashed", detail: "read 12 bytes", exit: "signal SIGSEGV" }));
  strictEqual(
    qemuSignature({ class: "disagree", ours: "globalstate: size 0 does not match (7)" }),
    qemuSignature({ class: "disagree", ours: "globalstate: size 32 does not match (7)" }),
  );
  ok(isQemuFinding("crashed") && isQemuFinding("hung") && isQemuFinding("disagree"));
  ok(!isQemuFinding("rejected") && !isQemuFinding("accepted") && !isQemuFinding("no-start"));
});
