import { ok, strictEqual, throws } from "node:assert/strict";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import { CorruptOpError } from "../../../migration/corrupt/errors.ts";
import {
  findSection,
  resolveChunks,
  resolveField,
  resolveHeaderChunk,
  resolveSection,
  resolveSubsection,
  sectionLabels,
} from "../../../migration/corrupt/selectors.ts";
import { demoSnapshot, qemuStream } from "./_snapshot.ts";

const ours = await layoutOfBytes(await demoSnapshot());
const qemu = await layoutOfBytes(await qemuStream());
const code = (c: string) => (e: unknown) => e instanceof CorruptOpError && e.code === c;

Deno.test("sections are found by full idstr or short name, case-insensitively", () => {
  strictEqual(resolveSection(ours, "snapshell-nvme"), "snapshell-nvme");
  strictEqual(resolveSection(ours, "nvme"), "snapshell-nvme");
  strictEqual(resolveSection(ours, "NVMe"), "snapshell-nvme");
  strictEqual(resolveSection(ours, "uart"), "serial");
  strictEqual(resolveSection(ours, "rtc"), "goldfish_rtc");
  strictEqual(resolveSection(ours, "plic"), "riscv_sifive_plic");
  strictEqual(resolveSection(ours, "swi"), "riscv_aclint_swi");
  strictEqual(findSection(ours, "nosuch"), undefined);
  throws(
    () => resolveSection(ours, "nosuch"),
    (e) => code("not-found")(e) && /serial/.test(String(e)),
  );
});

Deno.test("a short name matching two sections is refused with both named", () => {
  // "riscv" is a component of three idstrs.
  throws(
    () => resolveSection(ours, "riscv"),
    (e) => code("ambiguous")(e) && /riscv_mtimer/.test(String(e)),
  );
});

Deno.test("QEMU's instance suffix and exact idstrs win over short names", () => {
  ok(sectionLabels(qemu).includes("pflash_cfi01#1"));
  strictEqual(resolveSection(qemu, "pflash_cfi01#1"), "pflash_cfi01#1");
  strictEqual(resolveSection(qemu, "timer"), "timer"); // QEMU has a "timer" section itself
  strictEqual(resolveSection(qemu, "mtimer"), "riscv_mtimer");
});

Deno.test("chunk selectors pick all chunks of a section or one kind", () => {
  const ram = resolveChunks(ours, "ram");
  ok(ram.length >= 2 && ram.every((c) => c.section === "ram"));
  strictEqual(resolveChunks(ours, "ram@end")[0].kind, "end");
  strictEqual(resolveChunks(qemu, "ram@part")[0].kind, "part");
  strictEqual(resolveHeaderChunk(ours, "ram").kind, "start");
  throws(() => resolveChunks(ours, "serial@end"), code("not-found"));
});

Deno.test("fields resolve from canonical paths and unambiguous shortenings", () => {
  strictEqual(resolveField(ours, "serial.serial.lsr").path, "serial.serial.lsr");
  strictEqual(resolveField(ours, "serial.lsr").path, "serial.serial.lsr");
  strictEqual(resolveField(ours, "uart.lsr").path, "serial.serial.lsr");
  const tail = resolveField(ours, "nvme.sq[3].tail");
  strictEqual(tail.path, "snapshell-nvme.sq[3].tail");
  strictEqual(tail.type, "uint16");
  strictEqual(resolveField(ours, "cpu.env.gpr[5]").path, "cpu.env.gpr[5]");
  strictEqual(
    resolveField(ours, "cpu/pmp.pmp[2].cfg_reg").path,
    "cpu/pmp.env.pmp_state.pmp[2].cfg_reg",
  );
  strictEqual(resolveField(ours, "cpu.minstret").path, "cpu/snapshell-counters.minstret");
});

Deno.test("a pointer array's index is the slot, and its marker is addressable", () => {
  const marker = resolveField(ours, "nvme.sq[2]");
  strictEqual(marker.type, "ptr-marker");
  const slot3 = resolveField(ours, "nvme.sq[3].sqid");
  strictEqual(slot3.value.kind === "int" ? slot3.value.value : -1n, 3n);
});

Deno.test("fields of QEMU's own stream resolve the same way", () => {
  strictEqual(resolveField(qemu, "serial.lsr").path, "serial.serial.lsr");
  strictEqual(resolveField(qemu, "cpu.env.pc").path, "cpu.env.pc");
});

Deno.test("ambiguous and unknown field paths are refused with candidates", () => {
  throws(
    () => resolveField(ours, "cpu.env.gpr"),
    (e) => code("ambiguous")(e) && /gpr\[0\]/.test(String(e)),
  );
  throws(
    () => resolveField(ours, "serial.nosuch"),
    (e) => code("not-found")(e) && /serial\.serial\.lsr/.test(String(e)),
  );
  throws(() => resolveField(ours, "nosuch.lsr"), code("not-found"));
});

Deno.test("subsections resolve by wire name or canonical path", () => {
  strictEqual(resolveSubsection(ours, "cpu/pmp").path, "cpu/pmp");
  strictEqual(resolveSubsection(ours, "cpu/snapshell-counters").name, "cpu/snapshell-counters");
  throws(() => resolveSubsection(ours, "cpu/nosuch"), code("not-found"));
});
