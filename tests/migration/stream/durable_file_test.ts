/**
 * The durable atomic writer: the destination holds the old bytes or the new ones, never a mix,
 * whatever fails (an error in the writer, an abort, a `kill -9` mid-write), and a killed
 * writer's temp file is found by its dead pid.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  baseOf,
  openDurable,
  staleTemps,
  tempPathFor,
  writeDurable,
  writeFileDurable,
} from "../../../migration/stream/durable_file.ts";

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("writeFileDurable() replaces a file whole and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFileDurable(`${dir}/f`, new Uint8Array([1, 2, 3]));
    await writeFileDurable(`${dir}/f`, new Uint8Array([4, 5]));
    deepStrictEqual(await Deno.readFile(`${dir}/f`), new Uint8Array([4, 5]));
    deepStrictEqual(names(dir), ["f"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a writer that fails half-way leaves the old file and no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFileDurable(`${dir}/f`, new Uint8Array([1]));
    await rejects(
      writeDurable(`${dir}/f`, async (file) => {
        await file.write(new Uint8Array(1000));
        throw new Error("boom");
      }),
      /boom/,
    );
    deepStrictEqual(await Deno.readFile(`${dir}/f`), new Uint8Array([1]));
    deepStrictEqual(names(dir), ["f"]);
    const d = await openDurable(`${dir}/f`);
    await d.file.write(new Uint8Array(10));
    await d.abort();
    deepStrictEqual(names(dir), ["f"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("temp files are hidden beside the destination and named by the writer's pid", () => {
  const t = tempPathFor("/x/y/snap.qevm");
  ok(t.startsWith("/x/y/.snap.qevm.tmp-"), t);
  ok(t.includes(`-${Deno.pid}-`), t);
});

Deno.test("kill -9 mid-write: the old file is whole, and the temp is stale once the writer is gone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFileDurable(`${dir}/victim.qevm`, new Uint8Array([7, 7, 7]));
    const module = new URL("../../../migration/stream/durable_file.ts", import.meta.url).href;
    const code = `
      const { openDurable } = await import(${JSON.stringify(module)});
      const d = await openDurable(${JSON.stringify(`${dir}/victim.qevm`)});
      await d.file.write(new Uint8Array(1 << 20));
      console.log("written");
      await new Promise(() => setInterval(() => {}, 1000));
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    const first = await reader.read();
    ok(new TextDecoder().decode(first.value).includes("written"));
    // While the writer lives its temp file is not stale.
    deepStrictEqual(await staleTemps(dir), []);
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    deepStrictEqual(await Deno.readFile(`${dir}/victim.qevm`), new Uint8Array([7, 7, 7]));
    const stale = await staleTemps(dir);
    strictEqual(stale.length, 1);
    ok(baseOf(stale[0]).startsWith(".victim.qevm.tmp-"), stale[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
