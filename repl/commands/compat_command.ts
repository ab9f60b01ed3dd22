/**
 * `compat OLD.json NEW.json`: static migration compatibility of two `-dump-vmstate` dumps (from
 * QEMU or snapshell), printing exactly what QEMU's vmstate-static-checker.py prints and exiting
 * with its status, then what snapshell's protocol extensions make of each finding.
 * `compat --stream FILE`: can this stream load into a machine like the current one? A dry run
 * that explains itself; `--decode` shows a self-describing stream without any description.
 * @module
 */
import { parseDump } from "../../migration/compat/dump_model.ts";
import { extensionSafety, nameAdvice } from "../../migration/compat/extension_safety.ts";
import { checkDumps, renderFindings } from "../../migration/compat/static_checker.ts";
import { canLoadHere } from "../../migration/extensions/loadability.ts";
import {
  decodeTaggedStream,
  renderTaggedStream,
} from "../../migration/extensions/tagged_decode.ts";
import { fileSource } from "../../migration/stream/io.ts";
import { qemuVirtOptionsForFile } from "../../emu/virt.ts";
import {
  isForeignQemuStream,
  qemuStreamBlockers,
  renderBlockers,
} from "../../emu/qemu_stream_fit.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import type { ShellContext } from "../session.ts";
import { fileType } from "./arg_types.ts";
import { type CommandDef, UsageError } from "./types.ts";

async function readDump(path: string) {
  const text = await Deno.readTextFile(path);
  try {
    return parseDump(text);
  } catch (e) {
    throw new UsageError(`${path} is not -dump-vmstate JSON: ${(e as Error).message}`);
  }
}

async function openFile(path: string, files: Deno.FsFile[]): Promise<StreamReader> {
  const f = await Deno.open(path);
  files.push(f);
  return StreamReader.fromSource(fileSource(f, (await f.stat()).size));
}

async function staticCheck(
  ctx: ShellContext,
  args: string[],
  opts: Record<string, unknown>,
): Promise<number> {
  if (args.length !== 2) throw new UsageError("compat needs OLD.json and NEW.json (or --stream)");
  let src = await readDump(args[0]);
  let dest = await readDump(args[1]);
  if (opts.reverse) [src, dest] = [dest, src];
  const result = checkDumps(src, dest);
  const safety = extensionSafety(result, src, dest);
  const advice = [...nameAdvice(src), ...nameAdvice(dest)].map((a) => a.text);
  if (opts.json) {
    ctx.io.out(JSON.stringify({
      exitCode: result.exitCode,
      findings: result.findings,
      extensions: safety.map((s) => ({ text: s.finding.text, verdict: s.verdict, why: s.text })),
      advice: [...new Set(advice)],
    }));
    return result.exitCode;
  }
  const text = renderFindings(result.findings);
  if (text) ctx.io.out(text.replace(/\n$/, ""));
  if (opts.qemuOnly) return result.exitCode;
  if (safety.length) {
    ctx.io.out("");
    ctx.io.out("with snapshell's protocol extensions:");
    for (const s of safety) ctx.io.out(`  [${s.verdict}] ${s.finding.text}\n    ${s.text}`);
  }
  const unique = [...new Set(advice)];
  if (unique.length) {
    ctx.io.out("");
    ctx.io.out("subsection names:");
    for (const a of unique) ctx.io.out(`  ${a}`);
  }
  return result.exitCode;
}

async function streamCheck(
  ctx: ShellContext,
  path: string,
  opts: Record<string, unknown>,
): Promise<number> {
  const files: Deno.FsFile[] = [];
  try {
    if (opts.decode) {
      const decoded = await decodeTaggedStream(await openFile(path, files));
      for (const line of renderTaggedStream(decoded)) ctx.io.out(line);
      return 0;
    }
    const s = ctx.session;
    // A fresh machine shaped like the current one (the dry run never touches the live machine),
    // or QEMU 7.2's riscv virt for a stream that lists its RAM blocks.
    const qemu = await qemuVirtOptionsForFile(path);
    const m = s.freshMachine(
      qemu ?? { ramSize: s.machine.ram.size, profile: s.machine.profile },
    );
    if (qemu) {
      ctx.io.out(
        `here: machine qemu-virt with ${m.ram.size >> 20} MiB RAM (the stream's RAM blocks are ` +
          "QEMU 7.2 riscv virt's)",
      );
    }
    const answer = await canLoadHere(() => openFile(path, files), m.registry, {
      machine: m.machineType,
      ...s.streamOptions().load,
    });
    for (const line of answer.lines) ctx.io.out(line);
    if (!answer.ok && (await Deno.stat(path)).isFile) {
      const bytes = await Deno.readFile(path);
      if (isForeignQemuStream(bytes)) {
        const blockers = await qemuStreamBlockers(bytes);
        if (blockers.length) ctx.io.out("what stands in the way of resuming it here:");
        for (const line of renderBlockers(blockers)) ctx.io.out(`  ${line}`);
      }
    }
    return answer.ok ? 0 : 1;
  } finally {
    for (const f of files) f.close();
  }
}

/** `compat`. */
export const compatCommand: CommandDef<ShellContext> = {
  name: "compat",
  summary:
    "Static compatibility of two -dump-vmstate files (QEMU's checker + extensions), or: can a stream load here?",
  args: [
    { name: "old", optional: true, description: "source -dump-vmstate JSON", type: fileType },
    { name: "new", optional: true, description: "destination -dump-vmstate JSON", type: fileType },
  ],
  options: [
    { flags: "--reverse", description: "check NEW -> OLD (backward migration)" },
    { flags: "--qemu-only", description: "print only what vmstate-static-checker.py prints" },
    { flags: "--json", description: "findings, extension verdicts and advice as JSON" },
    {
      flags: "--stream <file>",
      description: "instead: can this stream load into the current machine? (dry run)",
      type: fileType,
    },
    { flags: "--decode", description: "with --stream: show a self-describing stream, no schema" },
  ],
  examples: [
    "compat old.json new.json",
    "compat old.json new.json --reverse",
    "compat --stream snap.qemu",
    "compat --stream snap.qemu --decode",
  ],
  run(ctx, args, opts) {
    if (opts.stream !== undefined) {
      if (args.length) throw new UsageError("compat --stream takes no dump files");
      return streamCheck(ctx, String(opts.stream), opts);
    }
    if (opts.decode) throw new UsageError("--decode goes with --stream FILE");
    return staticCheck(ctx, args as string[], opts);
  },
};
