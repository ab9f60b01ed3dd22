/** Typed errors: kinds, location rendering, JSON form. */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  clipStreamText,
  escapeControl,
  lightweightErrors,
  MigrationError,
  StreamTruncatedError,
  UnknownEntityError,
  VersionMismatchError,
  VmStateDefinitionError,
} from "../../migration/errors.ts";

Deno.test("MigrationError renders its location and fills only missing parts on locate()", () => {
  const e = new StreamTruncatedError(1, 0, { offset: 26 });
  strictEqual(e.message, "Stream ends early: 1 more byte needed, 0 available (at byte 26 (0x1a))");
  e.locate({ offset: 3, section: "serial" }).withPath("serial.lsr");
  strictEqual(
    e.message,
    'Stream ends early: 1 more byte needed, 0 available (at section "serial", field "serial.lsr", byte 26 (0x1a))',
  );
  strictEqual(e instanceof MigrationError, true);
  strictEqual(e.name, "StreamTruncatedError");
  deepStrictEqual(e.toJSON(), {
    error: "StreamTruncatedError",
    kind: "corrupt",
    reason: "Stream ends early: 1 more byte needed, 0 available",
    offset: 26,
    section: "serial",
    path: "serial.lsr",
  });
});

Deno.test("VersionMismatchError words too new and too old like QEMU", () => {
  strictEqual(
    new VersionMismatchError("cpu", 6, 2, 5).message,
    "cpu: incoming version_id 6 is too new for local version_id 5",
  );
  const old = new VersionMismatchError("cpu", 1, 2, 5);
  strictEqual(old.message, "cpu: incoming version_id 1 is too old for local minimum version_id 2");
  strictEqual(old.kind, "incompatible");
});

Deno.test("VmStateDefinitionError names the description and field", () => {
  const e = new VmStateDefinitionError("serial", "fifo", "bad");
  strictEqual(e.message, 'Invalid VMState description "serial" field "fifo": bad');
  strictEqual(e instanceof TypeError, true);
  strictEqual(
    new VmStateDefinitionError("serial", undefined, "bad").message,
    'Invalid VMState description "serial": bad',
  );
});

Deno.test("control bytes from a stream (ESC, newline) are escaped in messages, kept in fields", () => {
  const e = new UnknownEntityError("Unknown section 'a\u001b[2Jb\nc'", {
    section: "x\u001by",
    path: "p\nq",
    offset: 3,
  });
  strictEqual(
    e.message,
    'Unknown section \'a\\x1b[2Jb\\x0ac\' (at section "x\\x1by", field "p\\x0aq", byte 3 (0x3))',
  );
  strictEqual(e.section, "x\u001by");
  strictEqual(escapeControl("tab\there\u009b"), "tab\\x09here\\x9b");
  strictEqual(escapeControl("plain/ascii.name[3]"), "plain/ascii.name[3]");
});

Deno.test("clipStreamText() keeps short names and cuts a megabyte 'name' to one readable line", () => {
  strictEqual(clipStreamText("virt"), "virt");
  const huge = "x".repeat(524_203);
  const clipped = clipStreamText(huge);
  ok(clipped.length < 120, `${clipped.length}`);
  ok(clipped.endsWith("… (524203 characters)"));
});

Deno.test("lightweight errors keep class, kind, location, fields and message, without a stack", () => {
  const make = () =>
    new StreamTruncatedError(4, 1, { offset: 7 }).locate({ section: "serial\n" })
      .withPath("serial/scr");
  const full = make();
  const was = lightweightErrors(true);
  let light: StreamTruncatedError;
  try {
    light = make();
  } finally {
    lightweightErrors(was);
  }
  ok(light instanceof StreamTruncatedError && light instanceof MigrationError);
  ok(light instanceof Error);
  strictEqual(light.stack, undefined);
  ok(typeof full.stack === "string");
  for (const k of ["name", "kind", "reason", "offset", "section", "path", "message"] as const) {
    strictEqual(light[k], full[k], k);
  }
  strictEqual(light.needed, 4);
  strictEqual(light.available, 1);
  strictEqual(String(light), String(full));
  deepStrictEqual(light.toJSON(), full.toJSON());
  ok(light.message.includes("serial\\x0a"));
  light.message = "replaced";
  strictEqual(light.message, "replaced");
  const cause = new Error("underneath");
  lightweightErrors(true);
  try {
    strictEqual(new MigrationError("environment", "x", {}, { cause }).cause, cause);
  } finally {
    lightweightErrors(was);
  }
});
