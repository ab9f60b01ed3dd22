/**
 * A quick look at a stream file before importing it: it must start with QEMU's magic, and its
 * configuration record, when present and readable, names the machine type.
 * @module
 */
import { StreamFormatError } from "../../migration/errors.ts";
import {
  machineName,
  makeConfiguration,
  vmstateConfiguration,
} from "../../migration/sections/configuration.ts";
import { QEMU_VM_FILE_MAGIC, SectionType } from "../../migration/sections/constants.ts";
import { fileSource } from "../../migration/stream/io.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { loadState } from "../../migration/vmstate/load.ts";
import { ioError } from "./files.ts";

/** Machine type named by a stream file ("?" when it has no readable configuration record). */
export async function probeMachineName(path: string): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw ioError("read", path, e);
  }
  try {
    const size = (await file.stat()).size;
    const r = StreamReader.fromSource(fileSource(file, size));
    const magic = await r.retrying(() => r.be32()).catch(() => undefined);
    if (magic !== QEMU_VM_FILE_MAGIC) {
      throw new StreamFormatError(`"${path}" is not a migration stream (no QEVM magic)`, {
        offset: 0,
      });
    }
    try {
      return await r.retrying(() => {
        r.be32();
        if (r.u8() !== SectionType.CONFIGURATION) return "?";
        const conf = makeConfiguration("");
        loadState(r, vmstateConfiguration, conf, 1);
        return machineName(conf) || "?";
      });
    } catch {
      return "?";
    }
  } finally {
    file.close();
  }
}
