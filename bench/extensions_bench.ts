/**
 * Cost of the protocol extensions on the default machine's snapshot: the `virt` machine booted
 * with the demo guest and run for 1,000,000 instructions, saved with each capability set.
 *
 *   deno run --allow-read bench/extensions_bench.ts   # size and speed tables (docs figures)
 *   deno bench --allow-read bench/extensions_bench.ts # Deno.bench form (device sections only)
 *
 * "Device sections" are the FULL sections (every description-based section, the NVMe-style
 * device's 1 MiB disk included); RAM is the same in every encoding and is left out of the
 * speed figures. Sizes are the bytes the sections take in the stream, headers and footers
 * included, plus the vmdesc trailer where one is written.
 * @module
 */
import { DEFAULT_GUEST, VirtMachine } from "../emu/virt.ts";
import { loadTaggedState } from "../migration/extensions/tagged_load.ts";
import { TaggedSaver } from "../migration/extensions/tagged_save.ts";
import { SectionType } from "../migration/sections/constants.ts";
import { StreamReader } from "../migration/stream/reader.ts";
import { StreamWriter } from "../migration/stream/writer.ts";
import type { StateRecord } from "../migration/vmstate/description.ts";
import { loadState } from "../migration/vmstate/load.ts";
import { VmStateSaver } from "../migration/vmstate/save.ts";
import {
  type ExtensionSaveOptions,
  loadWalkOptions,
  saveWalkOptions,
} from "../migration/extensions/layers.ts";

const INSNS = 1_000_000;

/** The default machine, booted with the demo guest and run for 1M instructions. */
async function defaultMachine(): Promise<VirtMachine> {
  const m = new VirtMachine();
  m.boot(await Deno.readFile(DEFAULT_GUEST));
  m.run(INSNS);
  return m;
}

const machine = await defaultMachine();
const allDevices = machine.registry.ordered().filter((e) => e.vmsd);
/** The sections the timings walk (all, or all but the NVMe disk that dominates them). */
let devices = allDevices;

type Encoding = "qemu" | "markers" | "ptr-markers" | "tagged";
const switches: Record<Exclude<Encoding, "tagged">, ExtensionSaveOptions> = {
  "qemu": {},
  "markers": { vmsdMarkers: true },
  "ptr-markers": { ptrMarkers: true },
};

/** Every device section's payload, back to back (what the speed figures time). */
function saveDevices(enc: Encoding): Uint8Array {
  const w = new StreamWriter(undefined, 2 << 20);
  for (const e of devices) {
    if (enc === "tagged") new TaggedSaver(w).save(e.vmsd!, e.state!());
    else new VmStateSaver(w, saveWalkOptions(switches[enc])).save(e.vmsd!, e.state!());
  }
  return w.take();
}

/** Load what {@link saveDevices} wrote into staged copies, as a load does. */
function loadDevices(enc: Encoding, bytes: Uint8Array): void {
  const r = StreamReader.fromBytes(bytes);
  for (const e of devices) {
    const staged = structuredClone(e.state!()) as StateRecord;
    if (enc === "tagged") loadTaggedState(r, e.vmsd!, staged);
    else loadState(r, e.vmsd!, staged, e.vmsd!.versionId, loadWalkOptions(switches[enc]));
  }
}

const encodings: Encoding[] = ["qemu", "markers", "ptr-markers", "tagged"];
const payloads = new Map(encodings.map((enc) => [enc, saveDevices(enc)]));

for (const enc of encodings) {
  Deno.bench(`save device sections (${enc})`, { group: "save", baseline: enc === "qemu" }, () => {
    saveDevices(enc);
  });
  Deno.bench(`load device sections (${enc})`, { group: "load", baseline: enc === "qemu" }, () => {
    loadDevices(enc, payloads.get(enc)!);
  });
}

/** Stream sizes per capability set: device sections, vmdesc, total. */
async function sizes(caps: string[]) {
  let device = 0;
  let vmdesc = 0;
  const perSection = new Map<string, number>();
  const w = new StreamWriter(undefined, 4 << 20);
  await machine.save(w, {
    capabilities: caps,
    onSection: (s) => {
      if (s.type === SectionType.FULL) {
        device += s.end - s.start;
        perSection.set(s.idstr, s.end - s.start);
      }
      if (s.type === SectionType.VMDESCRIPTION) vmdesc = s.end - s.start;
    },
  });
  return { device, vmdesc, total: w.offset, perSection };
}

function timeIt(fn: () => void, rounds: number): number {
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) fn();
  return (performance.now() - t0) / rounds;
}

/** Best of five interleaved passes per encoding (ms per save / load of the sections). */
function timings(rounds: number): Map<Encoding, { save: number; load: number }> {
  const best = new Map(encodings.map((e) => [e, { save: Infinity, load: Infinity }]));
  const bytes = new Map(encodings.map((enc) => [enc, saveDevices(enc)]));
  for (let pass = 0; pass < 6; pass++) {
    for (const enc of encodings) {
      const b = best.get(enc)!;
      const save = timeIt(() => saveDevices(enc), rounds);
      const load = timeIt(() => loadDevices(enc, bytes.get(enc)!), rounds);
      if (pass === 0) continue; // warm-up
      b.save = Math.min(b.save, save);
      b.load = Math.min(b.load, load);
    }
  }
  return best;
}

async function report(): Promise<void> {
  const sets: [string, string[]][] = [
    ["none (QEMU 7.2)", []],
    ["x-ptr-markers", ["x-ptr-markers"]],
    ["x-vmsd-markers", ["x-vmsd-markers"]],
    ["x-strict-subsections", ["x-strict-subsections"]],
    ["x-vendor-versions", ["x-vendor-versions"]],
    ["x-self-describing", ["x-self-describing"]],
  ];
  const base = await sizes([]);
  console.log(
    `default machine: demo.elf, ${INSNS} instructions, ${devices.length} device sections`,
  );
  console.log("| capabilities | device sections | vmdesc | stream total | vs QEMU |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const [label, caps] of sets) {
    const s = await sizes(caps);
    const d = s.total - base.total;
    console.log(
      `| ${label} | ${s.device} | ${s.vmdesc} | ${s.total} | ${d >= 0 ? "+" : ""}${d} |`,
    );
  }
  const tagged = await sizes(["x-self-describing"]);
  console.log("\n| section | QEMU bytes | tagged bytes |");
  console.log("| --- | ---: | ---: |");
  for (const [idstr, n] of base.perSection) {
    console.log(`| ${idstr} | ${n} | ${tagged.perSection.get(idstr)} |`);
  }
  const all = timings(100);
  devices = allDevices.filter((e) => e.idstr !== "snapshell-nvme");
  const small = timings(1000);
  devices = allDevices;
  console.log(
    "\n| encoding | save all (ms) | load all (ms) | save without NVMe (µs) | load without NVMe (µs) |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const enc of encodings) {
    const a = all.get(enc)!;
    const s = small.get(enc)!;
    console.log(
      `| ${enc} | ${a.save.toFixed(3)} | ${a.load.toFixed(3)} | ${(s.save * 1000).toFixed(1)} | ${
        (s.load * 1000).toFixed(1)
      } |`,
    );
  }
}

if (import.meta.main) await report();
