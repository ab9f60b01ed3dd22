import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { createHash } from "node:crypto";
import { StoreError } from "../../../harness/store/errors.ts";
import {
  baseOf,
  copyFileAtomic,
  dirOf,
  hashFile,
  hashingSink,
  tempPathFor,
  writeAtomic,
  writeFileAtomic,
} from "../../../harness/store/files.ts";
import { MemorySink } from "../../../migration/stream/io.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

Deno.test("dirOf(), baseOf() and tempPathFor() keep temporaries beside the destination", () => {
  strictEqual(dirOf("a/b/c.json"), "a/b");
  strictEqual(dirOf("c.json"), ".");
  strictEqual(dirOf("/c"), "/");
  strictEqual(baseOf("a/b/c.json"), "c.json");
  const t = tempPathFor("/s/x.json");
  strictEqual(t.startsWith("/s/.x.json.tmp-"), true);
  strictEqual(t === tempPathFor("/s/x.json"), false);
});

Deno.test("writeFileAtomic() replaces a file and leaves no temporary behind", async () => {
  const dir = await Deno.makeTempDir();
  await writeFileAtomic(`${dir}/f`, new TextEncoder().encode("one"));
  await writeFileAtomic(`${dir}/f`, new TextEncoder().encode("two"));
  strictEqual(await Deno.readTextFile(`${dir}/f`), "two");
  deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["f"]);
});

Deno.test("writeAtomic() keeps the old file when writing fails half-way", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/f`, "old");
  await rejects(
    writeAtomic(`${dir}/f`, async (file) => {
      await file.write(new TextEncoder().encode("half"));
      throw new StoreError("io", "disk full");
    }),
    StoreError,
  );
  strictEqual(await Deno.readTextFile(`${dir}/f`), "old");
  deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["f"]);
});

Deno.test("hashFile() and copyFileAtomic() report the SHA-256 of the bytes", async () => {
  const dir = await Deno.makeTempDir();
  const bytes = new Uint8Array(3 << 19).map((_, i) => (i * 2654435761) >>> 24);
  await Deno.writeFile(`${dir}/src`, bytes);
  const seen: number[] = [];
  const h = await hashFile(`${dir}/src`, (d) => seen.push(d));
  deepStrictEqual(h, { sha256: sha(bytes), bytes: bytes.length });
  strictEqual(seen[seen.length - 1], bytes.length);
  const c = await copyFileAtomic(`${dir}/src`, `${dir}/dst`);
  deepStrictEqual(c, h);
  deepStrictEqual(await Deno.readFile(`${dir}/dst`), bytes);
});

Deno.test("copyFileAtomic() of a missing file is a StoreError naming it", async () => {
  const dir = await Deno.makeTempDir();
  await rejects(
    copyFileAtomic(`${dir}/missing`, `${dir}/dst`),
    (e: unknown) => e instanceof StoreError && e.message.includes(`${dir}/missing`),
  );
});

Deno.test("hashingSink() forwards, counts and hashes what passes", async () => {
  const inner = new MemorySink();
  const s = hashingSink(inner);
  await s.write(new Uint8Array([1, 2, 3]));
  await s.write(new Uint8Array([4]));
  strictEqual(s.bytes, 4);
  deepStrictEqual(inner.bytes(), new Uint8Array([1, 2, 3, 4]));
  strictEqual(s.hash.digest("hex"), sha(new Uint8Array([1, 2, 3, 4])));
});
