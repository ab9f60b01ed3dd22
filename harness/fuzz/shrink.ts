/**
 * Shrinking a failing recipe: drop operations while the failure persists (until no single
 * operation can go), then make each remaining operation smaller (fewer bytes inserted, deleted
 * or spliced, values nearer zero, less cut off), so a bug report shows the least that is needed.
 * @module
 */
import type { CorruptOp } from "../../migration/corrupt/ops.ts";

/** 0 and 1 are the simplest byte values; every other value ranks after them. */
function rank(v: number): number {
  return v === 0 ? 0 : v === 1 ? 1 : 2;
}

function valueRank(text: string): number {
  try {
    return rank(Number(BigInt(text.trim())));
  } catch {
    return 2;
  }
}

/** Strictly simpler variants of one operation, most simple first. */
export function simplerVariants(op: CorruptOp, inputSize: number): CorruptOp[] {
  const half = (n: number) => Math.floor(n / 2);
  switch (op.op) {
    case "set-byte":
      return [0, 1].filter((v) => v < rank(op.value)).map((value) => ({ ...op, value }));
    case "insert":
      return op.hex.length > 2
        ? [{ ...op, hex: op.hex.slice(0, 2) }, {
          ...op,
          hex: op.hex.slice(0, op.hex.length >> 2 << 1),
        }]
        : [];
    case "delete":
      return op.length > 1 ? [{ ...op, length: 1 }, { ...op, length: half(op.length) }] : [];
    case "truncate":
      // Less cut off is a smaller change: move the cut halfway to the end.
      return op.length < inputSize - 1
        ? [{ ...op, length: inputSize - 1 }, {
          ...op,
          length: op.length + half(inputSize - op.length),
        }]
        : [];
    case "splice":
      return [
        ...(op.length > 0 ? [{ ...op, length: 0 }, { ...op, length: half(op.length) }] : []),
        ...(op.sourceLength > 1
          ? [{ ...op, sourceLength: 1 }, { ...op, sourceLength: half(op.sourceLength) }]
          : []),
      ];
    case "set-field": {
      const now = valueRank(op.value);
      return ["0x0", "0x1"].filter((v) => valueRank(v) < now).map((value) => ({ ...op, value }));
    }
    case "set-version":
    case "set-subsection-version":
      return [0, 1, 2].filter((v) => v < op.version).map((version) => ({ ...op, version }));
    case "set-instance":
      return [0, 1].filter((v) => v < op.instance).map((instance) => ({ ...op, instance }));
    default:
      return [];
  }
}

/**
 * Smallest recipe found for which `fails` still holds, within `budget` evaluations. `fails`
 * should throw nothing; a recipe that no longer applies counts as not failing.
 */
export async function shrinkRecipe(
  ops: CorruptOp[],
  fails: (ops: CorruptOp[]) => Promise<boolean>,
  inputSize: number,
  budget = 200,
): Promise<{ ops: CorruptOp[]; evaluations: number }> {
  let best = ops;
  let evaluations = 0;
  const attempt = async (candidate: CorruptOp[]) => {
    if (evaluations >= budget) return false;
    evaluations++;
    return await fails(candidate);
  };
  for (let changed = true; changed && best.length > 1;) {
    changed = false;
    for (let i = 0; i < best.length && best.length > 1; i++) {
      const candidate = best.filter((_, j) => j !== i);
      if (await attempt(candidate)) {
        best = candidate;
        changed = true;
        i--;
      }
    }
  }
  for (let i = 0; i < best.length; i++) {
    for (let progress = true; progress;) {
      progress = false;
      for (const v of simplerVariants(best[i], inputSize)) {
        const candidate = best.map((o, j) => (j === i ? v : o));
        if (await attempt(candidate)) {
          best = candidate;
          progress = true;
          break;
        }
      }
    }
  }
  return { ops: best, evaluations };
}
