import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import {
  execUri,
  makeFifo,
  openInlet,
  type QemuInlet,
  sendAll,
} from "../../../../harness/fuzz/qemu/inlet.ts";

Deno.test("an exec: inlet's URI names its FIFO as one shell word", () => {
  strictEqual(execUri("/tmp/d/stream-1-2.fifo"), "exec:cat /tmp/d/stream-1-2.fifo");
  strictEqual(execUri("/tmp/a b/it's.fifo"), `exec:cat '/tmp/a b/it'\\''s.fifo'`);
});

Deno.test("bytes sent into an exec: inlet come out of the command QEMU would run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fifo = `${dir}/s.fifo`;
    await makeFifo(fifo);
    // QEMU runs `sh -c "cat FIFO"` and reads its stdout: the same command, here.
    const cat = new Deno.Command("sh", {
      args: ["-c", execUri(fifo).slice("exec:".length)],
      stdout: "piped",
    }).output();
    const bytes = new Uint8Array(300_000).map((_, i) => i * 7);
    const inlet: QemuInlet = { via: "exec", uri: execUri(fifo), fifo, gone: new Promise(() => {}) };
    await sendAll(inlet, bytes);
    const out = await cat;
    strictEqual(out.success, true);
    deepStrictEqual(out.stdout, bytes, "every byte, then the end of the stream");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a QEMU that ended before its command read the FIFO does not leave the writer waiting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fifo = `${dir}/s.fifo`;
    await makeFifo(fifo);
    // Nobody will ever read: the QEMU is gone already.
    const inlet: QemuInlet = { via: "exec", uri: execUri(fifo), fifo, gone: Promise.resolve() };
    await rejects(openInlet(inlet), /QEMU ended before its exec: command read/);
    await sendAll(inlet, new Uint8Array(10)); // the verdict is QEMU's to give: no throw
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
