/**
 * A quick look at a stream file before importing it: it must start with QEMU's magic, and its
 * configuration record, when present and readable, names the machine type.
 * @module
 */
import { MigrationError, StreamFormatError } from "../../migration/errors.ts";
import { readPreamble } from "../../migration/sections/preamble.ts";
import { fileSource } from "../../migration/stream/io.ts";
import { StreamReader } from "../../migration/stream/reader.ts";
import { openForReading } from "./files.ts";

/** Machine type named by a stream file ("?" when it has no readable configuration record). */
export async function probeMachineName(path: string): Promise<string> {
  const file = await openForReading(path);
  try {
    const size = (await file.stat()).size;
    const r = StreamReader.fromSource(fileSource(file, size));
    try {
      return (await r.retrying(() => readPreamble(r))).machine || "?";
    } catch (e) {
      if (!(e instanceof MigrationError)) throw e;
      // A bad or cut magic means this is no stream; a damaged configuration only means "unknown".
      if ((e.offset ?? 0) < 4) {
        throw new StreamFormatError(`"${path}" is not a migration stream (no QEVM magic)`, {
          offset: 0,
        });
      }
      return "?";
    }
  } finally {
    file.close();
  }
}
