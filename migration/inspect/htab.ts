/**
 * The `spapr/htab` iterative section (ppc64 hash page table), which analyze-migration.py skips
 * with a fixed layout; supported so such streams do not stop the walk.
 * @module
 */
import type { StreamReader } from "../stream/reader.ts";

/** Bytes per hash PTE. */
const HASH_PTE_SIZE_64 = 16;

/** Skip one htab chunk: a be32 header, then (header 0) runs until an all-zero run header. */
export async function decodeHtabChunk(r: StreamReader): Promise<{ ptes: number }> {
  const header = await r.retrying(() => r.sbe32());
  let ptes = 0;
  if (header !== 0) return { ptes }; // -1: no HPT; > 0: first chunk, only the hash shift
  for (;;) {
    const valid = await r.retrying(() => {
      r.be32(); // index
      const valid = r.be16();
      const invalid = r.be16();
      r.skip(valid * HASH_PTE_SIZE_64);
      return valid === 0 && invalid === 0 ? -1 : valid;
    });
    if (valid < 0) return { ptes };
    ptes += valid;
  }
}
