import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  buildDtb,
  cells64,
  FDT_MAGIC,
  fdtCells,
  FdtError,
  FdtNode,
  fdtStrings,
  parseDtb,
} from "../../../emu/boot/fdt.ts";

function sample(): FdtNode {
  const root = new FdtNode("").prop("#address-cells", 2).prop("compatible", "acme,board");
  root.child("chosen").prop("bootargs", "console=ttyS0");
  const soc = root.child("soc").prop("ranges", true);
  soc.child("uart@10000000")
    .prop("reg", [...cells64(0x1000_0000), ...cells64(0x100)])
    .prop("compatible", ["ns16550a", "generic-uart"])
    .prop("raw", Uint8Array.of(1, 2, 3));
  return root;
}

async function haveDtc(): Promise<boolean> {
  try {
    return (await new Deno.Command("dtc", { args: ["--version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}
const dtc = await haveDtc();

Deno.test("buildDtb() writes a v17 header with blocks in order and no slack", () => {
  const blob = buildDtb(sample());
  const dv = new DataView(blob.buffer);
  assertEquals(dv.getUint32(0), FDT_MAGIC);
  assertEquals(dv.getUint32(4), blob.length); // totalsize
  assertEquals(dv.getUint32(16), 40); // mem_rsvmap right after the header
  assertEquals(dv.getUint32(8), 56); // struct after the empty reservation map
  assertEquals(dv.getUint32(20), 17);
  assertEquals(dv.getUint32(24), 16);
  assertEquals(dv.getUint32(12) + dv.getUint32(32), blob.length); // strings end the blob
  assertEquals(dv.getUint32(8) + dv.getUint32(36), dv.getUint32(12));
});

Deno.test("buildDtb() is deterministic and stores each property name once", () => {
  const a = buildDtb(sample());
  assertEquals(buildDtb(sample()), a);
  const dv = new DataView(a.buffer);
  const strings = new TextDecoder().decode(
    a.subarray(dv.getUint32(12), dv.getUint32(12) + dv.getUint32(32)),
  );
  assertEquals(strings, "#address-cells\0compatible\0bootargs\0ranges\0reg\0raw\0");
});

Deno.test("parseDtb() reads back nodes, properties and values", () => {
  const root = parseDtb(buildDtb(sample()));
  assertEquals(root.children.map((c) => c.name), ["chosen", "soc"]);
  const uart = root.find("soc")!.find("uart@10000000")!;
  assertEquals(fdtCells(uart.get("reg")), [0, 0x1000_0000, 0, 0x100]);
  assertEquals(fdtStrings(uart.get("compatible")), ["ns16550a", "generic-uart"]);
  assertEquals(uart.get("raw"), Uint8Array.of(1, 2, 3));
  assertEquals(root.find("soc")!.get("ranges"), new Uint8Array(0));
  assertEquals(fdtStrings(root.find("chosen")!.get("bootargs")), ["console=ttyS0"]);
});

Deno.test("buildDtb() writes memory reservations and the boot cpu id", () => {
  const blob = buildDtb(new FdtNode(""), {
    bootCpuId: 3,
    reservations: [{ address: 0x8000_0000n, size: 0x20_0000n }],
  });
  const dv = new DataView(blob.buffer);
  assertEquals(dv.getUint32(28), 3);
  assertEquals(dv.getBigUint64(40), 0x8000_0000n);
  assertEquals(dv.getBigUint64(48), 0x20_0000n);
  assertEquals(dv.getBigUint64(56), 0n); // terminator
  assertEquals(dv.getUint32(8), 72);
});

Deno.test("the writer rejects bad names, cells and duplicates with the path", () => {
  const isErr = (path: string) => (e: unknown) =>
    e instanceof FdtError && e.kind === "incompatible" && e.path === path;
  throws(() => new FdtNode("").prop("a", 1).prop("a", 2), isErr("/a"));
  const r = new FdtNode("");
  r.child("x");
  throws(() => r.child("x"), isErr("/x"));
  const bad = new FdtNode("");
  bad.child("n").prop("big", [0x1_0000_0000]);
  throws(() => buildDtb(bad), isErr("/n/big"));
  const neg = new FdtNode("");
  neg.child("n").prop("v", -1);
  throws(() => buildDtb(neg), isErr("/n/v"));
  const sp = new FdtNode("");
  sp.child("has space");
  throws(() => buildDtb(sp), isErr("/has space"));
  throws(() => buildDtb(new FdtNode("named")), (e: unknown) => e instanceof FdtError);
  throws(() => cells64(-1), (e: unknown) => e instanceof FdtError);
});

Deno.test("parseDtb() rejects corrupt blobs with a byte offset", () => {
  const good = buildDtb(sample());
  const corrupt = (edit: (b: Uint8Array, dv: DataView) => void, offset?: number) => {
    const b = good.slice();
    edit(b, new DataView(b.buffer));
    throws(
      () => parseDtb(b),
      (e: unknown) =>
        e instanceof FdtError && e.kind === "corrupt" &&
        (offset === undefined || e.offset === offset),
    );
  };
  corrupt((_b, dv) => dv.setUint32(0, 0), 0);
  corrupt((_b, dv) => dv.setUint32(4, good.length + 4), 4);
  corrupt((_b, dv) => dv.setUint32(56, 7), 56); // first token
  corrupt((_b, dv) => dv.setUint32(36, dv.getUint32(36) - 4)); // struct without FDT_END
  throws(() => parseDtb(good.subarray(0, 20)), (e: unknown) => e instanceof FdtError);
});

Deno.test({
  name: "dtc decompiles the blob to the expected source",
  ignore: !dtc,
  async fn() {
    const file = await Deno.makeTempFile({ suffix: ".dtb" });
    try {
      await Deno.writeFile(file, buildDtb(sample()));
      const out = await new Deno.Command("dtc", {
        args: ["-I", "dtb", "-O", "dts", file],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.success, true);
      assertEquals(
        new TextDecoder().decode(out.stdout),
        [
          "/dts-v1/;",
          "",
          "/ {",
          "\t#address-cells = <0x02>;",
          '\tcompatible = "acme,board";',
          "",
          "\tchosen {",
          '\t\tbootargs = "console=ttyS0";',
          "\t};",
          "",
          "\tsoc {",
          "\t\tranges;",
          "",
          "\t\tuart@10000000 {",
          "\t\t\treg = <0x00 0x10000000 0x00 0x100>;",
          '\t\t\tcompatible = "ns16550a\\0generic-uart";',
          "\t\t\traw = [01 02 03];",
          "\t\t};",
          "\t};",
          "};",
          "",
        ].join("\n"),
      );
    } finally {
      await Deno.remove(file);
    }
  },
});
