import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { type Dump, parseDump } from "../../../migration/compat/dump_model.ts";
import { checkDumps, renderFindings } from "../../../migration/compat/static_checker.ts";

const FIX = new URL("../../fixtures/qemu72/", import.meta.url).pathname;
const CASES = JSON.parse(
  await Deno.readTextFile(new URL("./_checker_cases.json", import.meta.url)),
);

/** Outputs of QEMU 7.2's vmstate-static-checker.py: "# ..." lines around what it printed. */
async function qemuOutput(file: string): Promise<{ text: string; code: number }> {
  const raw = await Deno.readTextFile(`${FIX}${file}`);
  const lines = raw.split("\n").filter((l) => !l.startsWith("#") && l !== "");
  const code = Number(/# exit status (\d+)/.exec(raw)![1]);
  return { text: lines.map((l) => l + "\n").join(""), code };
}

const fixture = async (name: string) =>
  parseDump(await Deno.readTextFile(`${FIX}${name}.dump-vmstate.json`));
const dumpOf = (json: unknown): Dump => parseDump(JSON.stringify(json));

Deno.test("checkDumps() on virt-subset -> virt-subset-mutated prints what QEMU's checker printed", async () => {
  const src = await fixture("virt-subset");
  const dest = await fixture("virt-subset-mutated");
  const want = await qemuOutput("virt-subset.static-checker-forward.txt");
  const got = checkDumps(src, dest);
  strictEqual(renderFindings(got.findings), want.text);
  strictEqual(got.exitCode, want.code);
  deepStrictEqual(got.findings.map((f) => f.kind), [
    "subsection-missing",
    "version",
    "version",
    "size-mismatch",
    "field-mismatch",
    "minimum-version",
    "minimum-version",
    "section-missing",
  ]);
});

Deno.test("checkDumps() with the dumps swapped matches QEMU's --reverse output", async () => {
  const want = await qemuOutput("virt-subset.static-checker-reverse.txt");
  const got = checkDumps(await fixture("virt-subset-mutated"), await fixture("virt-subset"));
  strictEqual(renderFindings(got.findings), want.text);
  strictEqual(got.exitCode, want.code);
});

Deno.test("checkDumps() of QEMU's full virt dump against itself finds nothing", async () => {
  const v = await fixture("virt");
  const want = await qemuOutput("virt.static-checker-self.txt");
  const got = checkDumps(v, v);
  strictEqual(renderFindings(got.findings), want.text);
  strictEqual(got.exitCode, 0);
});

Deno.test("the section-level minimum version quirk is unterminated and not counted", async () => {
  const got = checkDumps(await fixture("virt-subset"), await fixture("virt-subset-mutated"));
  const glued = got.findings.find((f) => f.kind === "minimum-version" && !f.eol)!;
  strictEqual(glued.text, 'Section "cfi.pflash01" ');
  strictEqual(glued.counted, false);
});

for (
  const [name, expected] of Object.entries(
    CASES.expected as Record<string, { out: string; code: number }>,
  )
) {
  Deno.test(`checkDumps() matches QEMU's checker on the synthetic case "${name}"`, () => {
    const base = name.replace(" reverse", "");
    const src = dumpOf(
      base === "field-version" ? CASES.srcFv : base === "renames" ? CASES.srcRen : CASES.src,
    );
    const dest = dumpOf(CASES.cases[base]);
    const got = name.endsWith(" reverse") ? checkDumps(dest, src) : checkDumps(src, dest);
    strictEqual(renderFindings(got.findings), expected.out);
    strictEqual(got.exitCode, expected.code);
  });
}

for (
  const [name, expected] of Object.entries(
    CASES.oursExpected as Record<string, { out: string; code: number }>,
  )
) {
  Deno.test(`checkDumps() matches QEMU's checker on snapshell dumps: ${name}`, async () => {
    const ours = dumpOf(CASES.ours);
    const other = name === "ours-vs-qemu" ? await fixture("virt") : dumpOf(CASES.oursMutated);
    const got = name.endsWith(" reverse") ? checkDumps(other, ours) : checkDumps(ours, other);
    strictEqual(renderFindings(got.findings), expected.out);
    strictEqual(got.exitCode, expected.code);
  });
}

Deno.test("checkDumps() caps its exit status at 255 like the script", () => {
  const sections = new Map(
    Array.from({ length: 300 }, (_, i) => [`dev${i}`, {
      Name: `dev${i}`,
      version_id: 1,
      minimum_version_id: 1,
      Description: { name: `dev${i}`, version_id: 1, minimum_version_id: 1, Fields: [] },
    }]),
  );
  const got = checkDumps({ machine: "m", sections }, { machine: "m", sections: new Map() });
  strictEqual(got.findings.length, 300);
  strictEqual(got.exitCode, 255);
});
