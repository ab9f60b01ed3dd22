/**
 * `expect`: assertions for scripts (and the shell). A failed expectation is an ExpectationError,
 * so a script stops there with a non-zero status naming the line.
 *
 *   expect console contains TEXT        expect console not contains TEXT
 *   expect load NAME fails [KIND]       expect load NAME succeeds
 *   expect equal A B                    (snapshot names or `machine`)
 *   expect reg REG OP VALUE             (OP: == != < <= > >=; REG: pc, a0, x5, mepc…)
 *   expect field DEVICE.FIELD OP VALUE
 *   expect exit CODE                    (the guest exited with CODE)
 *   expect fails KIND|any [in SECTION] COMMAND...   (expect_fails.ts)
 * @module
 */
import { getFieldValue } from "../../harness/store/device_state.ts";
import { StoreError } from "../../harness/store/errors.ts";
import { diffMachines, machinesEqual } from "../../harness/store/machine_diff.ts";
import { MigrationError } from "../../migration/errors.ts";
import { ExpectationError } from "../errors.ts";
import type { ShellContext } from "../session.ts";
import { enumType, fieldPathType, machineRefType, startingWith } from "./arg_types.ts";
import { readRegister, registerNames } from "../machine_text.ts";
import { expectFails } from "./expect_fails.ts";
import { loadSnapshotMachine, machineFor, printDiff } from "../snapshot_io.ts";
import { type ArgType, type CommandDef, UsageError } from "./types.ts";

const KINDS = ["corrupt", "incompatible", "environment"];
const OPS = ["==", "!=", "<", "<=", ">", ">="];

function compare(a: bigint, op: string, b: bigint): boolean {
  switch (op) {
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
  throw new UsageError(`Invalid operator "${op}": use ${OPS.join(" ")}`);
}

function toBigInt(text: string): bigint {
  const t = text.trim().replaceAll("_", "");
  if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(t)) throw new UsageError(`Invalid number "${text}"`);
  return t.startsWith("-") ? -BigInt(t.slice(1)) : BigInt(t);
}

function asBigInt(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  return BigInt(v as number);
}

const hex = (v: bigint) => (v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);

function arity(words: string[], n: number, usage: string): void {
  if (words.length !== n) throw new UsageError(`Usage: expect ${usage}`);
}

async function expectConsole(ctx: ShellContext, w: string[]): Promise<string> {
  const negate = w[1] === "not";
  const rest = negate ? w.slice(2) : w.slice(1);
  if (rest[0] !== "contains" || rest.length !== 2) {
    throw new UsageError('Usage: expect console [not] contains "TEXT"');
  }
  const text = ctx.session.machine.consoleText;
  const found = text.includes(rest[1]);
  if (found === negate) {
    const tail = text.slice(-200);
    throw new ExpectationError(
      `console ${negate ? "contains" : "does not contain"} ${JSON.stringify(rest[1])}; ` +
        `it ends with ${JSON.stringify(tail)}`,
    );
  }
  return await Promise.resolve(
    `console ${negate ? "does not contain" : "contains"} ${JSON.stringify(rest[1])}`,
  );
}

async function expectLoad(ctx: ShellContext, w: string[]): Promise<string> {
  const [, name, outcome, kind] = w;
  if (!name || !["fails", "succeeds"].includes(outcome) || (outcome === "succeeds" && kind)) {
    throw new UsageError(
      "Usage: expect load NAME fails [corrupt|incompatible|environment] | succeeds",
    );
  }
  if (kind !== undefined) enumType("kind", KINDS).parse!(kind);
  if (w.length > 4) throw new UsageError(`Unexpected "${w.slice(4).join(" ")}"`);
  let error: MigrationError | StoreError | undefined;
  try {
    await loadSnapshotMachine(ctx, name);
  } catch (e) {
    const typed = e instanceof MigrationError || (e instanceof StoreError && e.kind !== undefined);
    if (!typed) throw e;
    error = e as MigrationError | StoreError;
  }
  if (outcome === "succeeds") {
    if (error) throw new ExpectationError(`load "${name}" failed: ${error.name}: ${error.message}`);
    return `"${name}" loads`;
  }
  if (!error) throw new ExpectationError(`load "${name}" succeeded, expected it to fail`);
  if (kind && error.kind !== kind) {
    throw new ExpectationError(
      `load "${name}" failed as ${error.kind}, expected ${kind}: ${error.name}: ${error.message}`,
    );
  }
  return `load "${name}" fails (${error.kind}): ${error.message}`;
}

