/**
 * XBZRLE records corrupted field by field (`xbzrle:N:FIELD=VALUE`) on a real xbzrle precopy
 * stream: each loader check is hit with its typed error and field path, and the machine is
 * exactly as before; random XBZRLE corruptions (the fuzzer's strategy) only ever give a typed
 * error or a clean load.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { applyOps } from "../../../migration/corrupt/apply.ts";
import { CorruptOpError } from "../../../migration/corrupt/errors.ts";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import { opWord, parseOpWord } from "../../../migration/corrupt/ops.ts";
import { randomOp, Rng, STRATEGY_WEIGHTS, Targets } from "../../../migration/corrupt/random.ts";
import { xbzrleRecords } from "../../../migration/corrupt/ram_fields.ts";
import { MigrationError } from "../../../migration/errors.ts";
import { bytesAccess } from "../../../migration/inspect/byte_access.ts";
import { loadError } from "./_load.ts";
import { DEFAULT_PARAMETERS } from "../../../harness/migration/params.ts";
import { precopy } from "../../../harness/migration/precopy.ts";
import { memoryOutgoing, memwriter } from "../../harness/migration/_guest.ts";

async function xbzrleStream(): Promise<Uint8Array> {
  const m = memwriter({ regionPages: 32, pagesPerRound: 16, delay: 2000, reportEvery: 64 });
  m.run(2_000_000);
  const out = memoryOutgoing();
  const status = await precopy(
    m,
    out,
    "mem:",
    { ...DEFAULT_PARAMETERS, downtimeLimitMs: 0, maxRounds: 4, onNoConvergence: "force" },
    {
      capabilities: {
        xbzrle: true,
        autoConverge: false,
        pauseBeforeSwitchover: false,
        postcopyRam: false,
      },
    },
  );
  strictEqual(status.state, "completed");
  return out.bytes();
}

const stream = await xbzrleStream();
const layout = await layoutOfBytes(stream);
const ctx = { layout, input: bytesAccess(stream) };

Deno.test("the stream has XBZRLE records and loads as it is", async () => {
  ok(xbzrleRecords(layout).length > 10, `${xbzrleRecords(layout).length} records`);
  strictEqual(await loadError(stream), undefined);
});

Deno.test("xbzrle:N:FIELD=VALUE parses, prints back and rewrites exactly that field", async () => {
  const op = parseOpWord("xbzrle:2:length=4097");
  deepStrictEqual(op, { op: "set-xbzrle", record: 2, field: "length", value: 4097 });
  strictEqual(opWord(op), "xbzrle:2:length=4097");
  strictEqual(opWord(parseOpWord("xbzrle:0:offset=0x5000")), "xbzrle:0:offset=0x5000");
  throws(() => parseOpWord("xbzrle:0:size=1"), CorruptOpError);
  throws(() => parseOpWord("xbzrle:0"), CorruptOpError);
  const r = xbzrleRecords(layout)[2];
  const out = (await applyOps(ctx, [op])).assemble(stream);
  strictEqual(out.length, stream.length);
  deepStrictEqual([...out.subarray(r.deltaAt! + 1, r.deltaAt! + 3)], [0x10, 0x01]);
  const diff = out.findIndex((v, i) =>
    v !== stream[i] && (i < r.deltaAt! + 1 || i > r.deltaAt! + 2)
  );
  strictEqual(diff, -1, "nothing else changed");
  await (async () => {
    const e = await applyOps(ctx, [parseOpWord("xbzrle:100000:encoding=2")]).catch((x) => x);
    ok(e instanceof CorruptOpError && /XBZRLE records, not a record 100000/.test(e.message));
  })();
});

Deno.test("each XBZRLE field corrupted is refused with its typed error and field path", async () => {
  const r = xbzrleRecords(layout)[0];
  const deltaLen = r.offset + r.size - r.deltaAt! - 3;
  const cases: [string, RegExp, string][] = [
    ["xbzrle:0:encoding=2", /wrong compression/, "xbzrle.encoding"],
    ["xbzrle:0:length=4097", /len overflow/, "xbzrle.length"],
    // The first run's ULEB128 length made three bytes long (QEMU takes at most two).
    [
      "xbzrle:0:data[0]=128 xbzrle:0:data[1]=128",
      /decode error: a zero-run length over 14/,
      "xbzrle.data",
    ],
    // A page past the block's end.
    ["xbzrle:0:offset=0x1000000", /Illegal RAM offset/, ""],
  ];
  for (const [word, msg, path] of cases) {
    const bytes = (await applyOps(ctx, word.split(" ").map(parseOpWord))).assemble(stream);
    const e = await loadError(bytes);
    ok(e instanceof MigrationError, `${word}: ${e}`);
    ok(msg.test(e.message), `${word}: ${e.message}`);
    strictEqual(e.kind, "corrupt", word);
    if (path) strictEqual(e.path, path, word);
  }
  ok(deltaLen > 0);
  // A length one short of the delta: the loader reads one byte less, the stream goes astray.
  const short = (await applyOps(ctx, [parseOpWord(`xbzrle:0:length=${deltaLen - 1}`)]))
    .assemble(stream);
  ok((await loadError(short)) instanceof MigrationError);
});

Deno.test("random XBZRLE corruptions (the fuzzer's set-xbzrle strategy) give typed errors only", async () => {
  const only = Object.fromEntries(
    Object.keys(STRATEGY_WEIGHTS).map((k) => [k, k === "set-xbzrle" ? 1 : 0]),
  ) as typeof STRATEGY_WEIGHTS;
  const targets = new Targets(layout, only);
  const rng = new Rng(11);
  let failed = 0;
  for (let i = 0; i < 16; i++) {
    const op = randomOp(rng, targets);
    strictEqual(op.op, "set-xbzrle");
    let bytes: Uint8Array;
    try {
      bytes = (await applyOps(ctx, [op])).assemble(stream);
    } catch (e) {
      ok(e instanceof CorruptOpError, String(e));
      continue;
    }
    const e = await loadError(bytes);
    if (e !== undefined) {
      ok(e instanceof MigrationError, `${opWord(op)}: ${e}`);
      failed++;
    }
  }
  ok(failed > 4, `${failed} of 16 were refused`);
});
