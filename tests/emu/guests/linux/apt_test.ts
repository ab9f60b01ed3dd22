import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { debSrcTwin } from "../../../../emu/guests/linux/apt.ts";

const DEBIAN = [
  "Types: deb",
  "URIs: http://deb.debian.org/debian",
  "Suites: bookworm bookworm-updates",
  "Components: main",
  "",
  "Types: deb",
  "URIs: http://deb.debian.org/debian-security",
  "Suites: bookworm-security",
  "Components: main",
  "",
].join("\n");

Deno.test("debSrcTwin() copies debian.sources with Types: deb-src when no entry exists", () => {
  const twin = debSrcTwin([{ name: "debian.sources", text: DEBIAN }], "");
  assertEquals(twin, DEBIAN.replaceAll("Types: deb\n", "Types: deb-src\n"));
});

Deno.test("debSrcTwin() adds nothing when a deb-src entry exists in either format", () => {
  const src = { name: "x.sources", text: "Types: deb deb-src\nURIs: http://example/\n" };
  assertEquals(debSrcTwin([{ name: "debian.sources", text: DEBIAN }, src], ""), null);
  assertEquals(
    debSrcTwin(
      [{ name: "debian.sources", text: DEBIAN }],
      "deb-src http://deb.debian.org/debian bookworm main\n",
    ),
    null,
  );
  // A disabled list or a commented line does not count.
  assertEquals(
    debSrcTwin(
      [{ name: "debian.sources", text: DEBIAN }, { name: "y.list.disabled", text: "deb-src x" }],
      "# deb-src http://deb.debian.org/debian bookworm main\n",
    ) !== null,
    true,
  );
});

Deno.test("debSrcTwin() fails clearly when there is nothing to copy", () => {
  throws(() => debSrcTwin([], ""), /no deb-src entry/);
});
