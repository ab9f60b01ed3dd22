import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { blockPath, extract } from "../../../migration/inspect/extract.ts";
import { bytesInput, fileInput } from "../../../migration/inspect/input.ts";
import { buildStream, EXPECTED_STATE, fixture, hasFixture, page, sha256 } from "./_stream.ts";

/** Parse an X.extract.txt: the script's stdout lines and `size sha256 path` lines. */
function parseExtractTxt(text: string): { printed: string[]; files: string[] } {
  const lines = text.split("\n");
  const printed: string[] = [];
  const files: string[] = [];
  let section = "";
  for (const l of lines) {
    if (l.startsWith("# stdout")) section = "stdout";
    else if (l.startsWith("# files")) section = "files";
    else if (l.startsWith("#") || l.trim() === "") continue;
    else if (section === "stdout") printed.push(l);
    else if (section === "files") files.push(l.trim());
  }
  return { printed, files };
}

async function listing(dir: string, files: { path: string; size: number }[]): Promise<string[]> {
  const out = [];
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    out.push(`${f.size} ${await sha256(await Deno.readFile(`${dir}/${f.path}`))} ${f.path}`);
  }
  return out;
}

for (const name of ["virt-reset", "virt-running"].filter((n) => hasFixture(`${n}.extract.txt`))) {
  Deno.test(`extract: ${name} writes the same files as analyze-migration.py -x`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const rep = await extract(await fileInput(fixture(`${name}.qemu`)), dir);
      const want = parseExtractTxt(await Deno.readTextFile(fixture(`${name}.extract.txt`)));
      assertEquals(rep.printed, want.printed);
      assertEquals(await listing(dir, rep.files), want.files);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("extract: built stream, block names with '/' become directories", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rep = await extract(bytesInput(buildStream().bytes, 1000), dir);
    assertEquals(rep.printed, ["desc.json", "a", "b/c", "state.json"]);
    const a = await Deno.readFile(`${dir}/a`);
    assertEquals([a.length, a.subarray(0, 4096).every((x) => x === 0)], [8192, true]);
    assertEquals(a.subarray(4096), page(1));
    assertEquals(await Deno.readFile(`${dir}/b/c`), page(7));
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/state.json`)), EXPECTED_STATE);
    assertEquals(rep.files.map((f) => f.path), ["desc.json", "a", "b/c", "state.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract: without a vmdesc, RAM and state.json are still written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rep = await extract(bytesInput(buildStream({ vmdesc: "none" }).bytes), dir);
    assertEquals(rep.printed, ["a", "b/c", "state.json"]);
    assertEquals(await Deno.readFile(`${dir}/b/c`), page(7));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract: block paths never leave the output directory", () => {
  assertEquals(blockPath("/rom@etc/acpi/tables"), "rom@etc/acpi/tables");
  assertEquals(blockPath("../../etc/passwd"), "%2e%2e/%2e%2e/etc/passwd");
  assertEquals(blockPath("a//./b"), "a/b");
  assertEquals(blockPath("/"), "%2f");
});
