/**
 * `incoming URI`: receive a migration (file:, exec: or tcp:) into a fresh machine that replaces
 * the current one once the load is accepted. As in QEMU, the guest then runs (in the background,
 * in the interactive shell) unless the destination was started paused (`--paused`, QEMU's `-S`);
 * scripts and the CLI keep it paused and say so. The work is in harness/migration/incoming.ts.
 * @module
 */
import { ConfigError } from "../../emu/errors.ts";
import {
  type MachineProfile,
  qemuVirtOptionsForBlocks,
  type VirtMachine,
  type VirtOptions,
} from "../../emu/virt.ts";
import { receiveMigration } from "../../harness/migration/incoming.ts";
import { MigrationCancelledError } from "../../harness/migration/cancel.ts";
import type { MigrationUri } from "../../harness/migration/uri.ts";
import { probeRamLayout, type RamLayout } from "../../migration/ram/probe.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { EXIT_INTERRUPTED, ranFor } from "../machine_text.ts";
import { progressOf } from "../progress.ts";
import type { Session, ShellContext } from "../session.ts";
import { kib } from "../migration_text.ts";
import { countType, migrationUriType, secondsType, sizeType } from "./arg_types.ts";
import { machineOption } from "./machine_commands_profile.ts";
import { type CommandDef, UsageError } from "./types.ts";

