/** Postcopy's commands on the stream: QEMU 7.2's payload layouts, encoded and decoded. */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  advisePayload,
  decodeDiscard,
  describeCommand,
  discardPayloads,
  MAX_DISCARDS_PER_COMMAND,
  writeCommand,
} from "../../../migration/sections/postcopy_commands.ts";
import { MigCommand } from "../../../migration/sections/constants.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { StreamFormatError } from "../../../migration/errors.ts";

Deno.test("DISCARD: version 0, name with its NUL, be64 start/length pairs, 12 per command", () => {
  const ranges: [number, number][] = Array.from({ length: 13 }, (_, i) => [i * 8192, 4096]);
  const ps = discardPayloads("ram", ranges);
  strictEqual(ps.length, 2);
  strictEqual(ps[0].length, 3 + 3 + 16 * MAX_DISCARDS_PER_COMMAND);
  deepStrictEqual([...ps[0].subarray(0, 6)], [0, 3, 0x72, 0x61, 0x6d, 0]);
  deepStrictEqual(decodeDiscard(ps[1], 0), { idstr: "ram", ranges: [[12 * 8192, 4096]] });
  throws(() => decodeDiscard(new Uint8Array([0, 3, 0x72, 0x61, 0x6d, 1]), 9), StreamFormatError);
  throws(() => decodeDiscard(new Uint8Array([0, 3, 0x72]), 9), /does not fit/);
});

Deno.test("commands are framed as QEMU's qemu_savevm_command_send and described for inspect", () => {
  const w = new StreamWriter();
  writeCommand(w, MigCommand.POSTCOPY_ADVISE, advisePayload(4096));
  const bytes = w.take();
  deepStrictEqual([...bytes.subarray(0, 5)], [0x08, 0, 3, 0, 16]);
  deepStrictEqual(describeCommand(MigCommand.POSTCOPY_ADVISE, bytes.subarray(5), 0), {
    name: "MIG_CMD_POSTCOPY_ADVISE",
    fields: { pageSizeSummary: 4096, targetPageSize: 4096 },
  });
  strictEqual(
    describeCommand(MigCommand.PACKAGED, new Uint8Array(3), 0).problem,
    "length 3, expected 4",
  );
  deepStrictEqual(describeCommand(MigCommand.POSTCOPY_RUN, new Uint8Array(0), 0), {
    name: "MIG_CMD_POSTCOPY_RUN",
    fields: {},
  });
});
