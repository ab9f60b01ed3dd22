/** The configuration record: machine name, optional subsections, loaded at version 0. */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { UnknownEntityError } from "../../../migration/errors.ts";
import {
  checkMachineName,
  machineName,
  makeConfiguration,
  vmstateConfiguration,
} from "../../../migration/sections/configuration.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { loadState } from "../../../migration/vmstate/load.ts";
import { b, be32, hex, load, save, str8 } from "../_helpers.ts";

Deno.test("vmstateConfiguration loads the record of a real QEMU 7.2 stream at version 0", async () => {
  const real = await Deno.readFile(
    new URL("../../fixtures/qemu72/virt-running.qemu", import.meta.url),
  );
  strictEqual(real[8], 0x07);
  const r = StreamReader.fromBytes(real.subarray(9, 64));
  const conf = makeConfiguration("");
  loadState(r, vmstateConfiguration, conf, 0);
  strictEqual(machineName(conf), "virt");
  strictEqual(conf.len, 4);
  deepStrictEqual(conf.capabilities, []);
  strictEqual(r.offset, 8, "the record ends where the ram START section begins");
  strictEqual(real[9 + r.offset], 0x01);
});

Deno.test("vmstateConfiguration saves the page-bits and capabilities subsections when needed", () => {
  const conf = makeConfiguration("virt", ["x-ignore-shared", "mapped-ram"]);
  conf.sendPageBits = true;
  conf.targetPageBits = 16;
  const wire = b(
    /* len */ be32(4),
    "virt",
    0x05,
    str8("configuration/target-page-bits"),
    be32(1),
    /* target_page_bits */ be32(16),
    0x05,
    str8("configuration/capabilities"),
    be32(1),
    /* caps_count */ be32(2),
    str8("x-ignore-shared"),
    str8("mapped-ram"),
  );
  strictEqual(hex(save(vmstateConfiguration, conf)), hex(wire));
  const back = load(vmstateConfiguration, wire, makeConfiguration(""), 0);
  deepStrictEqual(back, { ...conf, sendPageBits: false });
});

Deno.test("checkMachineName() compares over the received length, like QEMU's strncmp", () => {
  checkMachineName(makeConfiguration("pc-q35"), "pc-q35-7.2", 9);
  const e = (() => {
    try {
      checkMachineName(makeConfiguration("pc-q35-7.2"), "pc-q35", 9);
    } catch (x) {
      return x as UnknownEntityError;
    }
  })();
  strictEqual(e instanceof UnknownEntityError, true);
  strictEqual(e!.offset, 9);
  strictEqual(
    e!.message.startsWith("Machine type received is 'pc-q35-7.2' and local is 'pc-q35'"),
    true,
  );
  // An empty name would match anything in QEMU; we refuse it.
  throws(() => checkMachineName(makeConfiguration(""), "virt", 9), UnknownEntityError);
});
