import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  deviceNames,
  DeviceStateError,
  fieldPaths,
  formatValue,
  getFieldValue,
  listDevices,
  parseFieldValue,
  resolveSections,
  sectionFields,
  sectionLabel,
  setField,
} from "../../../harness/store/device_state.ts";
import { demoMachine } from "../_machines.ts";

const reason = (r: string) => (e: unknown) => e instanceof DeviceStateError && e.reason === r;

Deno.test("listDevices() names each device with its sections and MMIO window", () => {
  const devs = listDevices(demoMachine());
  deepStrictEqual(devs[0], { name: "cpu", sections: ["cpu_common", "cpu"] });
  const uart = devs.find((d) => d.name === "uart0")!;
  deepStrictEqual(uart.sections, ["serial"]);
  deepStrictEqual(uart.mmio, { base: 0x1000_0000, size: 0x100 });
  deepStrictEqual(devs.find((d) => d.name === "aclint")!.sections, [
    "riscv_mtimer",
    "riscv_aclint_swi",
  ]);
});

Deno.test("resolveSections() takes a section label or a device name, and lists names when wrong", () => {
  const m = demoMachine();
  deepStrictEqual(resolveSections(m, "serial").map(sectionLabel), ["serial"]);
  deepStrictEqual(resolveSections(m, "uart0").map(sectionLabel), ["serial"]);
  deepStrictEqual(resolveSections(m, "cpu").map(sectionLabel), ["cpu"]);
  throws(
    () => resolveSections(m, "gpu"),
    (e: unknown) => reason("unknown-device")(e) && (e as Error).message.includes("uart0"),
  );
  ok(deviceNames(m).includes("riscv_sifive_plic"));
});

Deno.test("sectionFields() walks the description: structs, arrays and subsections by path", () => {
  const m = demoMachine(200_000);
  const serial = sectionFields(resolveSections(m, "serial")[0]);
  const lsr = serial.find((l) => l.path === "serial.lsr")!;
  strictEqual(lsr.type, "uint8");
  strictEqual(lsr.value, 0x60);
  ok(serial.some((l) => l.subsection === "serial/recv_fifo" && l.path === "serial.recv_fifo.num"));
  const cpu = sectionFields(resolveSections(m, "cpu")[0]);
  strictEqual(cpu.find((l) => l.path === "env.pc")!.value, m.cpu.state.pc >>> 0);
  const nvme = sectionFields(resolveSections(m, "nvme")[0]);
  ok(nvme.some((l) => /^sq\[1\]\.\w+$/.test(l.path)), "struct arrays are indexed");
});

Deno.test("fieldPaths() expands short scalar arrays for completion", () => {
  const paths = fieldPaths(resolveSections(demoMachine(), "cpu")[0]);
  ok(paths.includes("env.gpr[31]"));
  ok(paths.includes("env.pc"));
});

Deno.test("setField() changes one field through the engine and the device sees it", () => {
  const m = demoMachine(200_000);
  const r = setField(m, "cpu.env.gpr[10]", "0x1234");
  deepStrictEqual(r, { section: "cpu", path: "env.gpr[10]", before: r.before, after: 0x1234 });
  strictEqual(m.cpu.state.x[10], 0x1234);
  setField(m, "uart0.serial.scr", "90");
  strictEqual(getFieldValue(m, "serial.serial.scr"), 90);
  setField(m, "cpu.env.pc", "0x80000100");
  strictEqual(m.cpu.state.pc, 0x80000100);
});

Deno.test("setField() refuses bad paths and values and then changes nothing", () => {
  const m = demoMachine(200_000);
  const before = structuredClone(resolveSections(m, "serial")[0].state!());
  throws(() => setField(m, "serial.serial.scr", "256"), reason("bad-value"));
  throws(() => setField(m, "serial.serial.scr", "ten"), reason("bad-value"));
  throws(() => setField(m, "serial.serial.nope", "1"), reason("unknown-field"));
  throws(() => setField(m, "serial", "1"), reason("unknown-field"));
  throws(() => setField(m, "serial.serial.recv_fifo.data", "1"), reason("unknown-field"));
  throws(() => setField(m, "cpu.env.gpr[32]", "1"), reason("unknown-field"));
  deepStrictEqual(resolveSections(m, "serial")[0].state!(), before);
});

Deno.test("setField() refuses a value the device's own load checks reject", () => {
  const m = demoMachine(200_000);
  const before = getFieldValue(m, "serial.serial.recv_fifo.num");
  // A FIFO count larger than the FIFO: post_load rejects it, exactly as it would in a stream.
  throws(() => setField(m, "serial.serial.recv_fifo.num", "100"), reason("rejected"));
  strictEqual(getFieldValue(m, "serial.serial.recv_fifo.num"), before);
});

Deno.test("parseFieldValue() keeps the field's kind and range", () => {
  strictEqual(parseFieldValue("0x10", 0, [0n, 255n]), 16);
  strictEqual(parseFieldValue("-1", 0, [-128n, 127n]), -1);
  strictEqual(parseFieldValue("0x10", 0n), 16n);
  strictEqual(parseFieldValue("true", false), true);
  throws(() => parseFieldValue("maybe", false), reason("bad-value"));
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
    strictEqual(parseFieldValue(`0x${v.toString(16)}`, 0, [0n, 0xffffffffn]), v);
    strictEqual(parseFieldValue(String(v), 0, [0n, 0xffffffffn]), v);
  }));
});

Deno.test("formatValue() keeps large buffers short", () => {
  strictEqual(formatValue(96), "0x60");
  strictEqual(formatValue(5), "5");
  strictEqual(formatValue(255n), "0xff");
  const big = formatValue(new Uint8Array(1 << 20));
  ok(big.length < 200 && big.includes("1048576 bytes"), big);
  strictEqual(formatValue([1, 2, 3]), "[1, 2, 3]");
});

Deno.test("setField() commits through the registry, so the machine's after-commit hooks run", () => {
  const m = demoMachine();
  let hooks = 0;
  m.registry.afterCommit(() => hooks++);
  setField(m, "uart0.serial.scr", "1");
  strictEqual(hooks, 1);
  throws(() => setField(m, "uart0.serial.scr", "256"), reason("bad-value"));
  strictEqual(hooks, 1, "a refused set commits nothing");
});

Deno.test("setField() of an IRQ-raising field pends its PLIC source; a PLIC set leaves it settled", () => {
  const m = demoMachine();
  m.sendInput("x");
  m.run(10);
  strictEqual(m.plic.state.pending[0] & (1 << 10), 0, "no UART interrupt while IER is 0");
  setField(m, "uart0.serial.ier", "1"); // received-data interrupt, with a byte waiting
  ok(m.plic.state.pending[0] & (1 << 10), "the UART's line went high and pended source 10");
  // A set of the PLIC itself is settled at once: a pending bit the guest then claims and
  // completes (line low again) is not brought back by the next commit of another device.
  setField(m, "uart0.serial.ier", "0");
  setField(m, "plic.pending[0]", "0x800");
  const plic = 0x0c00_0000;
  m.bus.store(plic + 4 * 11, 4, 1); // priority of source 11
  m.bus.store(plic + 0x2000, 4, 1 << 11); // enabled for context 0
  strictEqual(m.bus.load(plic + 0x20_0004, 4), 11); // claim
  m.bus.store(plic + 0x20_0004, 4, 11); // complete
  strictEqual(m.plic.state.pending[0] & (1 << 11), 0);
  setField(m, "uart0.serial.scr", "2");
  strictEqual(m.plic.state.pending[0] & (1 << 11), 0, "no stale pending bit came back");
});
