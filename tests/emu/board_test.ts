/** The board table: the virt machine's bus map and IRQ wiring, and the C guests' copy of both. */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { DRAM_BASE, VIRT_BOARD, VIRT_DEVICES } from "../../emu/board.ts";
import { VirtMachine } from "../../emu/virt.ts";

Deno.test("the virt machine's bus map is the board table, in attach order", () => {
  const m = new VirtMachine({ ramSize: 1 << 20 });
  const mmio = m.bus.regions.filter((r) => r.device !== null)
    .map((r) => ({ name: r.name, base: r.base, size: r.size }));
  const table = VIRT_DEVICES.map(({ name, base, size }) => ({ name, base, size }));
  deepStrictEqual(mmio, [...table].sort((a, b) => a.base - b.base));
  deepStrictEqual([...m.devices.keys()], VIRT_DEVICES.map((d) => d.name));
  strictEqual(m.ram.base, DRAM_BASE);
});

function pendingSources(m: VirtMachine): number[] {
  const out: number[] = [];
  for (let irq = 1; irq < m.plic.state.numSources; irq++) {
    if ((m.plic.state.pending[irq >> 5] >>> (irq & 31)) & 1) out.push(irq);
  }
  return out;
}

Deno.test("each device drives the PLIC source the board table gives it", () => {
  for (
    const [dev, raise] of [
      ["uart0", (m: VirtMachine) => {
        m.uart.write(1, 1, 0x02); // IER: transmitter-empty interrupt, THR is empty
      }],
      ["rtc", (m: VirtMachine) => {
        m.rtc.write(0x08, 4, 0); // ALARM_HIGH
        m.rtc.write(0x04, 4, 0); // ALARM_LOW: an alarm in the past fires at once
        m.rtc.write(0x10, 4, 1); // IRQ_ENABLED
      }],
    ] as const
  ) {
    const m = new VirtMachine({ ramSize: 1 << 20 });
    raise(m);
    deepStrictEqual(pendingSources(m), [VIRT_BOARD[dev].irq], dev);
  }
});

Deno.test("the demo guest's C header agrees with the board table", () => {
  const header = Deno.readTextFileSync(new URL("../../emu/guests/rt/rt.h", import.meta.url));
  const defines = new Map(
    [...header.matchAll(/^#define (\w+) (0x[0-9a-f]+|\d+)u?$/gim)].map((m) => [m[1], Number(m[2])]),
  );
  const expected: [string, number | undefined][] = [
    ["RAM_BASE", DRAM_BASE],
    ["FINISHER_BASE", VIRT_BOARD.finisher.base],
    ["RTC_BASE", VIRT_BOARD.rtc.base],
    ["CLINT_BASE", VIRT_BOARD.aclint.base],
    ["PLIC_BASE", VIRT_BOARD.plic.base],
    ["UART_BASE", VIRT_BOARD.uart0.base],
    ["NVME_BASE", VIRT_BOARD.nvme.base],
    ["IRQ_UART", VIRT_BOARD.uart0.irq],
    ["IRQ_RTC", VIRT_BOARD.rtc.irq],
    ["IRQ_NVME", VIRT_BOARD.nvme.irq],
  ];
  for (const [name, value] of expected) strictEqual(defines.get(name), value, name);
  ok(VIRT_DEVICES.every((d) => d.kind.length > 0 && d.size > 0));
});
