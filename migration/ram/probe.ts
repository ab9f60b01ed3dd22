/**
 * Finds the RAM size a stream was saved with (the MEM_SIZE total of its `ram` START chunk)
 * without loading it, so a tool can build a matching machine before the real load.
 * @module
 */
import { IncompatibleError, StreamFormatError } from "../errors.ts";
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

/**
 * Read the header, configuration, any commands and `ram` block list; undefined when the first section is not
 * `ram`. A total that no machine can have (0, not whole pages, over `maxBytes`: the largest RAM
 * the caller can build) is an IncompatibleError, so no caller tries to build it.
 */
export async function probeRamLayout(
  r: StreamReader,
  maxBytes = Number.MAX_SAFE_INTEGER,
): Promise<RamLayout | undefined> {
  return await r.retrying(() => {
    readPreamble(r);
    // Commands before the first section (QEMU's OPEN_RETURN_PATH, PING, POSTCOPY_ADVISE).
    while (r.peekU8(0) === SectionType.COMMAND) {
      r.skip(3);
      r.skip(r.be16());
    }
    if (r.u8() !== SectionType.START) return undefined;
    r.be32();
    if (r.str8() !== "ram") return undefined;
    r.be32();
    r.be32();
    const hdr = new Uint32Array(2);
    r.be64Parts(hdr);
    if (!(hdr[1] & RamFlag.MEM_SIZE)) return undefined;
    const at = r.offset - 8;
    // Unsigned arithmetic: the low word of a 2 GiB total has its top bit set.
    const total = hdr[0] * 2 ** 32 + (hdr[1] - (hdr[1] & 0xfff));
    if (total === 0 || total > maxBytes) {
      throw new IncompatibleError(
        `The stream announces ${total} bytes of RAM (0x${total.toString(16)}): ` +
          `this side builds 4 KiB to ${maxBytes} bytes`,
        { offset: at, section: "ram" },
      );
    }
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