async function expectEqual(ctx: ShellContext, w: string[]): Promise<string> {
  arity(w, 3, "equal A B   (snapshot names or machine)");
  const d = await ctx.session.paused(async () =>
    diffMachines(await machineFor(ctx, w[1]), await machineFor(ctx, w[2]))
  );
  if (!machinesEqual(d)) {
    printDiff(ctx, d, 10);
    throw new ExpectationError(`${w[1]} and ${w[2]} differ`);
  }
  return `${w[1]} and ${w[2]} are identical`;
}

function expectValue(what: string, actual: bigint, op: string, text: string): string {
  const want = toBigInt(text);
  if (!compare(actual, op, want)) {
    throw new ExpectationError(`${what} is ${hex(actual)}, expected ${op} ${hex(want)}`);
  }
  return `${what} ${op} ${text} (${hex(actual)})`;
}

async function expectRegOrField(ctx: ShellContext, w: string[]): Promise<string> {
  arity(w, 4, `${w[0]} NAME OP VALUE   (OP: ${OPS.join(" ")})`);
  const [kind, name, op, value] = w;
  if (!OPS.includes(op)) throw new UsageError(`Invalid operator "${op}": use ${OPS.join(" ")}`);
  if (kind === "reg") {
    const v = readRegister(ctx, name);
    if (v === undefined) throw new UsageError(`Unknown register "${name}": try pc, a0, x5, mepc`);
    return await Promise.resolve(expectValue(name, BigInt(v), op, value));
  }
  return expectValue(name, asBigInt(getFieldValue(ctx.session.machine, name)), op, value);
}

function expectExit(ctx: ShellContext, w: string[]): Promise<string> {
  arity(w, 2, "exit CODE");
  const code = ctx.session.machine.exitCode;
  if (code === undefined) throw new ExpectationError("the guest has not exited");
  return Promise.resolve(expectValue("exit status", BigInt(code), "==", w[1]));
}

/** Completes each word of an assertion from the words before it. */
const assertionType: ArgType<ShellContext> = {
  name: "assertion",
  async complete(ctx, partial, prev) {
    const [topic] = prev;
    const n = prev.length;
    if (n === 0) {
      return startingWith(["console", "load", "equal", "reg", "field", "exit", "fails"], partial);
    }
    if (topic === "console") return n === 1 ? startingWith(["contains", "not"], partial) : [];
    if (topic === "load") {
      if (n === 1) return startingWith(await ctx.session.store.names(), partial);
      if (n === 2) return startingWith(["fails", "succeeds"], partial);
      return n === 3 && prev[2] === "fails" ? startingWith(KINDS, partial) : [];
    }
    if (topic === "equal") return n <= 2 ? await machineRefType.complete!(ctx, partial, []) : [];
    if (topic === "reg" && n === 1) return startingWith(registerNames(), partial);
    if (topic === "field" && n === 1) return await fieldPathType.complete!(ctx, partial, []);
    if ((topic === "reg" || topic === "field") && n === 2) return startingWith(OPS, partial);
    return [];
  },
};

/** `expect ...`: one assertion; fails the script when it does not hold. */
export const expectCommand: CommandDef<ShellContext> = {
  name: "expect",
  summary: "Assert something about the console, a load, two machines, a register or a field",
  args: [{
    name: "assertion",
    variadic: true,
    description: "console [not] contains TEXT | load NAME fails [KIND] | load NAME succeeds | " +
      "equal A B | reg REG OP VALUE | field DEVICE.FIELD OP VALUE | exit CODE | " +
      "fails KIND|any [in SECTION] COMMAND...",
    type: assertionType,
  }],
  literalArgs: true,
  examples: [
    'expect console contains "heartbeat 1"',
    "expect load damaged fails corrupt",
    "expect equal machine before",
    "expect reg pc == 0x80000000",
    "expect field uart0.serial.lsr == 0x60",
    "expect fails corrupt in ram incoming tcp:127.0.0.1:4444 --timeout 10",
  ],
  async run(ctx, args) {
    const words = args as string[];
    const topic = words[0];
    let what: string;
    if (topic === "console") what = await expectConsole(ctx, words);
    else if (topic === "load") what = await expectLoad(ctx, words);
    else if (topic === "equal") what = await expectEqual(ctx, words);
    else if (topic === "reg" || topic === "field") what = await expectRegOrField(ctx, words);
    else if (topic === "exit") what = await expectExit(ctx, words);
    else if (topic === "fails") {
      what = await expectFails(ctx, words.slice(1), (m) => new ExpectationError(m));
    } else {
      throw new UsageError(
        `Unknown expectation "${topic}": use console, load, equal, reg, field, exit or fails`,
      );
    }
    ctx.io.out(`ok: ${what}`);
    return 0;
  },
};