/** `incoming URI`. */
export const incomingCommand: CommandDef<ShellContext> = {
  name: "incoming",
  summary: "Receive a migration (file:, exec: or tcp:) into a fresh machine, then make it current",
  args: [{
    name: "uri",
    description: "file:PATH | exec:COMMAND | tcp:HOST:PORT (port 0: any)",
    type: migrationUriType,
  }],
  options: [
    {
      flags: "--timeout <s>",
      description: "give up when no connection or no data comes for this many seconds",
      type: secondsType,
    },
    {
      flags: "--idle-timeout <s>",
      description: "give up when the stream stops for this many seconds (default: --timeout)",
      type: secondsType,
    },
    {
      flags: "--ram <size>",
      description: "guest RAM (default: the size the stream announces)",
      type: sizeType,
    },
    machineOption("qemu-virt when the stream's RAM blocks are QEMU riscv virt's, else virt"),
    {
      flags: "--prealloc",
      description: "make the destination and map all its RAM before the stream arrives (QEMU's " +
        "-mem-prealloc); RAM size: --ram, else a file's own, else the current machine's",
    },
    {
      flags: "-S, --paused",
      description: "keep the guest paused after the load (QEMU's -S); otherwise the shell runs " +
        "it in the background, as QEMU does",
    },
    {
      flags: "--run <n>",
      description: "then run the guest for n cycles (Ctrl-C stops it), and leave it paused",
      type: countType,
    },
    { flags: "--json", description: "print the outcome (and console output of --run) as JSON" },
  ],
  examples: [
    "incoming tcp:127.0.0.1:4444 --timeout 60",
    "incoming tcp:127.0.0.1:4444 --timeout 60 --idle-timeout 2",
    "incoming tcp:127.0.0.1:4444 --ram 256M --prealloc",
    "incoming -S tcp:127.0.0.1:4444    # stays paused: run (or cont) starts it",
    'incoming "exec:gunzip -c vm.gz"',
  ],
  async run(ctx, args, opts): Promise<number> {
    const uri = args[0] as MigrationUri;
    const ramOverride = opts.ram as number | undefined;
    const profile = opts.machine as MachineProfile | undefined;
    const runCycles = opts.run as number | undefined;
    const session = ctx.session;
    session.requireStopped("receive a migration");
    // Preallocation happens before the listener opens, so it never delays a waiting source; a
    // file says its RAM size first, so a mismatch is caught before seconds of preallocation.
    let prepared: VirtMachine | undefined;
    if (opts.prealloc) {
      const layout = uri.kind === "file" ? await fileLayout(uri.path) : undefined;
      const shape = machineFor(layout, profile, undefined);
      const fileRam = layout && shape.ramSize;
      if (ramOverride !== undefined && fileRam !== undefined && fileRam !== ramOverride) {
        throw new UsageError(
          `${uri.kind === "file" ? uri.path : ""} holds ${fileRam} bytes of RAM, not the ` +
            `${ramOverride} of --ram: nothing was preallocated, the current machine is unchanged`,
        );
      }
      prepared = preallocatedMachine(session, {
        ...shape,
        ramSize: ramOverride ?? fileRam ?? session.machine.ram.size,
      });
    }
    const bar = progressOf(ctx)("incoming", 1);
    let result;
    try {
      result = await session.cancellable((signal) =>
        receiveMigration(
          uri,
          prepared ??
            ((_ram, layout) => makeMachine(session, machineFor(layout, profile, ramOverride))),
          {
            timeoutMs: opts.timeout as number | undefined,
            idleTimeoutMs: opts.idleTimeout as number | undefined,
            signal,
            onListening: (where) => ctx.io.out(`incoming: listening on ${where}`),
            // postcopy: the guest starts at MIG_CMD_POSTCOPY_RUN unless paused (-S, or a script
            // without --run, which then decides where it stops).
            postcopy: {
              paused: !!opts.paused || (runCycles === undefined && !ctx.interactive),
              maxCycles: runCycles,
            },
            onPostcopy: () =>
              ctx.io.out(
                "incoming: the source switched to postcopy; the device state is here" +
                  (opts.paused || (runCycles === undefined && !ctx.interactive)
                    ? " (the guest stays paused; pages still arrive)"
                    : " and the guest runs, pulling missing pages over the return path"),
              ),
            // Only a file has a known length; a socket or pipe shows the bytes so far.
            onProgress: (bytes, total) =>
              uri.kind === "file" && total !== undefined
                ? bar.update(bytes, total)
                : bar.update(bytes, bytes, `received ${kib(bytes)} (stream size unknown)`),
          },
        )
      );
    } catch (e) {
      if (!(e instanceof MigrationCancelledError)) throw e;
      ctx.io.err("incoming: cancelled; nothing was loaded and the current machine is unchanged");
      return EXIT_INTERRUPTED;
    } finally {
      bar.done();
    }
    session.install(result.machine, undefined, "incoming");
    const m = result.machine;
    const loaded =
      `incoming: loaded ${result.report.bytes} bytes (${result.report.sections.length} sections) from ${result.uri} in ${
        result.seconds.toFixed(3)
      } s; the guest has ${m.cpu.instret} instructions retired`;
    let consoleOut = "";
    let ran: { cycles: number; insns: number } | undefined;
    let interrupted = false;
    const pc = result.postcopy;
    const postcopyLine = pc
      ? `incoming: postcopy completed: ${pc.absentAtStart} pages were missing at the start, ` +
        `${pc.faults} page faults, ${pc.requests} pages requested over the return path; the ` +
        `guest ran ${pc.cycles} cycles meanwhile (waited ${(pc.waitSeconds * 1000).toFixed(1)} ms)`
      : undefined;
    if (runCycles !== undefined && pc && pc.cycles >= runCycles) {
      ran = { cycles: pc.cycles, insns: 0 };
    } else if (runCycles !== undefined) {
      // A session run like `run N`: Ctrl-C stops it (the loaded machine stays installed).
      const before = pc ? 0 : m.consoleText.length; // postcopy: the guest printed already
      const count = runCycles - (pc?.cycles ?? 0); // postcopy ran part of it already
      const outcome = await session.startRun({ kind: "cycles", count }, false).run.done;
      ran = { ...outcome, cycles: outcome.cycles + (pc?.cycles ?? 0) };
      interrupted = outcome.end === "interrupted";
      consoleOut = m.consoleText.slice(before);
    }
    const runsOn = runCycles === undefined && !opts.paused && !!ctx.interactive;
    if (opts.json) {
      ctx.io.out(JSON.stringify({
        ok: true,
        uri: result.uri,
        bytes: result.report.bytes,
        sections: result.report.sections.length,
        ramBytes: m.ram.size,
        seconds: result.seconds,
        instret: m.cpu.instret,
        ran: ran?.cycles ?? null,
        ranInsns: ran?.insns ?? null,
        interrupted,
        running: runsOn,
        console: consoleOut,
        postcopy: pc ?? null,
      }));
      if (runsOn) session.startRun({ kind: "forever" }, true, true);
      return interrupted ? EXIT_INTERRUPTED : 0;
    }
    ctx.io.out(loaded);
    if (postcopyLine) ctx.io.out(postcopyLine);
    if (ran !== undefined) {
      if (consoleOut && !session.echo) {
        (ctx.io.raw ?? ((b: Uint8Array) => Deno.stdout.writeSync(b)))(
          new TextEncoder().encode(consoleOut),
        );
        if (!consoleOut.endsWith("\n")) ctx.io.out("");
      }
      if (interrupted) {
        ctx.io.err(
          `incoming: run interrupted after ${ranFor(ran)}; the guest has ${m.cpu.instret} ` +
            "instructions retired",
        );
        return EXIT_INTERRUPTED;
      }
      ctx.io.out(
        `incoming: ran ${ranFor(ran)}; the guest has ${m.cpu.instret} instructions retired; ` +
          "paused",
      );
      return 0;
    }
    if (runsOn) {
      session.startRun({ kind: "forever" }, true, true);
      ctx.io.out(
        "incoming: the guest runs (stop pauses it; incoming -S would have kept it paused)",
      );
    } else if (opts.paused) {
      ctx.io.out("incoming: the guest is paused (-S): run or cont starts it");
    } else {
      ctx.io.out("incoming: the guest is paused (a script runs it with run N, until or for)");
    }
    return 0;
  },
};

