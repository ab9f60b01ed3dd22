import { ok } from "node:assert/strict";
import { renderTree } from "../../../migration/inspect/tree.ts";
import { inspect } from "../../../migration/inspect/decoder.ts";
import { bytesInput, fileInput } from "../../../migration/inspect/input.ts";
import { buildStream, fixture, hasFixture } from "./_stream.ts";

function has(text: string, ...parts: (string | RegExp)[]): void {
  for (const p of parts) {
    ok(typeof p === "string" ? text.includes(p) : p.test(text), `missing ${p}\n${text}`);
  }
}

Deno.test("tree: shows header, configuration, sections, fields, RAM counts, EOF and vmdesc", async () => {
  const s = buildStream();
  const t = renderTree(await inspect(bytesInput(s.bytes)), "built");
  has(
    t,
    "header @0x0: magic 0x5145564d, version 3",
    'configuration @0x8 (9 bytes): machine "virt"',
    `START @0x${s.ramStart.toString(16)} id=2 "ram" instance 0 version 4`,
    `FULL @0x${s.dev.toString(16)} id=3 "dev" instance 0 version 1`,
    "neg = 0xfffffffe (-2) (int32, 4 bytes",
    "arr[2] = 0xffff",
    "s (struct, 1 bytes",
    'subsection "dev/sub" version 2',
    "a: 0x2000 bytes (2 pages): 1 zero, 1 non-zero",
    "pages: 1 zero, 2 non-zero",
    `EOF @0x${s.eof.toString(16)}`,
    /vmdesc @0x[0-9a-f]+: \d+ JSON bytes .*exact, confirmed by walking/,
    "complete",
  );
  ok(!t.includes("warnings"));
});

Deno.test("tree: degraded streams show heuristic footers and warnings with offsets", async () => {
  const s = buildStream({ vmdesc: "none" });
  const t = renderTree(await inspect(bytesInput(s.bytes.subarray(0, s.ramEnd + 3))), "cut", {
    fields: false,
  });
  has(
    t,
    "(found heuristically)",
    "payload not decoded",
    "vmdesc: none",
    "decoding stopped early",
    "warnings (",
    "[truncated]",
    "[no-schema] dev (3):",
  );
});

Deno.test({
  name: "tree: QEMU 7.2 fixture",
  ignore: !hasFixture("virt-running.qemu"),
  async fn() {
    const t = renderTree(
      await inspect(await fileInput(fixture("virt-running.qemu"))),
      "virt-running",
      { maxBytes: 4 },
    );
    has(
      t,
      'machine "virt"',
      "riscv_virt_board.ram: 0x1000000 bytes (4096 pages)",
      '"cpu" instance 0 version 5',
      "... (131 bytes)",
    );
  },
});
