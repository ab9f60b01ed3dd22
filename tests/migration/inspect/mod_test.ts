import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  bytesInput,
  describe,
  dumpMemory,
  fileInput,
  inspectFile,
} from "../../../migration/inspect/mod.ts";
import { buildStream, EXPECTED_STATE, fixture, hasFixture, page } from "./_stream.ts";
import { hexBytes } from "../../../migration/format.ts";

Deno.test("mod: dumpMemory adds the memory key analyze-migration -m means to print", async () => {
  const { state } = await dumpMemory(bytesInput(buildStream().bytes));
  assertEquals(state["dev (3)"], EXPECTED_STATE["dev (3)"]);
  assertEquals(state["ram (2)"], {
    ...EXPECTED_STATE["ram (2)"],
    memory: {
      "a (0x0000000000000000)": "Filled with 0x00",
      "a (0x0000000000001000)": hexBytes(page(1)),
      "b/c (0x0000000000000000)": hexBytes(page(7)),
    },
  });
});

Deno.test("mod: describe returns the desc document or undefined", async () => {
  ok((await describe(bytesInput(buildStream().bytes))).desc);
  assertEquals((await describe(bytesInput(buildStream({ vmdesc: "none" }).bytes))).desc, undefined);
});

Deno.test({
  name: "mod: fixture dump-memory is -d state plus one memory entry per page sent",
  ignore: !hasFixture("virt-running.qemu"),
  async fn() {
    const { state, result } = await dumpMemory(await fileInput(fixture("virt-running.qemu")));
    const plain = JSON.parse(await Deno.readTextFile(fixture("virt-running.analyze.json")));
    const ram = state["ram (2)"] as { memory: Record<string, string> };
    const { memory, ...rest } = ram;
    assertEquals({ ...state, "ram (2)": rest }, plain);
    const blocks = result.sections.get(2)!.blocks!;
    const zero = blocks.reduce((n, b) => n + b.zeroPages, 0);
    const data = blocks.reduce((n, b) => n + b.dataPages, 0);
    const values = Object.values(memory);
    assertEquals(values.filter((v) => v === "Filled with 0x00").length, zero);
    assertEquals(values.filter((v) => v.length === 4096 * 3 - 1).length, data);
    assertEquals((await inspectFile(fixture("virt-running.qemu"))).warnings, []);
  },
});