/** The RAM blocks a stream file announces, when it has a RAM section. */
async function fileLayout(path: string): Promise<RamLayout | undefined> {
  const f = await Deno.open(path);
  try {
    const head = new Uint8Array(64 * 1024);
    const n = (await f.read(head)) ?? 0;
    const layout = await probeRamLayout(StreamReader.fromBytes(head.subarray(0, n)));
    return layout;
  } catch {
    return undefined; // the load itself says what is wrong with it
  } finally {
    f.close();
  }
}

/**
 * The machine a stream with `layout` needs: `--machine`, else `qemu-virt` for QEMU riscv virt's
 * block list (RAM from `riscv_virt_board.ram`), else `virt` with all of the announced RAM; `--ram`
 * wins over the stream's size.
 */
function machineFor(
  layout: RamLayout | undefined,
  profile: MachineProfile | undefined,
  ramOverride: number | undefined,
): VirtOptions {
  const qemu = qemuVirtOptionsForBlocks(layout?.blocks);
  const shape: VirtOptions = profile === undefined
    ? qemu ?? { profile: "virt", ramSize: layout?.total }
    : profile === "qemu-virt"
    ? { ...qemu, profile, ramSize: qemu?.ramSize ?? layout?.total }
    : { profile, ramSize: layout?.total };
  if (ramOverride !== undefined) shape.ramSize = ramOverride;
  if (shape.ramSize === undefined) delete shape.ramSize;
  return shape;
}

/** A fresh machine of `shape` (the session's default size when that size cannot be built). */
function makeMachine(session: Session, shape: VirtOptions): VirtMachine {
  try {
    return session.freshMachine(shape);
  } catch (e) {
    // A size this emulator cannot build: load into the default size, and let the loader say
    // precisely how the stream does not fit.
    if (e instanceof ConfigError) return session.freshMachine({ profile: shape.profile });
    throw e;
  }
}

/** A fresh machine of `shape` whose RAM is already mapped (`incoming --prealloc`). */
function preallocatedMachine(session: Session, shape: VirtOptions): VirtMachine {
  const m = session.freshMachine(shape);
  m.ram.prefault();
  return m;
}
