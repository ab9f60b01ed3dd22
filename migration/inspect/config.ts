/**
 * The configuration record (`0x07`) right after the header: the machine type name and the
 * optional `configuration/*` subsections (target page bits, capabilities, UUID), decoded from
 * their fixed layouts so that no vmdesc is needed for them.
 * @module
 */
import { StreamFormatError } from "../errors.ts";
import { decodeName, type StreamReader } from "../stream/reader.ts";
import { SectionType } from "../sections/constants.ts";
import type { VmsdDesc } from "./vmdesc.ts";
import { decodeVmsd } from "./vmsd.ts";

/** What the configuration record says. */
export interface ConfigurationValue {
  machine: string;
  pageBits?: number;
  capabilities?: string[];
  uuid?: string;
}

/** Longest machine type name accepted before calling the length field garbage. */
const MAX_MACHINE_NAME = 1024;

/**
 * Decode the configuration payload (after the 0x07 byte) synchronously; restartable, so
 * warnings are returned rather than reported. `stop` is set when an unknown subsection makes
 * the rest of the stream undecodable.
 */
export function decodeConfiguration(
  r: StreamReader,
  desc?: VmsdDesc,
): { value: ConfigurationValue; warnings: [string, number, string][]; stop?: string } {
  const warnings: [string, number, string][] = [];
  const at = r.offset;
  const len = r.be32();
  if (len > MAX_MACHINE_NAME) {
    throw new StreamFormatError(`Implausible machine type name length ${len}`, { offset: at });
  }
  const value: ConfigurationValue = { machine: decodeName(r.borrow(len)) };
  for (;;) {
    if (r.peekU8() !== SectionType.SUBSECTION) break;
    const n = r.peekU8(1) ?? 0;
    const name = decodeName(r.peekBytes(2, n));
    if (!name.startsWith("configuration")) break;
    const subAt = r.offset;
    r.skip(2 + n);
    r.be32(); // subsection version
    if (name === "configuration/target-page-bits") value.pageBits = r.be32();
    else if (name === "configuration/capabilities") {
      const count = r.be32();
      r.checkAvailable(count, "capability count");
      value.capabilities = [];
      for (let i = 0; i < count; i++) value.capabilities.push(r.str8());
    } else if (name === "configuration/uuid") {
      const b = r.borrow(16);
      const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
      value.uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
        h.slice(20)
      }`;
    } else {
      const sub = desc?.subsections.find((s) => s.vmsdName === name);
      if (!sub) {
        return {
          value,
          warnings,
          stop: `Unknown configuration subsection "${name}" at byte ${subAt}`,
        };
      }
      decodeVmsd(r, sub, 0, name, (c, o, m) => warnings.push([c, o, m]));
    }
  }
  return { value, warnings };
}
