/**
 * QEMU's standard VMStateInfo codecs (migration/vmstate-types.c) with their exact wire encodings
 * and vmdesc type names. Integers up to 32 bits are numbers, 64-bit ones are bigints, buffers
 * and bitmaps are Uint8Arrays.
 * @module
 */
import { StateValidationError, StreamFormatError } from "../errors.ts";
import type { StreamReader } from "../stream/reader.ts";
import type { ElementContext, StateRecord, VmStateInfo } from "./description.ts";

function hex(v: number | bigint, bits: number): string {
  const n = typeof v === "bigint"
    ? BigInt.asUintN(bits, v)
    : (bits === 32 ? v >>> 0 : v & ((1 << bits) - 1));
  return n.toString(16);
}

function num(v: unknown): number {
  return typeof v === "number" ? v : typeof v === "boolean" ? (v ? 1 : 0) : Number(v ?? 0);
}

function big(v: unknown): bigint {
  return typeof v === "bigint" ? v : BigInt(Math.trunc(num(v)));
}

function equalFailure(current: unknown, loaded: unknown, bits: number, ctx: ElementContext): never {
  const hint = ctx.field.errHint ? `: ${ctx.field.errHint}` : "";
  throw new StateValidationError(
    `Value ${hex(loaded as number, bits)} in the stream != local ${
      hex(current as number, bits)
    }${hint}`,
  );
}

function intInfo(
  name: string,
  size: 1 | 2 | 4,
  read: (r: StreamReader) => number,
  normalize: (v: number) => number,
): VmStateInfo {
  return {
    name,
    size,
    get: (r) => read(r),
    put: (w, v) => {
      const n = normalize(num(v));
      if (size === 1) w.u8(n & 0xff);
      else if (size === 2) w.be16(n);
      else w.be32(n);
    },
    zero: () => 0,
  };
}

/** bool: one byte, any non-zero byte loads as true. */
export const vmstateBool: VmStateInfo = {
  name: "bool",
  size: 1,
  get: (r) => r.u8() !== 0,
  put: (w, v) => w.u8(v ? 1 : 0),
  zero: () => false,
};

/** int8 (signed). */
export const vmstateInt8 = intInfo("int8", 1, (r) => (r.u8() << 24) >> 24, (v) => v);
/** int16 (signed, big-endian). */
export const vmstateInt16 = intInfo("int16", 2, (r) => (r.be16() << 16) >> 16, (v) => v);
/** int32 (signed, big-endian). */
export const vmstateInt32 = intInfo("int32", 4, (r) => r.sbe32(), (v) => v);
/** uint8. */
export const vmstateUint8 = intInfo("uint8", 1, (r) => r.u8(), (v) => v);
/** uint16 (big-endian). */
export const vmstateUint16 = intInfo("uint16", 2, (r) => r.be16(), (v) => v);
/** uint32 (big-endian). */
export const vmstateUint32 = intInfo("uint32", 4, (r) => r.be32(), (v) => v);

/** int64 (signed bigint). */
export const vmstateInt64: VmStateInfo = {
  name: "int64",
  size: 8,
  get: (r) => r.sbe64(),
  put: (w, v) => w.be64(big(v)),
  zero: () => 0n,
};

/** uint64 (unsigned bigint). */
export const vmstateUint64: VmStateInfo = {
  name: "uint64",
  size: 8,
  get: (r) => r.be64(),
  put: (w, v) => w.be64(big(v)),
  zero: () => 0n,
};

function equalInfo(base: VmStateInfo, name: string, bits: number): VmStateInfo {
  return {
    ...base,
    name,
    get(r, current, ctx) {
      const loaded = base.get(r, current, ctx);
      const same = typeof loaded === "bigint"
        ? BigInt.asUintN(bits, loaded) === BigInt.asUintN(bits, big(current))
        : ((loaded as number) ^ num(current)) << (32 - bits) === 0;
      if (!same) equalFailure(current, loaded, bits, ctx);
      return current;
    },
  };
}

/** uint8 that must equal the local value ("uint8 equal"). */
export const vmstateUint8Equal = equalInfo(vmstateUint8, "uint8 equal", 8);
/** uint16 that must equal the local value ("uint16 equal"). */
export const vmstateUint16Equal = equalInfo(vmstateUint16, "uint16 equal", 16);
/** int32 that must equal the local value ("int32 equal"). */
export const vmstateInt32Equal = equalInfo(vmstateInt32, "int32 equal", 32);
/** uint32 that must equal the local value ("uint32 equal"). */
export const vmstateUint32Equal = equalInfo(vmstateUint32, "uint32 equal", 32);
/** uint64 that must equal the local value; QEMU names it "int64 equal". */
export const vmstateUint64Equal = equalInfo(vmstateUint64, "int64 equal", 64);

