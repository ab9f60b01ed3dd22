import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  VIRTIO_MMIO_REGION_SIZE,
  VirtioMmioTransport,
} from "../../../../emu/devices/qemu/virtio_mmio.ts";

Deno.test("an empty transport answers magic, version 1 and vendor at their exact offsets, 0 elsewhere", () => {
  const t = new VirtioMmioTransport();
  assertEquals([t.read(0, 4), t.read(4, 4), t.read(8, 4), t.read(0xc, 4)], [
    0x7472_6976,
    1,
    0,
    0x554d_4551,
  ]);
  // A narrower access at the register's offset is the value truncated; any other offset is 0.
  assertEquals([t.read(0, 1), t.read(0, 2), t.read(1, 1), t.read(0xe, 2)], [0x76, 0x6976, 0, 0]);
  assertEquals(t.read(VIRTIO_MMIO_REGION_SIZE - 4, 4), 0);
  assertEquals(new VirtioMmioTransport({ legacy: false }).read(4, 4), 2);
});

Deno.test("writes to an empty transport change nothing, and it has no section", () => {
  const t = new VirtioMmioTransport();
  for (const off of [0, 4, 0x30, 0x38, 0x40, 0x70, 0x100]) t.write(off, 4, 0xffff_ffff);
  assertEquals([t.read(0, 4), t.read(4, 4), t.read(0x70, 4), t.read(0x100, 4)], [
    0x7472_6976,
    1,
    0,
    0,
  ]);
  assertEquals(t.sections(), []);
});
