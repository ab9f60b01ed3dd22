/**
 * Finds the RAM size a stream was saved with (the MEM_SIZE total of its `ram` START chunk)
 * without loading it, so a tool can build a matching machine before the real load.
 * @module
 */
import { StreamFormatError } from "../errors.ts";
import type { StreamReader } from "../stream/reader.ts";
import { RamFlag, SectionType } from "../sections/constants.ts";
import { readPreamble } from "../sections/preamble.ts";

/** The RAM blocks announced by a stream: total bytes and each block's idstr and length. */
export interface RamLayout {
  /** Sum of the block lengths. */
  total: number;
  /** Blocks in stream order. */
  blocks: { idstr: string; length: number }[];
}

/** Read the header, configuration and `ram` block list; undefined when the first section is not `ram`. */
export async function probeRamLayout(r: StreamReader): Promise<RamLayout | undefined> {
  return await r.retrying(() => {
    readPreamble(r);
    if (r.u8() !== SectionType.START) return undefined;
    r.be32();
    if (r.str8() !== "ram") return undefined;
    r.be32();
    r.be32();
    const hdr = new Uint32Array(2);
    r.be64Parts(hdr);
    if (!(hdr[1] & RamFlag.MEM_SIZE)) return undefined;
    const total = hdr[0] * 2 ** 32 + (hdr[1] & ~0xfff);
    const blocks: RamLayout["blocks"] = [];
    let left = total;
    while (left > 0) {
      const idstr = r.str8();
      r.be64Parts(hdr);
      const length = hdr[0] * 2 ** 32 + hdr[1];
      if (length > left || length === 0) {
        throw new StreamFormatError(
          `RAM block "${idstr}" length 0x${length.toString(16)} does not fit the total`,
          {
            offset: r.offset - 8,
          },
        );
      }
      blocks.push({ idstr, length });
      left -= length;
    }
    return { total, blocks };
  });
}
