import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as devices from "../../../emu/devices/mod.ts";

Deno.test("mod.ts exports every device class and description", () => {
  const names = [
    "Uart16550",
    "Aclint",
    "SifivePlic",
    "SifiveTest",
    "GoldfishRtc",
    "NvmeQueueDevice",
    "vmstateUart16550",
    "vmstateRiscvMtimer",
    "vmstateRiscvAclintSwi",
    "vmstateSifivePlic",
    "vmstateGoldfishRtc",
    "vmstateNvme",
    "registerSections",
  ];
  assertEquals(names.filter((n) => !(n in devices)), []);
});

Deno.test("section idstrs are unique across devices", () => {
  const ids = [
    devices.vmstateUart16550,
    devices.vmstateRiscvMtimer,
    devices.vmstateRiscvAclintSwi,
    devices.vmstateSifivePlic,
    devices.vmstateGoldfishRtc,
    devices.vmstateNvme,
  ].map((d) => d.name);
  assertEquals(new Set(ids).size, ids.length);
});
