import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  deviceType,
  enumType,
  fieldPathType,
  fileType,
  machineRefType,
  newSnapshotType,
  snapshotType,
  startingWith,
} from "../../../repl/commands/arg_types.ts";
import { UsageError } from "../../../repl/commands/types.ts";
import { demoContext } from "../_io.ts";

Deno.test("enumType() parses, lists and completes its words", () => {
  const t = enumType("topic", ["devices", "device", "machine"]);
  strictEqual(t.parse!("device"), "device");
  throws(() => t.parse!("gadget"), UsageError);
  deepStrictEqual(t.values!(), ["devices", "device", "machine"]);
  deepStrictEqual(t.complete!(null as never, "dev", []), ["device", "devices"]);
});

Deno.test("snapshot name types check names and complete from the store", async () => {
  const ctx = await demoContext();
  await ctx.session.store.save("before", ctx.session.machine);
  await ctx.session.store.save("boot", ctx.session.machine);
  throws(() => newSnapshotType.parse!("a/b"), UsageError);
  deepStrictEqual(await snapshotType.complete!(ctx, "b", []), ["before", "boot"]);
  deepStrictEqual(await machineRefType.complete!(ctx, "", []), ["before", "boot", "machine"]);
  strictEqual(machineRefType.parse!("machine"), "machine");
});

Deno.test("deviceType and fieldPathType complete from the current machine", async () => {
  const ctx = await demoContext();
  ok((await deviceType.complete!(ctx, "u", [])).includes("uart0"));
  deepStrictEqual(await fieldPathType.complete!(ctx, "uart", []), ["uart0."]);
  const fields = await fieldPathType.complete!(ctx, "uart0.serial.l", []);
  deepStrictEqual(fields, ["uart0.serial.lcr", "uart0.serial.lsr"]);
  deepStrictEqual(await fieldPathType.complete!(ctx, "cpu.env.gpr[3", []), [
    "cpu.env.gpr[30]",
    "cpu.env.gpr[31]",
    "cpu.env.gpr[3]",
  ]);
  deepStrictEqual(await fieldPathType.complete!(ctx, "gpu.x", []), []);
});

Deno.test("fileType completes directory entries, directories with a slash", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/sub`);
  await Deno.writeTextFile(`${dir}/script.snapshell`, "");
  await Deno.writeTextFile(`${dir}/.hidden`, "");
  deepStrictEqual(await fileType.complete!(null as never, `${dir}/s`, []), [
    `${dir}/script.snapshell`,
    `${dir}/sub/`,
  ]);
  deepStrictEqual(await fileType.complete!(null as never, `${dir}/nope/x`, []), []);
});

Deno.test("startingWith() filters and sorts", () => {
  deepStrictEqual(startingWith(["b", "ab", "aa"], "a"), ["aa", "ab"]);
});
