import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { BusError, ConfigError } from "../../emu/errors.ts";
import { Ram, RAM_BASE, RAM_DEFAULT_SIZE } from "../../emu/ram.ts";

Deno.test("Ram() defaults to 128 MiB at 0x80000000 with one dirty bit per 4 KiB page", () => {
  const ram = new Ram();
  assertEquals([ram.base, ram.size, ram.pageCount], [RAM_BASE, RAM_DEFAULT_SIZE, 32768]);
  assertEquals(ram.dirty.length, 1024);
});

Deno.test("Ram() rejects sizes that are not positive multiples of 4 KiB", () => {
  throws(() => new Ram(1000), ConfigError);
  throws(() => new Ram(0), ConfigError);
});

Deno.test("write() marks every touched page dirty and drops decoded ops there", () => {
  const ram = new Ram(64 * 1024);
  ram.decoded.fill(7);
  ram.write(RAM_BASE + 0x0ffe, new Uint8Array(4)); // spans pages 0 and 1
  assertEquals([...ram.dirtyPages()], [0, 1]);
  assertEquals([...ram.decoded.subarray(0x3fe, 0x402)], [7, 0, 0, 7]);
});

Deno.test("syncDirty() returns the bitmap and clears it; markAllDirty() sets only real pages", () => {
  const ram = new Ram(40 * 4096);
  ram.write(RAM_BASE + 33 * 4096, new Uint8Array([1]));
  const snap = ram.syncDirty();
  assertEquals([...ram.dirtyPages(snap)], [33]);
  assertEquals([...ram.dirtyPages()], []);
  ram.markAllDirty();
  assertEquals([...ram.dirtyPages()].length, 40);
  assert(ram.isDirty(39) && !ram.isDirty(40));
});

Deno.test("read() copies and write() outside RAM throws BusError", () => {
  const ram = new Ram(4096);
  ram.write(RAM_BASE + 4, new Uint8Array([1, 2, 3]));
  assertEquals([...ram.read(RAM_BASE + 4, 3)], [1, 2, 3]);
  throws(() => ram.write(RAM_BASE + 4095, new Uint8Array(2)), BusError);
  assert(!ram.contains(RAM_BASE - 1) && ram.contains(RAM_BASE + 4095, 1));
});

/**
 * How much a fresh process's resident memory grows when it makes a 64 MiB Ram and, with
 * `prefault`, prefaults it. Measured in a child process: in the test process, RSS depends on
 * what earlier tests allocated and freed (reused pages do not grow it), so order would decide.
 */
async function rssGrowthOf64MiB(prefault: boolean): Promise<number> {
  const ram = new URL("../../emu/ram.ts", import.meta.url).href;
  const code = `import { Ram } from ${JSON.stringify(ram)};
const before = Deno.memoryUsage().rss;
const ram = new Ram(64 << 20);
if (${prefault}) ram.prefault();
console.log(Deno.memoryUsage().rss - before);`;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code], stderr: "inherit" })
    .output();
  assert(out.success, "the measuring process failed");
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test("prefault() makes all of RAM resident; a Ram that is only made does not", async () => {
  const made = await rssGrowthOf64MiB(false);
  const prefaulted = await rssGrowthOf64MiB(true);
  assert(made < 16 << 20, `making a 64 MiB Ram made ${made} bytes resident`);
  assert(prefaulted >= 60 << 20, `prefault() made ${prefaulted} bytes resident, expected 64 MiB`);
});

Deno.test("prefault() changes no byte, dirty bit or written bit", () => {
  const ram = new Ram(64 << 20);
  ram.write(RAM_BASE + 0x1234, new Uint8Array([9, 8, 7]));
  ram.clearDirty();
  ram.write(RAM_BASE + 5 * 4096, new Uint8Array([1]));
  const dirty = ram.dirty.slice(), written = ram.written.slice();
  ram.prefault();
  assertEquals([...ram.read(RAM_BASE + 0x1234, 3)], [9, 8, 7]);
  assertEquals(ram.u8[5 * 4096], 1);
  let nonzeroWords = 0;
  for (let i = 0; i < ram.i32.length; i++) if (ram.i32[i] !== 0) nonzeroWords++;
  assertEquals(nonzeroWords, 2, "only the two words written hold data");
  assertEquals([ram.dirty, ram.written], [dirty, written]);
});

Deno.test("postcopy hook: absent pages fault on the bus before any byte moves, until they arrive", async () => {
  const { Bus } = await import("../../emu/bus.ts");
  const { PageAbsentError } = await import("../../emu/ram.ts");
  const ram = new Ram(4 * 4096);
  const bus = new Bus(ram);
  const absent = new Uint32Array(1);
  absent[0] = 0b0110; // pages 1 and 2
  ram.markAbsent(absent);
  assertEquals(ram.absentPages, 2);
  assert(ram.isPresent(0) && !ram.isPresent(4096));
  bus.store(RAM_BASE + 8, 4, 0x1234);
  throws(() => bus.load(RAM_BASE + 4096, 4), (e: unknown) => {
    return e instanceof PageAbsentError && e.page === 1;
  });
  throws(() => bus.store(RAM_BASE + 2 * 4096 + 4, 4, 7), PageAbsentError);
  assertEquals(ram.u32[(2 * 4096 + 4) >> 2], 0, "nothing was written");
  ram.markPresent(1);
  assertEquals(bus.load(RAM_BASE + 4096, 4), 0);
  ram.markPresent(2);
  assertEquals(ram.absent, null, "the last page turns the hook off");
  ram.markAbsent(new Uint32Array(1));
  assertEquals(ram.absent, null, "an empty set is no set");
});
