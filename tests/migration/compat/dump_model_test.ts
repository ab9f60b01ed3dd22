import { strictEqual } from "node:assert/strict";
import { formatDump, parseDump } from "../../../migration/compat/dump_model.ts";

const FIX = new URL("../../fixtures/qemu72/", import.meta.url).pathname;

for (const name of ["virt-subset", "virt-subset-mutated", "virt"]) {
  Deno.test(`formatDump(parseDump()) reproduces QEMU's ${name}.dump-vmstate.json byte for byte`, async () => {
    const text = await Deno.readTextFile(`${FIX}${name}.dump-vmstate.json`);
    const dump = parseDump(text);
    strictEqual(dump.machine, "virt");
    strictEqual(formatDump(dump), text);
  });
}

Deno.test("formatDump() writes num before size and empty field lists as QEMU's fprintf does", () => {
  const text = formatDump({
    machine: "m",
    sections: new Map([["dev", {
      Name: "dev",
      version_id: 1,
      minimum_version_id: 1,
      Description: {
        name: "dev",
        version_id: 1,
        minimum_version_id: 1,
        Fields: [{ field: "a", version_id: 0, field_exists: true, num: 4, size: 2 }],
        Subsections: [{ name: "dev/s", version_id: 1, minimum_version_id: 1, Fields: [] }],
      },
    }]]),
  });
  strictEqual(
    text,
    `{
  "vmschkmachine": {
    "Name": "m"
  },
  "dev": {
    "Name": "dev",
    "version_id": 1,
    "minimum_version_id": 1,
    "Description": {
      "name": "dev",
      "version_id": 1,
      "minimum_version_id": 1,
      "Fields": [
        {
          "field": "a",
          "version_id": 0,
          "field_exists": true,
          "num": 4,
          "size": 2
        }
      ],
      "Subsections": [
        {
          "name": "dev/s",
          "version_id": 1,
          "minimum_version_id": 1,
          "Fields": [

          ]
        }
      ]
    }
  }
}
`,
  );
});
