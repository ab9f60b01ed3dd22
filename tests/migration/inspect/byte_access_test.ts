import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { bytesAccess, fileAccess, forEachChunk } from "../../../migration/inspect/byte_access.ts";
import { TransportError } from "../../../migration/errors.ts";

const data = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);

Deno.test("memory and file access read the same ranges, clipped at the end", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeFile(path, data);
  const file = await fileAccess(path);
  const mem = bytesAccess(data);
  try {
    strictEqual(file.size, 1000);
    for (const [o, n] of [[0, 10], [995, 10], [1000, 5], [500, 0], [-5, 3]]) {
      deepStrictEqual([...await file.read(o, n)], [...await mem.read(o, n)], `${o}+${n}`);
    }
    deepStrictEqual([...await file.read(998, 10)], [230, 231]);
  } finally {
    file.close();
    await Deno.remove(path);
  }
});

Deno.test("forEachChunk visits a range in order, in chunks", async () => {
  const seen: number[] = [];
  let calls = 0;
  await forEachChunk(bytesAccess(data), 100, 350, (b, at) => {
    calls++;
    strictEqual(at, 100 + seen.length);
    seen.push(...b);
  }, 128);
  strictEqual(calls, 3);
  deepStrictEqual(seen, [...data.subarray(100, 450)]);
});

Deno.test("a missing file is a TransportError", async () => {
  await rejects(fileAccess("/nonexistent/stream"), TransportError);
});
