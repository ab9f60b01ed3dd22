import { deepStrictEqual, throws } from "node:assert/strict";
import { tokenize } from "../../repl/tokenize.ts";
import { UsageError } from "../../repl/commands/types.ts";

Deno.test("tokenize() splits on whitespace and keeps quoted words whole", () => {
  deepStrictEqual(tokenize('send "hello world" x'), ["send", "hello world", "x"]);
  deepStrictEqual(tokenize("  run   100  "), ["run", "100"]);
  deepStrictEqual(tokenize("set a='b c'"), ["set", "a=b c"]);
});

Deno.test("tokenize() honours escapes and drops # comments outside quotes", () => {
  deepStrictEqual(tokenize('send "a\\"b" # trailing comment'), ["send", 'a"b']);
  deepStrictEqual(tokenize("# only a comment"), []);
  deepStrictEqual(tokenize('expect console contains "#1"'), [
    "expect",
    "console",
    "contains",
    "#1",
  ]);
  deepStrictEqual(tokenize("a\\ b"), ["a b"]);
  deepStrictEqual(tokenize('""'), [""]);
});

Deno.test("tokenize() rejects an unterminated quote as a usage error", () => {
  throws(() => tokenize('send "oops'), UsageError);
});
