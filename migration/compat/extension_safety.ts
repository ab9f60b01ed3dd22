/**
 * What the protocol extensions change about each static incompatibility: whether one makes the
 * migration load correctly ("safe"), only turns a silent misread into an exact typed error
 * ("detected"), or nothing helps ("unsafe"). Plus advice QEMU's checker cannot give: subsection
 * names that strict attribution (`x-strict-subsections`) would not accept.
 * @module
 */
import type { Dump, DumpDescription, DumpSection } from "./dump_model.ts";
import type { CheckResult, Finding } from "./static_checker.ts";

/** How an extension changes one finding. */
export type SafetyVerdict = "safe" | "detected" | "unsafe";

/** One finding with what the extensions make of it. */
export interface SafetyNote {
  /** The finding (QEMU's text). */
  readonly finding: Finding;
  /** Best outcome any extension gives. */
  readonly verdict: SafetyVerdict;
  /** Why, naming the capabilities. */
  readonly text: string;
}

/** Advice about names, beyond what QEMU's checker looks at. */
export interface NameAdvice {
  /** Section (device type). */
  readonly section: string;
  /** The advice. */
  readonly text: string;
}

function findDescription(
  d: DumpDescription | undefined,
  name: string,
): DumpDescription | undefined {
  if (!d) return undefined;
  if (d.name === name) return d;
  for (const f of d.Fields ?? []) {
    const hit = findDescription(f.Description, name);
    if (hit) return hit;
  }
  for (const s of d.Subsections ?? []) {
    const hit = findDescription(s, name);
    if (hit) return hit;
  }
  return undefined;
}

function descriptionsOf(
  f: Finding,
  src: Dump,
  dest: Dump,
): [DumpDescription | undefined, DumpDescription | undefined] {
  const s: DumpSection | undefined = src.sections.get(f.section);
  const d: DumpSection | undefined = dest.sections.get(f.section);
  const name = f.description ?? s?.Description.name ?? "";
  return [findDescription(s?.Description, name), findDescription(d?.Description, name)];
}

/** A newer version that only added fields at the same sizes loads with the tagged encoding. */
function versionNote(f: Finding, src: Dump, dest: Dump): [SafetyVerdict, string] {
  const [s, d] = descriptionsOf(f, src, dest);
  if (!s || !d) return ["unsafe", "the descriptions could not be compared"];
  const srcFields = new Map((s.Fields ?? []).map((x) => [x.field, x.size]));
  const dropped = (d.Fields ?? []).filter((x) => !srcFields.has(x.field)).map((x) => x.field);
  const resized = (d.Fields ?? []).filter((x) =>
    srcFields.has(x.field) && srcFields.get(x.field) !== x.size && !x.Description
  ).map((x) => x.field);
  const added = (s.Fields ?? []).filter((x) => !(d.Fields ?? []).some((y) => y.field === x.field))
    .map((x) => x.field);
  if (dropped.length === 0 && resized.length === 0) {
    const what = added.length ? `skips ${added.join(", ")}` : "has nothing to skip";
    return [
      "safe",
      `x-self-describing: this side accepts the newer version and ${what} (fields are matched by name)`,
    ];
  }
  const why = [
    dropped.length ? `keeps its own ${dropped.join(", ")}` : "",
    resized.length ? `rejects the resized ${resized.join(", ")}` : "",
  ].filter(Boolean).join(" and ");
  return ["detected", `x-self-describing would load the newer version but ${why}`];
}

function note(f: Finding, src: Dump, dest: Dump): [SafetyVerdict, string] | undefined {
  switch (f.kind) {
    case "section-missing":
      return ["unsafe", "no extension helps: the destination has no such device"];
    case "version":
      return versionNote(f, src, dest);
    case "minimum-version":
      if (!f.counted) return undefined;
      return ["unsafe", "every encoding keeps this side's minimum version"];
    case "section-entry-missing":
    case "description-entry-missing":
      return f.item === "Subsections"
        ? [
          "safe",
          "x-vmsd-markers or x-self-describing on the source, x-skip-unknown-subsections here: subsections this side lacks are skipped when sent (their state is lost)",
        ]
        : ["detected", "x-self-describing names the entry the stream has and this side lacks"];
    case "description-renamed":
      return ["detected", "x-self-describing reports the description name mismatch, naming both"];
    case "field-mismatch":
      return [
        "detected",
        `QEMU's encoding reads "${f.src}" into "${f.dest}"; x-self-describing matches by name (skips "${f.src}", keeps this side's "${f.dest}"), so it loads but is only safe if the field is optional`,
      ];
    case "fields-exhausted":
      return [
        "safe",
        "x-self-describing skips the fields this side lacks; x-vmsd-markers reports them as bytes before the end marker",
      ];
    case "unused-size-mismatch":
    case "size-mismatch":
      return [
        "detected",
        "x-vmsd-markers catches the length difference at its description, x-self-describing names the field and both sizes; QEMU's encoding misreads every later field",
      ];
    case "description-missing":
      return ["detected", "x-self-describing reports a struct where this side has a leaf"];
    case "subsection-missing":
      return [
        "safe",
        "x-vmsd-markers or x-self-describing on the source, x-skip-unknown-subsections here: skipped when sent (its state is lost); x-vendor-versions tells per stream whether it was sent",
      ];
    case "machine-mismatch":
      return undefined;
  }
}

/** What the extensions make of each counted finding. */
export function extensionSafety(result: CheckResult, src: Dump, dest: Dump): SafetyNote[] {
  const out: SafetyNote[] = [];
  for (const f of result.findings) {
    const n = note(f, src, dest);
    if (n) out.push({ finding: f, verdict: n[0], text: n[1] });
  }
  return out;
}

function adviseDescription(sec: string, d: DumpDescription, out: NameAdvice[]): void {
  for (const s of d.Subsections ?? []) {
    if (!s.name.startsWith(`${d.name}/`)) {
      out.push({
        section: sec,
        text:
          `subsection "${s.name}" of "${d.name}" is not named "${d.name}/...": x-strict-subsections attributes it only if it is declared legacyName`,
      });
    }
    adviseDescription(sec, s, out);
  }
  for (const f of d.Fields ?? []) if (f.Description) adviseDescription(sec, f.Description, out);
}

/** Subsection names that strict attribution would not take, per section. */
export function nameAdvice(dump: Dump): NameAdvice[] {
  const out: NameAdvice[] = [];
  for (const [sec, s] of dump.sections) adviseDescription(sec, s.Description, out);
  return out;
}
