import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  LINUX_BUILD_COMMAND,
  linuxArtifacts,
  linuxMissingReason,
} from "../../../../emu/guests/linux/artifacts.ts";
import { ARTIFACT_FILES, linuxKey } from "../../../../emu/guests/linux/recipe.ts";

/** Runs `fn` with SNAPSHELL_LINUX_DIR pointing at a fresh temporary cache root. */
async function withCache(fn: (root: string) => void | Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  const old = Deno.env.get("SNAPSHELL_LINUX_DIR");
  Deno.env.set("SNAPSHELL_LINUX_DIR", root);
  try {
    await fn(root);
  } finally {
    if (old === undefined) Deno.env.delete("SNAPSHELL_LINUX_DIR");
    else Deno.env.set("SNAPSHELL_LINUX_DIR", old);
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("linuxArtifacts() is null until the key directory holds all files and the manifest", async () => {
  await withCache(async (root) => {
    assertEquals(linuxArtifacts(), null);
    const dir = `${root}/${linuxKey()}`;
    await Deno.mkdir(dir);
    for (const f of [ARTIFACT_FILES.bios, ARTIFACT_FILES.kernel, ARTIFACT_FILES.init]) {
      await Deno.writeFile(`${dir}/${f}`, new Uint8Array(1));
    }
    assertEquals(linuxArtifacts(), null); // no manifest yet: an interrupted build
    await Deno.writeTextFile(`${dir}/${ARTIFACT_FILES.manifest}`, "{}");
    assertEquals(linuxArtifacts(), {
      dir,
      bios: `${dir}/fw_dynamic.bin`,
      kernel: `${dir}/Image`,
      init: `${dir}/init`,
    });
    // A build for other inputs (another key) does not count.
    await Deno.rename(dir, `${root}/0000000000000000`);
    assertEquals(linuxArtifacts(), null);
  });
});

Deno.test("linuxMissingReason() names the command and the directory", async () => {
  await withCache((root) => {
    const why = linuxMissingReason();
    ok(why.includes(LINUX_BUILD_COMMAND));
    ok(why.includes(`${root}/${linuxKey()}`));
  });
});
