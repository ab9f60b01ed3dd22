import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createGlobalState,
  GlobalState,
  runStateOf,
  vmstateGlobalState,
} from "../../../../emu/devices/qemu/global_state.ts";
import { assertRejected, saveBytes } from "../_helpers.ts";
import { assertEntryMatches, loadAndResave } from "./_qemu.ts";

Deno.test("saves size = strlen + 1 and the NUL-padded name", () => {
  const g = new GlobalState();
  g.runState = "running";
  const b = saveBytes(vmstateGlobalState, g.state);
  assertEquals([b.length, b[3], new TextDecoder().decode(b.subarray(4, 11)), b[11]], [
    104,
    8,
    "running",
    0,
  ]);
});

Deno.test("vmdesc entry equals QEMU 7.2's", () => {
  assertEntryMatches("virt-running", "globalstate", vmstateGlobalState, createGlobalState());
});

Deno.test("QEMU's streams load (paused, prelaunch) and save back byte for byte", () => {
  const run = loadAndResave("virt-running", "globalstate", vmstateGlobalState, createGlobalState());
  assertEquals(runStateOf(run), "paused");
  const reset = loadAndResave("virt-reset", "globalstate", vmstateGlobalState, createGlobalState());
  assertEquals(runStateOf(reset), "prelaunch");
});

Deno.test("postLoad rejects unknown run states, a wrong size and bytes after the NUL", async () => {
  const a = new GlobalState();
  a.state.runstate.set(new TextEncoder().encode("flying"));
  await assertRejected(a, new GlobalState(), /"flying" is not a QEMU 7.2 run state/);
  const b = new GlobalState();
  vmstateGlobalState.preSave!(b.state);
  b.state.runstate[50] = 1; // preSave fills size from the first NUL, the junk stays
  await assertRejected(b, new GlobalState(), /after its terminating NUL/);
});
