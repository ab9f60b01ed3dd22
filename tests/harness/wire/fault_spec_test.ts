import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { FaultSpecError } from "../../../harness/wire/errors.ts";
import {
  formatFault,
  parseFault,
  parseMillis,
  parseRate,
} from "../../../harness/wire/fault_spec.ts";

Deno.test("parseFault() reads every fault word", () => {
  deepStrictEqual(parseFault("cut:ram@part+4096"), {
    kind: "cut",
    at: { kind: "chunk", selector: "ram@part", plus: 4096 },
  });
  deepStrictEqual(parseFault("stall:0x100:2s"), {
    kind: "stall",
    at: { kind: "offset", offset: 256 },
    ms: 2000,
  });
  deepStrictEqual(parseFault("throttle:2M"), { kind: "throttle", rate: 2 << 20 });
  deepStrictEqual(parseFault("chunk:1400"), { kind: "chunk", size: 1400 });
  deepStrictEqual(parseFault("flip:goldfish_rtc.irq_enabled:9"), {
    kind: "flip",
    at: { kind: "field", path: "goldfish_rtc.irq_enabled", plus: 0 },
    bit: 9,
  });
  deepStrictEqual(parseFault("set:10:0xff"), {
    kind: "set",
    at: { kind: "offset", offset: 10 },
    value: 255,
  });
  deepStrictEqual(parseFault("write:vmdesc+5:3f00"), {
    kind: "write",
    at: { kind: "vmdesc", plus: 5 },
    bytes: Uint8Array.of(0x3f, 0),
  });
  deepStrictEqual(parseFault("field:serial.lsr=0x61"), {
    kind: "field",
    path: "serial.lsr",
    value: "0x61",
  });
  deepStrictEqual(parseFault("drop:serial"), {
    kind: "drop",
    at: { kind: "chunk", selector: "serial", plus: 0 },
  });
  deepStrictEqual(parseFault("dup:100:16"), {
    kind: "dup",
    at: { kind: "offset", offset: 100 },
    length: 16,
  });
});

Deno.test("parseFault() refuses bad words, naming the word", () => {
  for (
    const [word, why] of [
      ["smash:1", /unknown fault/],
      ["cut", /cut takes 1 argument/],
      ["stall:1", /stall takes 2/],
      ["flip:3:8", /bit 8 is not 0\.\.7/],
      ["set:3:256", /not 0\.\.255/],
      ["write:3:abc", /not hex bytes/],
      ["drop:100", /needs a chunk/],
      ["drop:serial+2", /needs a chunk/],
      ["dup:1:0", /at least 1/],
      ["throttle:fast", /not a positive number/],
      ["chunk:0", /at least 1/],
      ["field:=1", /field:PATH=VALUE/],
      ["cut:$$", /neither an offset/],
    ] as const
  ) {
    throws(() => parseFault(word), (e) => {
      strictEqual((e as FaultSpecError).name, "FaultSpecError");
      strictEqual((e as FaultSpecError).spec, word);
      return why.test((e as Error).message);
    }, word);
  }
});

Deno.test("parseRate() and parseMillis() take the usual spellings", () => {
  strictEqual(parseRate("65536"), 65536);
  strictEqual(parseRate("512K"), 512 << 10);
  strictEqual(parseRate("1MiB/s"), 1 << 20);
  strictEqual(parseRate("1.5M"), 1.5 * (1 << 20));
  strictEqual(parseMillis("1500"), 1500);
  strictEqual(parseMillis("20ms"), 20);
  strictEqual(parseMillis("0.5s"), 500);
  throws(() => parseMillis("soon"), FaultSpecError);
  throws(() => parseRate("0"), FaultSpecError);
});

Deno.test("formatFault() gives back a word that parses to the same fault", () => {
  const position = fc.oneof(
    fc.nat({ max: 1 << 30 }).map(String),
    fc.tuple(fc.constantFrom("ram", "ram@part2", "serial", "nvme#1"), fc.nat({ max: 999 }))
      .map(([s, n]) => (n ? `${s}+${n}` : s)),
    fc.constantFrom("serial.lsr", "nvme.sq[3].tail", "eof", "vmdesc+4"),
  );
  const word = fc.oneof(
    position.map((p) => `cut:${p}`),
    fc.tuple(position, fc.nat({ max: 9999 })).map(([p, ms]) => `stall:${p}:${ms}`),
    fc.tuple(position, fc.nat({ max: 7 })).map(([p, b]) => `flip:${p}:${b}`),
    fc.tuple(position, fc.nat({ max: 255 })).map(([p, v]) => `set:${p}:${v}`),
    fc.tuple(position, fc.uint8Array({ minLength: 1, maxLength: 6 })).map(([p, b]) =>
      `write:${p}:${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`
    ),
    fc.tuple(position, fc.integer({ min: 1, max: 4096 })).map(([p, n]) => `drop:${p}:${n}`),
    fc.integer({ min: 1, max: 1 << 30 }).map((r) => `throttle:${r}`),
  );
  fc.assert(fc.property(word, (w) => {
    const f = parseFault(w);
    deepStrictEqual(parseFault(formatFault(f)), f);
  }));
});
