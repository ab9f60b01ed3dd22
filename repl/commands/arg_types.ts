/**
 * The argument types commands share: each checks a word, lists its values for help when the set
 * is fixed, and completes a partial word (snapshot names from the store, device names and field
 * paths from the current machine, file names from the disk).
 * @module
 */
import { deviceNames, fieldPaths, resolveSections } from "../../harness/store/device_state.ts";
import { nameProblem } from "../../harness/store/names.ts";
import type { ShellContext } from "../session.ts";
import {
  type MigrationUri,
  MigrationUriError,
  parseMigrationUri,
} from "../../harness/migration/uri.ts";
import { parseAddress, parseCount, parseDuration, parseSize } from "./sizes.ts";
import { type ArgType, UsageError } from "./types.ts";

/** Candidates from `values` that start with `partial`. */
export function startingWith(values: Iterable<string>, partial: string): string[] {
  return [...values].filter((v) => v.startsWith(partial)).sort();
}

/** One of a fixed list of words. */
export function enumType(name: string, words: string[]): ArgType {
  return {
    name,
    parse(word) {
      if (!words.includes(word)) {
        throw new UsageError(`Invalid ${name} "${word}": use one of ${words.join(", ")}`);
      }
      return word;
    },
    values: () => words,
    complete: (_ctx, partial) => startingWith(words, partial),
  };
}

/** A count (`1000000`, `1e6`, `5M`): a number, zero allowed. */
export const countType: ArgType = { name: "count", parse: (w, what) => parseCount(w, what) };

/** A count of at least one. */
export const positiveCountType: ArgType = {
  name: "count",
  parse(w, what = "count") {
    const v = parseCount(w, what);
    if (v < 1) throw new UsageError(`Invalid ${what} "${w}": it must be at least 1`);
    return v;
  },
};

/** A RAM size or a rate in bytes (`128M`): a number. */
export const sizeType: ArgType = { name: "size", parse: (w, what) => parseSize(w, what) };

/** A virtual duration (`500ms`): nanoseconds as a bigint. */
export const durationType: ArgType = {
  name: "duration",
  parse: (w, what) => parseDuration(w, what),
};

/** A wall-clock wait in seconds (`30`, `2.5s`, `500ms`): milliseconds as a number. */
export const secondsType: ArgType = {
  name: "seconds",
  parse: (w, what = "time in seconds") => Number(parseDuration(w, what, { bareUnit: "s" })) / 1e6,
};

/** A time in milliseconds (`300`, `300ms`, `1s`; zero allowed): milliseconds as a number. */
export const millisecondsType: ArgType = {
  name: "ms",
  parse: (w, what = "time in ms") =>
    Number(parseDuration(w, what, { bareUnit: "ms", allowZero: true })) / 1e6,
};

/** A guest address (`0x80000000`): a number. */
export const addressType: ArgType = {
  name: "address",
  parse: (w, what) => parseAddress(w, what),
};

/** A 32-bit seed (decimal or 0x hex, wrapped to 32 bits): a number. */
export const seedType: ArgType = {
  name: "seed",
  parse(w, what = "seed") {
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(w.trim())) {
      throw new UsageError(`Invalid ${what} "${w}": use an integer`);
    }
    return Number(BigInt.asUintN(32, BigInt(w.trim())));
  },
};

/** A migration URI (`file:PATH`, `exec:CMD`, `tcp:HOST:PORT`): a {@link MigrationUri}. */
export const migrationUriType: ArgType = {
  name: "uri",
  parse(w): MigrationUri {
    try {
      return parseMigrationUri(w);
    } catch (e) {
      if (e instanceof MigrationUriError) throw new UsageError(e.message);
      throw e;
    }
  },
};

/** A file path: completes directory entries. */
export const fileType: ArgType = {
  name: "file",
  async complete(_ctx, partial) {
    const slash = partial.lastIndexOf("/");
    const dir = slash < 0 ? "." : partial.slice(0, slash + 1) || "/";
    const prefix = slash < 0 ? "" : partial.slice(0, slash + 1);
    const base = partial.slice(slash + 1);
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(dir)) {
        if (!e.name.startsWith(base) || (e.name.startsWith(".") && !base.startsWith("."))) {
          continue;
        }
        out.push(prefix + e.name + (e.isDirectory ? "/" : ""));
      }
    } catch { /* unreadable directory: nothing to offer */ }
    return out.sort();
  },
};

/** A name for a new snapshot (checked, completes existing names for --force). */
export const newSnapshotType: ArgType<ShellContext> = {
  name: "snapshot",
  parse(word) {
    const why = nameProblem(word);
    if (why) throw new UsageError(`Invalid snapshot name "${word}": ${why}`);
    return word;
  },
  complete: async (ctx, partial) => startingWith(await ctx.session.store.names(), partial),
};

/** An existing snapshot's name. */
export const snapshotType: ArgType<ShellContext> = { ...newSnapshotType };

/** A snapshot name or `machine` (the current machine). */
export const machineRefType: ArgType<ShellContext> = {
  name: "snapshot|machine",
  parse(word) {
    if (word === "machine") return word;
    return newSnapshotType.parse!(word);
  },
  complete: async (ctx, partial) =>
    startingWith(["machine", ...await ctx.session.store.names()], partial),
};

/** A device or section name of the current machine. */
export const deviceType: ArgType<ShellContext> = {
  name: "device",
  complete: (ctx, partial) => startingWith(deviceNames(ctx.session.machine), partial),
};

/** `DEVICE.FIELD`: completes the device, then the field paths of its sections. */
export const fieldPathType: ArgType<ShellContext> = {
  name: "device.field",
  complete(ctx, partial) {
    const m = ctx.session.machine;
    const dot = partial.indexOf(".");
    if (dot < 0) return startingWith(deviceNames(m).map((d) => `${d}.`), partial);
    const dev = partial.slice(0, dot);
    try {
      const paths = resolveSections(m, dev).flatMap((e) => fieldPaths(e));
      return startingWith(paths.map((p) => `${dev}.${p}`), partial);
    } catch {
      return [];
    }
  },
};
