/** Migration URIs: the three forms QEMU accepts, and clear errors for the rest. */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  formatMigrationUri,
  MigrationUriError,
  parseMigrationUri,
} from "../../../harness/migration/uri.ts";

Deno.test("parseMigrationUri() reads file:, exec: and tcp: (IPv6 in brackets) and formats them back", () => {
  const cases: [string, ReturnType<typeof parseMigrationUri>][] = [
    ["file:/tmp/vm.qemu", { kind: "file", path: "/tmp/vm.qemu" }],
    ["exec:cat > /tmp/x y", { kind: "exec", command: "cat > /tmp/x y" }],
    ["tcp:127.0.0.1:4444", { kind: "tcp", host: "127.0.0.1", port: 4444 }],
    ["tcp:localhost:0", { kind: "tcp", host: "localhost", port: 0 }],
    ["tcp:[::1]:4444", { kind: "tcp", host: "::1", port: 4444 }],
  ];
  for (const [text, uri] of cases) {
    deepStrictEqual(parseMigrationUri(text), uri, text);
    strictEqual(formatMigrationUri(uri), text);
  }
  deepStrictEqual(parseMigrationUri("tcp::4444"), { kind: "tcp", host: "0.0.0.0", port: 4444 });
});

Deno.test("parseMigrationUri() says what is wrong with a bad URI", () => {
  for (
    const [text, why] of [
      ["vm.qemu", /use file:PATH, exec:COMMAND or tcp:HOST:PORT/],
      ["unix:/tmp/sock", /use file:PATH/],
      ["file:", /file: needs a path/],
      ["exec:  ", /exec: needs a command/],
      ["tcp:host", /use tcp:HOST:PORT/],
      ["tcp:host:port", /use tcp:HOST:PORT/],
      ["tcp:host:70000", /port 70000 is above 65535/],
    ] as const
  ) {
    throws(
      () => parseMigrationUri(text),
      (e) => e instanceof MigrationUriError && e.uri === text && why.test(e.message),
      text,
    );
  }
});
