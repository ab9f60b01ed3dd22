/** QEMU's JSONWriter in non-pretty mode: separators, escaping, nesting, duplicate keys. */
import { strictEqual } from "node:assert/strict";
import { QemuJsonWriter, quoteQemu } from "../../../migration/json/qemu_json_writer.ts";

Deno.test("QemuJsonWriter separates members with ', ' and keys with ': '", () => {
  const j = new QemuJsonWriter();
  j.startObject();
  j.int("page_size", 4096);
  j.startArray("devices");
  j.startObject();
  j.str("name", "timer");
  j.int("big", 2n ** 63n);
  j.bool("t", true);
  j.bool("f", false);
  j.startArray("empty");
  j.endArray();
  j.startObject("o");
  j.endObject();
  j.endObject();
  j.int(null, -1);
  j.endArray();
  j.endObject();
  strictEqual(j.depth, 0);
  strictEqual(
    j.toString(),
    '{"page_size": 4096, "devices": [{"name": "timer", "big": 9223372036854775808, "t": true, ' +
      '"f": false, "empty": [], "o": {}}, -1]}',
  );
  strictEqual(j.toString(), j.toString(), "toString() can be called again");
});

Deno.test("QemuJsonWriter writes repeated keys as given, as QEMU does for tmp/qtailq", () => {
  const j = new QemuJsonWriter();
  j.startObject();
  j.str("vmsd_name", "a");
  j.str("vmsd_name", "a");
  j.endObject();
  strictEqual(j.toString(), '{"vmsd_name": "a", "vmsd_name": "a"}');
});

Deno.test("quoteQemu() escapes like QEMU: short escapes, uppercase \\u for controls and >= 0x7F", () => {
  strictEqual(quoteQemu('a"b\\c'), '"a\\"b\\\\c"');
  strictEqual(quoteQemu("\b\f\n\r\t"), '"\\b\\f\\n\\r\\t"');
  strictEqual(quoteQemu("\u0001\u001f"), '"\\u0001\\u001F"');
  strictEqual(quoteQemu("\u007f\u00e9\u20ac"), '"\\u007F\\u00E9\\u20AC"');
  strictEqual(quoteQemu("\u{1f600}"), '"\\uD83D\\uDE00"');
  strictEqual(quoteQemu("/ ~"), '"/ ~"');
});

Deno.test("QemuJsonWriter reproduces the start of QEMU 7.2's real vmdesc text", async () => {
  const real = await Deno.readTextFile(
    new URL("../../fixtures/qemu72/virt-running.vmdesc.raw.json", import.meta.url),
  );
  const j = new QemuJsonWriter();
  j.startObject();
  j.int("page_size", 4096);
  j.startArray("devices");
  j.startObject();
  j.str("name", "timer");
  j.int("instance_id", 0);
  j.str("vmsd_name", "timer");
  j.int("version", 2);
  j.startArray("fields");
  j.startObject();
  j.str("name", "cpu_ticks_offset");
  j.str("type", "int64");
  j.int("size", 8);
  j.endObject();
  const text = j.toString();
  strictEqual(real.slice(0, text.length), text);
});
