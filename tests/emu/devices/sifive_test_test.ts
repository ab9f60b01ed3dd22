import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { type FinisherEvent, SifiveTest } from "../../../emu/devices/sifive_test.ts";

function setup() {
  const events: FinisherEvent[] = [];
  const dev = new SifiveTest({ onFinish: (e) => events.push(e) });
  return { events, dev };
}

Deno.test("0x5555 passes, (code << 16) | 0x3333 fails with code, 0x7777 resets", () => {
  const { events, dev } = setup();
  dev.write(0, 4, 0x5555);
  dev.write(0, 4, (42 << 16) | 0x3333);
  dev.write(0, 4, 0x7777);
  assertEquals(events, [{ kind: "exit", code: 0 }, { kind: "exit", code: 42 }, { kind: "reset" }]);
});

Deno.test("other values, offsets and byte stores are ignored; reads are 0", () => {
  const { events, dev } = setup();
  dev.write(0, 4, 0x1234);
  dev.write(4, 4, 0x5555);
  dev.write(0, 1, 0x55);
  assertEquals(events, []);
  assertEquals(dev.read(0, 4), 0);
});

Deno.test("16-bit stores finish too (QEMU accepts 2..4-byte accesses)", () => {
  const { events, dev } = setup();
  dev.write(0, 2, 0x5555);
  assertEquals(events, [{ kind: "exit", code: 0 }]);
});

Deno.test("the finisher has no state and no section, like QEMU 7.2", () => {
  assertEquals(setup().dev.sections(), []);
});
