import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { bytesInput, fileInput } from "../../../migration/inspect/input.ts";
import { TransportError } from "../../../migration/errors.ts";

Deno.test("input: bytes and files give the same reader contents and tail", async () => {
  const bytes = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, bytes);
    for (const input of [bytesInput(bytes, 7), await fileInput(path)]) {
      assertEquals(input.size, 5000);
      assertEquals(await input.tail!(10), bytes.subarray(4990));
      assertEquals((await input.tail!(99999)).length, 5000);
      const { reader, close } = await input.open();
      await reader.ensure(5000);
      assertEquals(reader.bytes(5000), bytes);
      close();
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("input: a missing file is a TransportError", async () => {
  await rejects(fileInput("/nonexistent/stream.qemu"), TransportError);
});
