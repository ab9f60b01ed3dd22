import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { linuxArtifacts, linuxMissingReason } from "../../../../emu/guests/linux/artifacts.ts";

const built = linuxArtifacts();
const deno = JSON.parse(await Deno.readTextFile(new URL("../../../../deno.json", import.meta.url)));
const task: string = deno.tasks["guests:linux"];

Deno.test({
  name: `guests:linux does nothing when the guest of the current inputs is built${
    built ? "" : ` (ignored: ${linuxMissingReason()})`
  }`,
  ignore: built === null,
  async fn() {
    const before = await Deno.stat(built!.kernel);
    // The task's own command line, so its permission list is exercised too.
    const args = task.split(" ").slice(1);
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: new URL("../../../../", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    ok(text.includes("up to date, nothing to do"), text);
    ok(text.includes(`kernel: ${built!.kernel}`), text);
    assertEquals((await Deno.stat(built!.kernel)).mtime, before.mtime);
  },
});