/** int32 that must satisfy 0 <= loaded <= local, then replaces it ("int32 le": less-or-equal). */
export const vmstateInt32Le: VmStateInfo = {
  ...vmstateInt32,
  name: "int32 le",
  get(r, current) {
    const loaded = r.sbe32();
    const cur = num(current);
    if (loaded >= 0 && loaded <= cur) return loaded;
    throw new StateValidationError(`Invalid value ${loaded} expecting positive value <= ${cur}`);
  },
};

/** CPU_Double_U: a double sent as be32 high half then be32 low half. */
export const vmstateCpuDouble: VmStateInfo = {
  name: "CPU_Double_U",
  size: 8,
  get: (r) => r.f64(),
  put: (w, v) => w.f64(num(v)),
  zero: () => 0,
};

/** float64 (removed from QEMU in 5.2; still known to the analyzer). */
export const vmstateFloat64: VmStateInfo = { ...vmstateCpuDouble, name: "float64" };

/** QEMUTimer: be64 expiry in ns, -1 when not armed. */
export const vmstateTimer: VmStateInfo = {
  name: "timer",
  size: 8,
  get: (r) => r.sbe64(),
  put: (w, v) => w.be64(big(v)),
  zero: () => -1n,
};

/** A raw byte buffer: the element is a Uint8Array; `start` skips a prefix (BUFFER_START_MIDDLE). */
export const vmstateBuffer: VmStateInfo = {
  name: "buffer",
  size: 1,
  get(r, current, ctx) {
    const start = ctx.field.start ?? 0;
    const need = start + ctx.size;
    r.checkAvailable(ctx.size, `buffer "${ctx.field.name}"`);
    let target = current instanceof Uint8Array ? current : undefined;
    if (!target || target.length < need) {
      if (target && !(ctx.field.sizeKey)) {
        throw new StateValidationError(
          `Buffer "${ctx.field.name}" holds ${target.length} bytes but ${need} are loaded`,
        );
      }
      const grown = new Uint8Array(need);
      if (target) grown.set(target.subarray(0, Math.min(target.length, need)));
      target = grown;
    }
    target.set(r.borrow(ctx.size), start);
    return target;
  },
  put(w, v, ctx) {
    const start = ctx.field.start ?? 0;
    const buf = v instanceof Uint8Array ? v : new Uint8Array(0);
    if (buf.length < start + ctx.size) {
      throw new StreamFormatError(
        `Buffer "${ctx.field.name}" holds ${buf.length} bytes but ${
          start + ctx.size
        } are to be saved`,
      );
    }
    w.bytes(buf.subarray(start, start + ctx.size));
  },
  zero: (size) => new Uint8Array(size),
};

/** Space once used by retired fields: zeros on save, discarded on load. */
export const vmstateUnusedBuffer: VmStateInfo = {
  name: "unused_buffer",
  size: 1,
  get(r, current, ctx) {
    r.skip(ctx.size);
    return current;
  },
  put: (w, _v, ctx) => w.zeros(ctx.size),
  zero: () => undefined,
};

/** A bitmap of `size` bits sent as ceil(bits/64) be64 words, bit k of word j = bit 64j+k. */
export const vmstateBitmap: VmStateInfo = {
  name: "bitmap",
  size: 0,
  get(r, current, ctx) {
    const words = Math.ceil(ctx.size / 64);
    r.checkAvailable(words * 8, `bitmap "${ctx.field.name}"`);
    const bytes = Math.ceil(ctx.size / 8);
    const out = current instanceof Uint8Array && current.length >= bytes
      ? current
      : new Uint8Array(bytes);
    for (let j = 0; j < words; j++) {
      const hi = r.be32();
      const lo = r.be32();
      for (let b = 0; b < 8; b++) {
        const idx = j * 8 + b;
        const byte = b < 4 ? (lo >>> (8 * b)) & 0xff : (hi >>> (8 * (b - 4))) & 0xff;
        if (idx < out.length) out[idx] = byte;
      }
    }
    return out;
  },
  put(w, v, ctx) {
    const bits = v instanceof Uint8Array ? v : new Uint8Array(0);
    const words = Math.ceil(ctx.size / 64);
    for (let j = 0; j < words; j++) {
      let lo = 0;
      let hi = 0;
      for (let b = 0; b < 8; b++) {
        const byte = bits[j * 8 + b] ?? 0;
        if (b < 4) lo |= byte << (8 * b);
        else hi |= byte << (8 * (b - 4));
      }
      w.be32(hi);
      w.be32(lo);
    }
  },
  zero: (size) => new Uint8Array(Math.ceil(size / 8)),
};

/** A counted string (configuration capabilities). */
export const vmstateCapability: VmStateInfo = {
  name: "capability",
  size: 0,
  get: (r) => r.str8(),
  put: (w, v) => w.str8(String(v ?? "")),
  zero: () => "",
};

