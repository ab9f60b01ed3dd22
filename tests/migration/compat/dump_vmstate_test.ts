import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { formatDump, parseDump } from "../../../migration/compat/dump_model.ts";
import {
  dumpDescription,
  dumpRegistry,
  VIRT_TYPE_NAMES,
} from "../../../migration/compat/dump_vmstate.ts";
import { checkDumps, renderFindings } from "../../../migration/compat/static_checker.ts";
import { SectionRegistry } from "../../../migration/sections/registry.ts";
import * as F from "../../../migration/vmstate/fields.ts";
import { VirtMachine } from "../../../emu/virt.ts";

const FIX = new URL("../../fixtures/qemu72/", import.meta.url).pathname;

const inner = F.vmsd({ name: "inner", fields: [F.uint8("x")] });
const dev = F.vmsd({
  name: "dev",
  versionId: 3,
  minimumVersionId: 2,
  fields: [
    F.uint16("a", { version: 2 }),
    F.array("regs", F.uint32("r").info!, 4),
    F.uint8("t", { exists: (s) => s.a > 0 }),
    F.validate("check", () => true),
    F.unused(6),
    F.uint32("len"),
    F.vbuffer("data", "len"),
    F.struct("in", inner),
  ],
  subsections: [F.vmsd({ name: "dev/extra", fields: [F.uint64("e")] })],
});

Deno.test("dumpDescription() writes QEMU's field rows: versions, exists tests, sizes, nesting", () => {
  deepStrictEqual(dumpDescription(dev, { machine: "m" }), {
    name: "dev",
    version_id: 3,
    minimum_version_id: 2,
    Fields: [
      { field: "a", version_id: 2, field_exists: false, size: 2 },
      { field: "regs", version_id: 0, field_exists: false, size: 4 },
      { field: "t", version_id: 0, field_exists: true, size: 1 },
      { field: "unused", version_id: 0, field_exists: false, size: 6 },
      { field: "len", version_id: 0, field_exists: false, size: 4 },
      { field: "data", version_id: 0, field_exists: false, size: 0 },
      {
        field: "in",
        version_id: 0,
        field_exists: false,
        size: 0,
        Description: {
          name: "inner",
          version_id: 1,
          minimum_version_id: 1,
          Fields: [{ field: "x", version_id: 0, field_exists: false, size: 1 }],
        },
      },
    ],
    Subsections: [{
      name: "dev/extra",
      version_id: 1,
      minimum_version_id: 1,
      Fields: [{ field: "e", version_id: 0, field_exists: false, size: 8 }],
    }],
  });
});

Deno.test("dumpDescription() adds num to arrays only when asked (QEMU 8.1+ layout)", () => {
  const d = dumpDescription(dev, { machine: "m", withNum: true });
  strictEqual(d.Fields![1].num, 4);
  strictEqual(d.Fields![0].num, undefined);
});

Deno.test("dumpRegistry() keys sections by QOM type name and writes each description once", () => {
  const reg = new SectionRegistry();
  reg.registerDevice({ vmsd: dev, state: () => ({}) });
  reg.registerDevice({ vmsd: dev, instanceId: 1, state: () => ({}) });
  reg.registerIterative("ram", 4, {
    saveSetup() {},
    saveComplete() {},
    load: () => Promise.resolve(),
    commit() {},
    abort() {},
  });
  const dump = dumpRegistry(reg, { machine: "virt", typeNames: { dev: "my-dev" } });
  deepStrictEqual([...dump.sections.keys()], ["my-dev"]);
  strictEqual(dump.sections.get("my-dev")!.Name, "my-dev");
  strictEqual(dump.sections.get("my-dev")!.minimum_version_id, 2);
});

Deno.test("the snapshell virt dump parses back, checks clean against itself, and names QEMU's types", () => {
  const m = new VirtMachine({ ramSize: 1 << 20 });
  const text = formatDump(
    dumpRegistry(m.registry, { machine: "virt", typeNames: VIRT_TYPE_NAMES }),
  );
  const dump = parseDump(text);
  for (const t of ["serial-mm", "goldfish_rtc", "riscv.aclint.mtimer", "riscv.sifive.plic"]) {
    ok(dump.sections.has(t), t);
  }
  strictEqual(checkDumps(dump, dump).exitCode, 0);
});

Deno.test("snapshell's virt against QEMU 7.2's virt: what QEMU lacks is reported", async () => {
  const m = new VirtMachine({ ramSize: 1 << 20 });
  const ours = dumpRegistry(m.registry, { machine: "virt", typeNames: VIRT_TYPE_NAMES });
  const qemu = parseDump(await Deno.readTextFile(`${FIX}virt.dump-vmstate.json`));
  const text = renderFindings(checkDumps(ours, qemu).findings);
  ok(text.includes('Section "cpu" does not exist in dest'), text);
  ok(text.includes('Subsection "serial/snapshell-input" not found'), text);
});
