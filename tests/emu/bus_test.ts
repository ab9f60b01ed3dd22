import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { Bus, type MmioDevice } from "../../emu/bus.ts";
import { VIRT_BOARD } from "../../emu/board.ts";
import { BusError, ConfigError } from "../../emu/errors.ts";
import { Ram, RAM_BASE } from "../../emu/ram.ts";

function recorder(): MmioDevice & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    read(off, size) {
      log.push(`r${size}@${off}`);
      return 0xffff_ff00 | off;
    },
    write(off, size, v) {
      log.push(`w${size}@${off}=${v.toString(16)}`);
    },
  };
}

Deno.test("map() dispatches with region-relative offsets and masks values to the width", () => {
  const bus = new Bus(new Ram(4096));
  const dev = recorder();
  const { base: UART0_BASE, size } = VIRT_BOARD.uart0;
  bus.map(UART0_BASE, size, dev, "uart0");
  assertEquals(bus.load(UART0_BASE + 5, 1), 0x05);
  bus.store(UART0_BASE + 4, 2, 0x12345678);
  assertEquals(dev.log, ["r1@5", "w2@4=5678"]);
  assertEquals(bus.find(UART0_BASE + 0xff)?.name, "uart0");
});

Deno.test("map() rejects overlapping regions", () => {
  const bus = new Bus(new Ram(4096));
  bus.map(0x1000, 0x100, recorder());
  throws(() => bus.map(0x10ff, 0x10, recorder()), ConfigError);
  throws(() => bus.map(RAM_BASE + 8, 4, recorder()), ConfigError);
});

Deno.test("unmapped addresses throw BusError with the address", () => {
  const bus = new Bus(new Ram(4096));
  throws(
    () => bus.load(0x4000_0000, 4),
    (e: unknown) => e instanceof BusError && e.addr === 0x4000_0000,
  );
  throws(() => bus.store(RAM_BASE + 4094, 4, 0), BusError); // runs off the end of RAM
});

Deno.test("misaligned RAM accesses are split into bytes (little-endian)", () => {
  const ram = new Ram(4096);
  const bus = new Bus(ram);
  bus.store(RAM_BASE + 1, 4, 0xa1b2c3d4);
  assertEquals([...ram.u8.subarray(0, 6)], [0, 0xd4, 0xc3, 0xb2, 0xa1, 0]);
  assertEquals(bus.load(RAM_BASE + 3, 2), 0xa1b2);
  assertEquals(bus.load(RAM_BASE + 1, 4), 0xa1b2c3d4);
});
