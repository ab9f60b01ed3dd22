/**
 * Extract mode (analyze-migration.py `-x`): desc.json, one file per RAMBlock named after its
 * idstr and sized to its used_length, and state.json. Pages stream from the input straight to
 * disk, so guests of any size can be extracted with a few MiB of memory.
 * @module
 */
import { TransportError } from "../errors.ts";
import { analyzeDesc, analyzeState, pythonJson } from "./analyze.ts";
import { inspect } from "./decoder.ts";
import type { InspectInput } from "./input.ts";
import type { InspectResult, InspectWarning } from "./model.ts";
import type { RamSink } from "./ram.ts";

/** What extract wrote, in the script's stdout order, and the decode result behind it. */
export interface ExtractReport {
  /** Names the script prints: desc.json, each RAMBlock, state.json. */
  printed: string[];
  /** Files written, relative to the output directory, with their sizes. */
  files: { path: string; size: number }[];
  result: InspectResult;
}

const COALESCE = 4 * 1024 * 1024;

/** Extract `input` into `dir` (created if missing), like `analyze-migration.py -x` run there. */
export async function extract(input: InspectInput, dir: string): Promise<ExtractReport> {
  await Deno.mkdir(dir, { recursive: true });
  const sink = new FileSink(dir);
  let result: InspectResult;
  try {
    result = await inspect(input, { sink });
  } finally {
    await sink.close();
  }
  result.warnings.push(...sink.warnings);
  const printed: string[] = [];
  const written: string[] = [];
  const desc = analyzeDesc(result);
  if (desc !== undefined) {
    await Deno.writeTextFile(`${dir}/desc.json`, pythonJson(desc));
    printed.push("desc.json");
    written.push("desc.json");
  }
  printed.push(...sink.printed);
  written.push(...sink.paths);
  await Deno.writeTextFile(`${dir}/state.json`, pythonJson(analyzeState(result)));
  printed.push("state.json");
  written.push("state.json");
  const files = [];
  for (const path of [...new Set(written)]) {
    files.push({ path, size: (await Deno.stat(`${dir}/${path}`)).size });
  }
  return { printed, files, result };
}

/** Map a RAMBlock idstr to a safe relative path: no empty, `.` or `..` components. */
export function blockPath(name: string): string {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  return parts.map((p) => (p === ".." ? "%2e%2e" : p)).join("/") || "%2f";
}

class FileSink implements RamSink {
  readonly printed: string[] = [];
  readonly paths: string[] = [];
  readonly warnings: InspectWarning[] = [];
  private files = new Map<string, Deno.FsFile>();
  private pending?: { block: string; addr: number; buf: Uint8Array; len: number };

  constructor(private readonly dir: string) {}

  async blocks(list: { name: string; length: bigint }[]): Promise<void> {
    await this.flush();
    for (const { name, length } of list) {
      const path = blockPath(name);
      if (path !== name.replace(/^\/+/, "")) {
        this.warnings.push({
          code: "extract-path",
          offset: 0,
          message: `RAM block "${name}" written as "${path}" to stay inside the output directory`,
        });
      }
      const full = `${this.dir}/${path}`;
      const slash = full.lastIndexOf("/");
      await Deno.mkdir(full.slice(0, slash), { recursive: true });
      this.files.get(name)?.close();
      let file: Deno.FsFile;
      try {
        file = await Deno.open(full, { write: true, create: true, truncate: true });
      } catch (e) {
        throw new TransportError(`Cannot create ${full}: ${(e as Error).message}`, {}, {
          cause: e,
        });
      }
      await file.truncate(Number(length));
      this.files.set(name, file);
      if (!this.paths.includes(path)) {
        this.paths.push(path);
        this.printed.push(name);
      }
    }
  }

  async page(block: string, addr: number, data: Uint8Array): Promise<void> {
    const p = this.pending;
    if (p && p.block === block && p.addr + p.len === addr && p.len + data.length <= p.buf.length) {
      p.buf.set(data, p.len);
      p.len += data.length;
      return;
    }
    await this.flush();
    const buf = this.pending?.buf ?? new Uint8Array(Math.max(COALESCE, data.length));
    buf.set(data, 0);
    this.pending = { block, addr, buf, len: data.length };
  }

  async fill(block: string, addr: number, byte: number, pageSize: number): Promise<void> {
    await this.page(block, addr, new Uint8Array(pageSize).fill(byte));
  }

  private async flush(): Promise<void> {
    const p = this.pending;
    if (!p || p.len === 0) return;
    const file = this.files.get(p.block);
    if (file) {
      await file.seek(p.addr, Deno.SeekMode.Start);
      let off = 0;
      while (off < p.len) off += await file.write(p.buf.subarray(off, p.len));
    }
    p.len = 0;
  }

  async close(): Promise<void> {
    await this.flush();
    for (const f of this.files.values()) f.close();
    this.files.clear();
  }
}
