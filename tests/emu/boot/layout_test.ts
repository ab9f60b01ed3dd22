import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { fdtAddress, initrdStart, kernelStart } from "../../../emu/boot/layout.ts";

const MiB = 1024 * 1024;
const RAM = 0x8000_0000;

Deno.test("kernelStart() rounds the firmware's end up to 4 MiB (rv32)", () => {
  assertEquals(kernelStart(RAM + 150_000), RAM + 4 * MiB); // OpenSBI's fw_dynamic.bin
  assertEquals(kernelStart(RAM), RAM); // -bios none
  assertEquals(kernelStart(RAM + 4 * MiB), RAM + 4 * MiB);
  assertEquals(kernelStart(RAM + 4 * MiB + 1), RAM + 8 * MiB);
});

Deno.test("initrdStart() is half of RAM after the kernel, at most 128 MiB", () => {
  const k = RAM + 4 * MiB;
  assertEquals(initrdStart(k, 128 * MiB), k + 64 * MiB);
  assertEquals(initrdStart(k, 32 * MiB), k + 16 * MiB);
  assertEquals(initrdStart(k, 256 * MiB), k + 128 * MiB);
  assertEquals(initrdStart(k, 1024 * MiB), k + 128 * MiB);
});

Deno.test("fdtAddress() matches QEMU 7.2 (1 MiB buffer, 2 MiB aligned, below 3 GiB)", () => {
  // Read from QEMU 7.2's reset ROM (monitor `xp /2wx 0x1020`, -bios none) for these -m sizes.
  assertEquals(fdtAddress(RAM, 16 * MiB), 0x80e0_0000);
  assertEquals(fdtAddress(RAM, 128 * MiB), 0x87e0_0000);
  assertEquals(fdtAddress(RAM, 32 * MiB), 0x81e0_0000);
  assertEquals(fdtAddress(RAM, 256 * MiB), 0x8fe0_0000);
  assertEquals(fdtAddress(RAM, 1024 * MiB), 0xbfe0_0000);
  assertEquals(fdtAddress(RAM, 2047 * MiB), 0xbfe0_0000); // capped by the 3 GiB ceiling
  assertEquals(fdtAddress(RAM, 16 * MiB, 3 * MiB), 0x80c0_0000); // a bigger tree moves down
});
