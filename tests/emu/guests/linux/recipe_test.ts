import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  inputPath,
  LINUX_INPUTS,
  linuxCacheRoot,
  linuxKey,
} from "../../../../emu/guests/linux/recipe.ts";

function withEnv(vars: Record<string, string | undefined>, fn: () => void): void {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      x === undefined ? Deno.env.delete(k) : Deno.env.set(k, x);
    }
  };
  set(vars);
  try {
    fn();
  } finally {
    set(old);
  }
}

Deno.test("linuxCacheRoot() honours SNAPSHELL_LINUX_DIR, then XDG_CACHE_HOME, then HOME", () => {
  withEnv({ SNAPSHELL_LINUX_DIR: "/x/linux", XDG_CACHE_HOME: "/xdg", HOME: "/home/u" }, () => {
    assertEquals(linuxCacheRoot(), "/x/linux");
  });
  withEnv({ SNAPSHELL_LINUX_DIR: undefined, XDG_CACHE_HOME: "/xdg", HOME: "/home/u" }, () => {
    assertEquals(linuxCacheRoot(), "/xdg/snapshell/linux");
  });
  withEnv({ SNAPSHELL_LINUX_DIR: undefined, XDG_CACHE_HOME: undefined, HOME: "/home/u" }, () => {
    assertEquals(linuxCacheRoot(), "/home/u/.cache/snapshell/linux");
  });
});

Deno.test("linuxKey() is 16 hex digits, stable, and covers the committed inputs", () => {
  const key = linuxKey();
  ok(/^[0-9a-f]{16}$/.test(key));
  assertEquals(linuxKey(), key);
  for (const name of LINUX_INPUTS) ok(Deno.statSync(inputPath(name)).isFile, name);
});
