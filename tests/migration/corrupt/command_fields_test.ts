/**
 * Postcopy's commands corrupted field by field (`command:N:FIELD=VALUE`) on a real postcopy
 * stream: each check is hit with its typed error and field path, the machine unchanged; random
 * command corruptions (the fuzzer's strategy) only ever give a typed error or a clean load.
 */
import { ok, strictEqual, throws } from "node:assert/strict";
import { applyOps } from "../../../migration/corrupt/apply.ts";
import { CorruptOpError } from "../../../migration/corrupt/errors.ts";
import { layoutOfBytes } from "../../../migration/corrupt/mod.ts";
import { opWord, parseOpWord } from "../../../migration/corrupt/ops.ts";
import { randomOp, Rng, Targets } from "../../../migration/corrupt/random.ts";
import { commandRecords } from "../../../migration/corrupt/command_fields.ts";
import { IncompatibleError, MigrationError, StreamFormatError } from "../../../migration/errors.ts";
import { bytesAccess } from "../../../migration/inspect/byte_access.ts";
import { MigCommand } from "../../../migration/sections/constants.ts";
import { loadError } from "./_load.ts";
import { postcopyStream } from "../../harness/migration/_guest.ts";

const { bytes: stream } = await postcopyStream();
const layout = await layoutOfBytes(stream);
const ctx = { layout, input: bytesAccess(stream) };
const commands = commandRecords(layout);
const indexOf = (cmd: number) => commands.findIndex((c) => c.cmd === cmd);

async function corrupted(word: string): Promise<unknown> {
  const op = parseOpWord(word);
  strictEqual(opWord(op), word, "the recipe spells it the same way");
  return await loadError((await applyOps(ctx, [op])).assemble(stream));
}

Deno.test("the postcopy stream has its commands, and loads whole", async () => {
  for (
    const c of [
      MigCommand.OPEN_RETURN_PATH,
      MigCommand.POSTCOPY_ADVISE,
      MigCommand.POSTCOPY_RAM_DISCARD,
      MigCommand.PACKAGED,
      MigCommand.POSTCOPY_LISTEN,
      MigCommand.POSTCOPY_RUN,
    ]
  ) ok(indexOf(c) >= 0, `command ${c}`);
  strictEqual(await loadError(stream), undefined);
});

Deno.test("command fields: page sizes, discard ranges, lengths and numbers hit their checks", async () => {
  const advise = indexOf(MigCommand.POSTCOPY_ADVISE);
  const discard = indexOf(MigCommand.POSTCOPY_RAM_DISCARD);
  let e = await corrupted(`command:${advise}:pagesize=8192`);
  ok(e instanceof IncompatibleError && e.path === "advise.pagesize", String(e));
  e = await corrupted(`command:${discard}:start[0]=4097`);
  ok(e instanceof StreamFormatError && e.path === "discard.range", String(e));
  e = await corrupted(`command:${discard}:size[0]=${1 << 30}`);
  ok(e instanceof StreamFormatError && /not page aligned inside/.test(e.message), String(e));
  e = await corrupted(`command:${discard}:data[0]=1`);
  ok(e instanceof StreamFormatError && /unknown version 1/.test(e.message), String(e));
  e = await corrupted(`command:${advise}:cmd=8`);
  ok(
    e instanceof StreamFormatError && /Unsupported migration command 8/.test(e.message),
    String(e),
  );
  throws(() => parseOpWord("command:0:colour=1"), CorruptOpError);
});

Deno.test("random command corruptions give a typed error or a clean load, never a crash", async () => {
  const targets = new Targets(layout);
  const rng = new Rng(7);
  for (let i = 0; i < 40; i++) {
    const op = randomOp(rng, targets, "set-command");
    let bytes: Uint8Array;
    try {
      bytes = (await applyOps(ctx, [op])).assemble(stream);
    } catch (e) {
      ok(e instanceof CorruptOpError, String(e));
      continue;
    }
    const e = await loadError(bytes);
    ok(e === undefined || e instanceof MigrationError, `${opWord(op)}: ${e}`);
  }
});