/** VMSTATE_WITH_TMP: a temporary record `{ parent }` run through the field's description. */
export const vmstateTmp: VmStateInfo = {
  name: "tmp",
  size: 0,
  get(_r, current, ctx) {
    const tmp: StateRecord = { ...ctx.nested.create(ctx.field.vmsd!), parent: ctx.opaque };
    ctx.nested.load(ctx.field.vmsd!, tmp, ctx.field.versionId ?? 0);
    return current;
  },
  put(_w, _v, ctx) {
    const tmp: StateRecord = { ...ctx.nested.create(ctx.field.vmsd!), parent: ctx.opaque };
    ctx.nested.save(ctx.field.vmsd!, tmp, undefined, ctx.json);
  },
  zero: () => undefined,
};

function listInfo(name: "qtailq" | "qlist"): VmStateInfo {
  return {
    name,
    size: 0,
    get(r, _current, ctx) {
      const vmsd = ctx.field.vmsd!;
      const version = ctx.field.versionId ?? 0;
      if (version > vmsd.versionId) throw new StateValidationError(`${vmsd.name} too new`);
      if (version < vmsd.minimumVersionId) throw new StateValidationError(`${vmsd.name} too old`);
      const out: StateRecord[] = [];
      while (r.u8() !== 0) {
        const elm = ctx.nested.create(vmsd);
        ctx.nested.load(vmsd, elm, version);
        out.push(elm);
      }
      return out;
    },
    put(w, v, ctx) {
      for (const elm of (v as StateRecord[] | undefined) ?? []) {
        w.u8(1);
        ctx.nested.save(ctx.field.vmsd!, elm, undefined, ctx.json);
      }
      w.u8(0);
    },
    zero: () => [],
  };
}

/** QTAILQ: `{0x01, element}*` then 0x00; the element is an array entry. */
export const vmstateQtailq = listInfo("qtailq");
/** QLIST: same wire form as qtailq, order preserved. */
export const vmstateQlist = listInfo("qlist");

/** GTree: be32 node count, `{0x01, key, value}*`, 0x00; a Map of bigint (direct) or record keys. */
export const vmstateGtree: VmStateInfo = {
  name: "gtree",
  size: 0,
  get(r, _current, ctx) {
    const valVmsd = ctx.field.vmsd!;
    const keyVmsd = ctx.field.keyVmsd;
    const version = ctx.field.versionId ?? 0;
    for (const d of keyVmsd ? [keyVmsd, valVmsd] : [valVmsd]) {
      if (version > d.versionId) throw new StateValidationError(`${d.name} too new`);
      if (version < d.minimumVersionId) throw new StateValidationError(`${d.name} too old`);
    }
    const nnodes = r.be32();
    const out = new Map<unknown, StateRecord>();
    let count = 0;
    while (r.u8() !== 0) {
      if (++count > nnodes) {
        throw new StateValidationError(
          `${ctx.field.name} inconsistent stream when loading the gtree`,
        );
      }
      let key: unknown;
      if (keyVmsd) {
        key = ctx.nested.create(keyVmsd);
        ctx.nested.load(keyVmsd, key as StateRecord, version);
      } else {
        key = r.be64();
      }
      const val = ctx.nested.create(valVmsd);
      ctx.nested.load(valVmsd, val, version);
      out.set(key, val);
    }
    if (count !== nnodes) {
      throw new StateValidationError(
        `${ctx.field.name} inconsistent stream when loading the gtree`,
      );
    }
    return out;
  },
  put(w, v, ctx) {
    const tree = (v as Map<unknown, StateRecord> | undefined) ?? new Map();
    const keyVmsd = ctx.field.keyVmsd;
    const entries = [...tree.entries()];
    if (!keyVmsd) {
      entries.sort((a, b) => {
        const x = big(a[0]), y = big(b[0]);
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }
    w.be32(entries.length);
    for (const [key, val] of entries) {
      w.u8(1);
      if (keyVmsd) ctx.nested.save(keyVmsd, key as StateRecord, undefined, ctx.json);
      else w.be64(big(key));
      ctx.nested.save(ctx.field.vmsd!, val, undefined, ctx.json);
    }
    w.u8(0);
  },
  zero: () => new Map(),
};

/** All standard infos by vmdesc type name (dump, inspect, self-describing decode). */
export const STANDARD_INFOS: ReadonlyMap<string, VmStateInfo> = new Map(
  [
    vmstateBool,
    vmstateInt8,
    vmstateInt16,
    vmstateInt32,
    vmstateInt64,
    vmstateUint8,
    vmstateUint16,
    vmstateUint32,
    vmstateUint64,
    vmstateUint8Equal,
    vmstateUint16Equal,
    vmstateInt32Equal,
    vmstateUint32Equal,
    vmstateUint64Equal,
    vmstateInt32Le,
    vmstateCpuDouble,
    vmstateFloat64,
    vmstateTimer,
    vmstateBuffer,
    vmstateUnusedBuffer,
    vmstateBitmap,
    vmstateCapability,
    vmstateTmp,
    vmstateQtailq,
    vmstateQlist,
    vmstateGtree,
  ].map((i) => [i.name, i]),
);
