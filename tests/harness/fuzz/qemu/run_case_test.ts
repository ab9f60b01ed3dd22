import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { QemuPool } from "../../../../harness/fuzz/qemu/pool.ts";
import { skip, snapshellQemus, tickerSeed } from "./_seed.ts";

const ignored = skip ? ` (ignored: ${skip})` : "";

/** `bytes` with the first `from` replaced by `to` (same length): a section QEMU does not have. */
function rename(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const f = new TextEncoder().encode(from);
  const out = bytes.slice();
  for (let i = 0; i + f.length <= out.length; i++) {
    if (f.every((c, j) => out[i + j] === c)) {
      out.set(new TextEncoder().encode(to), i);
      return out;
    }
  }
  throw new Error(`${from} not in the stream`);
}

Deno.test({
  name:
    `QEMU classifies hand-made cases: truncated and unknown section rejected, the seed runs${ignored}`,
  ignore: skip !== null,
  async fn() {
    const { argv, bytes } = await tickerSeed();
    const pool = await QemuPool.create({ argv, warm: 1, runMs: 300 });
    try {
      const valid = await pool.run(bytes);
      strictEqual(valid.class, "accepted", JSON.stringify(valid));
      ok(valid.consoleBytes! > 0, "the ticker's console output continues after cont");

      const truncated = await pool.run(bytes.subarray(0, 4096));
      strictEqual(truncated.class, "rejected", JSON.stringify(truncated));
      strictEqual(truncated.exit, "exit code 1");
      ok(/qemu-system-riscv32: /.test(truncated.detail ?? ""), String(truncated.detail));

      const unknown = await pool.run(rename(bytes, "goldfish_rtc", "goldfish_rtX"));
      strictEqual(unknown.class, "rejected", JSON.stringify(unknown));
      ok(
        /Unknown savevm section or instance 'goldfish_rtX'/.test(unknown.detail!),
        String(unknown.detail),
      );
    } finally {
      await pool.close();
    }
    deepStrictEqual(await snapshellQemus(), [], "every QEMU is gone");
  },
});

Deno.test("a QEMU that is not installed never starts: no-start with the reason", async () => {
  const pool = await QemuPool.create({
    argv: ["qemu-system-does-not-exist", "-M", "virt"],
    warm: 1,
  });
  try {
    const o = await pool.run(new Uint8Array(16));
    strictEqual(o.class, "no-start");
    ok(/qemu-system-does-not-exist/.test(o.detail ?? ""), String(o.detail));
  } finally {
    await pool.close();
  }
});
