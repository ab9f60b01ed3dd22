import { rejects, strictEqual } from "node:assert/strict";
import { probeMachineName } from "../../../harness/store/probe.ts";
import { StoreError } from "../../../harness/store/errors.ts";
import { StreamFormatError } from "../../../migration/errors.ts";

const FIX = new URL("../../fixtures/qemu72/", import.meta.url).pathname;

Deno.test("probeMachineName() reads the machine type of a QEMU stream", async () => {
  strictEqual(await probeMachineName(`${FIX}virt-running.qemu`), "virt");
});

Deno.test("probeMachineName() refuses a file without the QEVM magic and a missing file", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "QE");
  await rejects(probeMachineName(path), StreamFormatError);
  await rejects(probeMachineName(`${path}.missing`), StoreError);
});

Deno.test("probeMachineName() says ? when the configuration record is cut short", async () => {
  const bytes = await Deno.readFile(`${FIX}virt-running.qemu`);
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, bytes.subarray(0, 12));
  strictEqual(await probeMachineName(path), "?");
});
