import { strictEqual } from "node:assert/strict";
import { formatBytes } from "../../repl/snapshot_io.ts";

Deno.test("formatBytes() uses binary units", () => {
  strictEqual(formatBytes(512), "512 B");
  strictEqual(formatBytes(1536), "1.5 KiB");
  strictEqual(formatBytes(3 << 20), "3.0 MiB");
});
