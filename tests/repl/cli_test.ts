import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runCommandLine } from "../../repl/cli.ts";
import { allCommands } from "../../repl/commands/mod.ts";
import { countType, secondsType } from "../../repl/commands/arg_types.ts";
import { type CommandDef, UsageError } from "../../repl/commands/types.ts";
import type { ShellContext } from "../../repl/session.ts";
import { captureContext } from "./_io.ts";

const SNAPSHOTS = new URL("./__snapshots__/", import.meta.url);

/** Compare with a stored snapshot; UPDATE_SNAPSHOTS=1 rewrites it. */
async function assertSnapshot(name: string, actual: string): Promise<void> {
  const file = new URL(name, SNAPSHOTS);
  if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") await Deno.writeTextFile(file, actual + "\n");
  strictEqual(actual + "\n", await Deno.readTextFile(file));
}

Deno.test("help of one command is generated from its definition (snapshot)", async () => {
  for (const name of ["run", "save", "expect"]) {
    const ctx = captureContext();
    strictEqual(await runCommandLine(allCommands(), ctx, [name, "--help"]), 0);
    await assertSnapshot(`help_${name}.txt`, ctx.outText());
  }
});

Deno.test("help lists every command with its summary", async () => {
  const ctx = captureContext();
  strictEqual(await runCommandLine(allCommands(), ctx, ["--help"]), 0);
  for (const d of allCommands()) ok(ctx.outText().includes(d.name), d.name);
});

Deno.test("argument types are checked before the action runs", async () => {
  let ran = false;
  const def: CommandDef<ShellContext> = {
    name: "probe",
    summary: "test command",
    args: [{
      name: "n",
      type: {
        name: "n",
        parse: (w) => {
          if (w !== "1") throw new UsageError("bad");
        },
      },
    }],
    run: () => {
      ran = true;
      return Promise.resolve(0);
    },
  };
  const ctx = captureContext();
  strictEqual(await runCommandLine([def], ctx, ["probe", "2"]), 2);
  strictEqual(ran, false);
  strictEqual(await runCommandLine([def], ctx, ["probe", "1"]), 0);
  strictEqual(ran, true);
});

Deno.test("a usage error prints Usage error and exits 2; unknown commands exit 2", async () => {
  const ctx = captureContext();
  strictEqual(await runCommandLine(allCommands(), ctx, ["mem", "0x80000000", "many"]), 2);
  ok(ctx.errText().includes('Usage error: Invalid count "many"'), ctx.errText());
  strictEqual(await runCommandLine(allCommands(), ctx, ["frobnicate"]), 2);
  ok(ctx.errText().includes("unknown command"));
});

Deno.test("fixed values of a type are listed in help", async () => {
  const ctx = captureContext();
  await runCommandLine(allCommands(), ctx, ["info", "--help"]);
  ok(ctx.outText().includes("(one of: devices, device, machine, status)"));
  deepStrictEqual(ctx.errText(), "");
});

Deno.test("cli help CMD works like help CMD; --help names --store and SNAPSHELL_STORE", async () => {
  const a = captureContext();
  strictEqual(await runCommandLine(allCommands(), a, ["help", "migrate"]), 0);
  const b = captureContext();
  strictEqual(await runCommandLine(allCommands(), b, ["migrate", "--help"]), 0);
  strictEqual(a.outText(), b.outText());
  ok(a.outText().includes("Usage: snapshell migrate"), a.outText());
  const c = captureContext();
  strictEqual(await runCommandLine(allCommands(), c, ["--help"]), 0);
  ok(c.outText().includes("--store DIR"), c.outText());
  ok(c.outText().includes("SNAPSHELL_STORE"), c.outText());
});

Deno.test("commands receive the values their types parsed, flags named in errors", async () => {
  let got: unknown[] = [];
  const def: CommandDef<ShellContext> = {
    name: "probe",
    summary: "test command",
    args: [{ name: "n", type: countType }],
    options: [{ flags: "--wait <s>", description: "seconds", type: secondsType }],
    run: (_ctx, args, opts) => {
      got = [args[0], opts.wait];
      return Promise.resolve(0);
    },
  };
  const ctx = captureContext();
  strictEqual(await runCommandLine([def], ctx, ["probe", "5M", "--wait", "2.5"]), 0);
  deepStrictEqual(got, [5_000_000, 2500]);
  strictEqual(await runCommandLine([def], ctx, ["probe", "1", "--wait", "soon"]), 2);
  ok(ctx.errText().includes('Invalid --wait "soon"'), ctx.errText());
});
