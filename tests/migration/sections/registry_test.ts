/** The section table: ids in registration order, lookups, priority order, uniqueness. */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { VmStateDefinitionError } from "../../../migration/errors.ts";
import { SectionRegistry } from "../../../migration/sections/registry.ts";
import * as F from "../../../migration/vmstate/fields.ts";

const noop = {
  saveSetup() {},
  saveComplete() {},
  load: () => Promise.resolve(),
  commit() {},
  abort() {},
};

Deno.test("SectionRegistry assigns section ids in registration order and orders by priority", () => {
  const reg = new SectionRegistry();
  const a = reg.registerDevice({ vmsd: F.vmsd({ name: "a", fields: [] }), state: () => ({}) });
  const ram = reg.registerIterative("ram", 4, noop);
  const gic = reg.registerDevice({
    vmsd: F.vmsd({ name: "gic", priority: 5, fields: [] }),
    state: () => ({}),
  });
  const b1 = reg.registerDevice({
    vmsd: F.vmsd({ name: "b", fields: [] }),
    instanceId: 1,
    idstr: "0000:00:01.0/b",
    state: () => ({}),
  });
  deepStrictEqual([a.sectionId, ram.sectionId, gic.sectionId, b1.sectionId], [0, 1, 2, 3]);
  deepStrictEqual(reg.ordered().map((e) => e.idstr), ["gic", "a", "ram", "0000:00:01.0/b"]);
  strictEqual(reg.find("0000:00:01.0/b", 1), b1);
  strictEqual(reg.find("b", 1), undefined);
  strictEqual(reg.find("ram", 0), ram);
  strictEqual(reg.entries.length, 4);
});

Deno.test("SectionRegistry rejects a second registration of the same idstr and instance", () => {
  const reg = new SectionRegistry();
  const vmsd = F.vmsd({ name: "dev", fields: [] });
  reg.registerDevice({ vmsd, state: () => ({}) });
  reg.registerDevice({ vmsd, instanceId: 1, state: () => ({}) });
  throws(
    () => reg.registerDevice({ vmsd, instanceId: 1, state: () => ({}) }),
    VmStateDefinitionError,
  );
  throws(() => reg.registerIterative("dev", 1, noop), VmStateDefinitionError);
  throws(() => reg.registerIterative("x".repeat(256), 1, noop), /longer than 255 bytes/);
});

Deno.test("SectionRegistry checks a description at registration", () => {
  const reg = new SectionRegistry();
  const bad = {
    name: "bad",
    versionId: 1,
    minimumVersionId: 1,
    fields: [{ ...F.uint8("a"), versionId: 9 }],
  };
  throws(
    () => reg.registerDevice({ vmsd: bad, state: () => ({}) }),
    (e) => e instanceof VmStateDefinitionError && e.description === "bad" && e.field === "a",
  );
});

Deno.test("SectionRegistry's default commit copies the loaded record onto the live one", () => {
  const reg = new SectionRegistry();
  const live = { a: 1, keep: "x" };
  const e = reg.registerDevice({
    vmsd: F.vmsd({ name: "d", fields: [F.uint8("a")] }),
    state: () => live,
  });
  e.commit!({ a: 2 });
  deepStrictEqual(live, { a: 2, keep: "x" });
});

Deno.test("SectionRegistry.commit() installs every item, then runs each after-commit hook once", () => {
  const reg = new SectionRegistry();
  const seen: string[] = [];
  const a = reg.registerDevice({
    vmsd: F.vmsd({ name: "a", fields: [F.uint8("v")] }),
    state: () => ({ v: 0 }),
    commit: (s) => seen.push(`a=${s.v}`),
  });
  const ram = reg.registerIterative("ram", 4, { ...noop, commit: () => seen.push("ram") });
  reg.afterCommit(() => seen.push("hook1"));
  reg.afterCommit(() => seen.push("hook2"));
  reg.commit([{ entry: a, staged: { v: 7 } }, { entry: ram }]);
  deepStrictEqual(seen, ["a=7", "ram", "hook1", "hook2"]);
  reg.commit([]);
  deepStrictEqual(seen.slice(4), ["hook1", "hook2"]);
});

Deno.test("SectionRegistry.commit() refuses a section of another registry and runs no hook", () => {
  const reg = new SectionRegistry();
  const other = new SectionRegistry();
  const seen: string[] = [];
  const mine = reg.registerDevice({
    vmsd: F.vmsd({ name: "a", fields: [] }),
    state: () => ({}),
    commit: () => seen.push("mine"),
  });
  const theirs = other.registerDevice({
    vmsd: F.vmsd({ name: "a", fields: [] }),
    state: () => ({}),
  });
  reg.afterCommit(() => seen.push("hook"));
  throws(
    () => reg.commit([{ entry: theirs, staged: {} }, { entry: mine, staged: {} }]),
    VmStateDefinitionError,
  );
  deepStrictEqual(seen, []);
});
