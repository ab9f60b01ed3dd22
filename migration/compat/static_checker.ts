/**
 * Static migration compatibility of two `-dump-vmstate` dumps, with the rules and the exact
 * messages of QEMU's scripts/vmstate-static-checker.py (7.2): sections and descriptions that
 * vanished, version bumps and minimum versions, renamed, removed, resized or reshuffled fields
 * (following fields moved into or out of a nested struct, and `unused` padding that replaces
 * fields of the same total size), missing nested descriptions and subsections. Each finding is
 * typed, and rendering them gives the script's output byte for byte, quirks included.
 * @module
 */
import type { Dump, DumpDescription, DumpField, DumpSection } from "./dump_model.ts";

/** What a finding is about. */
export type FindingKind =
  | "machine-mismatch"
  | "section-missing"
  | "section-entry-missing"
  | "version"
  | "minimum-version"
  | "description-renamed"
  | "description-entry-missing"
  | "field-mismatch"
  | "fields-exhausted"
  | "unused-size-mismatch"
  | "size-mismatch"
  | "description-missing"
  | "subsection-missing";

/** One finding, in the order the script prints it. */
export interface Finding {
  /** Kind of incompatibility. */
  readonly kind: FindingKind;
  /** The script's text for it (without the line end). */
  readonly text: string;
  /** False when the script prints it without a newline (its section-level minimum quirk). */
  readonly eol: boolean;
  /** Counted in the exit status (the script's `bump_taint`). */
  readonly counted: boolean;
  /** Section (device type). */
  readonly section: string;
  /** Description, when the finding is inside one. */
  readonly description?: string;
  /** Field or subsection name, when it is about one. */
  readonly item?: string;
  /** Source-side value (version, size, name). */
  readonly src?: string | number;
  /** Destination-side value. */
  readonly dest?: string | number;
}

/** The outcome of one check. */
export interface CheckResult {
  /** Findings in print order. */
  readonly findings: Finding[];
  /** The script's exit status: counted findings, capped at 255. */
  readonly exitCode: number;
}

/** Per-description field renames QEMU's checker accepts (names that moved, wire unchanged). */
export const FIELD_RENAMES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  "apic": ["timer", "timer_expiry"],
  "e1000": ["dev", "parent_obj"],
  "ehci": ["dev", "pcidev"],
  "I440FX": ["dev", "parent_obj"],
  "ich9_ahci": ["card", "parent_obj"],
  "ich9-ahci": ["ahci", "ich9_ahci"],
  "ioh3420": ["PCIDevice", "PCIEDevice"],
  "ioh-3240-express-root-port": [
    "port.br.dev",
    "parent_obj.parent_obj.parent_obj",
    "port.br.dev.exp.aer_log",
    "parent_obj.parent_obj.parent_obj.exp.aer_log",
  ],
  "cirrus_vga": ["hw_cursor_x", "vga.hw_cursor_x", "hw_cursor_y", "vga.hw_cursor_y"],
  "lsiscsi": ["dev", "parent_obj"],
  "mch": ["d", "parent_obj"],
  "pci_bridge": ["bridge.dev", "parent_obj", "bridge.dev.shpc", "shpc"],
  "pcnet": ["pci_dev", "parent_obj"],
  "PIIX3": ["pci_irq_levels", "pci_irq_levels_vmstate"],
  "piix4_pm": [
    "dev",
    "parent_obj",
    "pci0_status",
    "acpi_pci_hotplug.acpi_pcihp_pci_status[0x0]",
    "pm1a.sts",
    "ar.pm1.evt.sts",
    "pm1a.en",
    "ar.pm1.evt.en",
    "pm1_cnt.cnt",
    "ar.pm1.cnt.cnt",
    "tmr.timer",
    "ar.tmr.timer",
    "tmr.overflow_time",
    "ar.tmr.overflow_time",
    "gpe",
    "ar.gpe",
  ],
  "rtl8139": ["dev", "parent_obj"],
  "qxl": ["num_surfaces", "ssd.num_surfaces"],
  "usb-ccid": ["abProtocolDataStructure", "abProtocolDataStructure.data"],
  "usb-host": ["dev", "parent_obj"],
  "usb-mouse": ["usb-ptr-queue", "HIDPointerEventQueue"],
  "usb-tablet": ["usb-ptr-queue", "HIDPointerEventQueue"],
  "vmware_vga": ["card", "parent_obj"],
  "vmware_vga_internal": ["depth", "new_depth"],
  "xhci": ["pci_dev", "parent_obj"],
  "x3130-upstream": ["PCIDevice", "PCIEDevice"],
  "xio3130-express-downstream-port": [
    "port.br.dev",
    "parent_obj.parent_obj.parent_obj",
    "port.br.dev.exp.aer_log",
    "parent_obj.parent_obj.parent_obj.exp.aer_log",
  ],
  "xio3130-downstream": ["PCIDevice", "PCIEDevice"],
  "xio3130-express-upstream-port": [
    "br.dev",
    "parent_obj.parent_obj",
    "br.dev.exp.aer_log",
    "parent_obj.parent_obj.exp.aer_log",
  ],
  "spapr_pci": [
    "dma_liobn[0]",
    "mig_liobn",
    "mem_win_addr",
    "mig_mem_win_addr",
    "mem_win_size",
    "mig_mem_win_size",
    "io_win_addr",
    "mig_io_win_addr",
    "io_win_size",
    "mig_io_win_size",
  ],
});

/** Section (device type) renames QEMU's checker accepts, both ways. */
export const SECTION_RENAMES: Readonly<Record<string, string>> = Object.freeze({
  "ICH9 LPC": "ICH9-LPC",
  "e1000-82540em": "e1000",
});

function namesMatch(scope: string, s: string, d: string): boolean {
  if (s === d) return true;
  const renames = FIELD_RENAMES[scope];
  return !!renames && renames.includes(s) && renames.includes(d);
}

function renamedSection(sec: string): string {
  for (const [a, b] of Object.entries(SECTION_RENAMES)) {
    if (a === sec) return b;
    if (b === sec) return a;
  }
  return "";
}

/** A field whose first nested field is `item`: the fields moved into a struct, wire unchanged. */
function startsSubstruct(f: DumpField, item: string): boolean {
  const fields = f.Description?.Fields;
  if (!f.Description || !fields || fields.length === 0) return false;
  return namesMatch(f.Description.name, fields[0].field, item);
}

/** A cursor over a field list (the script's Python iterators). */
class Cursor {
  private i = 0;
  constructor(private readonly list: readonly DumpField[]) {}
  next(): DumpField | undefined {
    return this.i < this.list.length ? this.list[this.i++] : undefined;
  }
}

/** The checker: feed it two dumps, read its findings. */
class Checker {
  readonly findings: Finding[] = [];
  private taint = 0;

  get exitCode(): number {
    return this.taint;
  }

  private add(f: Omit<Finding, "eol" | "counted"> & { eol?: boolean; counted?: boolean }): void {
    const counted = f.counted ?? true;
    this.findings.push({ ...f, eol: f.eol ?? true, counted });
    if (counted && this.taint < 255) this.taint++;
  }

  run(src: Dump, dest: Dump): void {
    // The script walks every top-level key, `vmschkmachine` first.
    if (src.machine !== dest.machine) {
      this.add({
        kind: "machine-mismatch",
        text: `Warning: checking incompatible machine types: "${src.machine}", "${dest.machine}"`,
        counted: false,
        section: "vmschkmachine",
        src: src.machine,
        dest: dest.machine,
      });
    }
    for (const [sec, s] of src.sections) {
      let d = dest.sections.get(sec);
      if (!d) d = dest.sections.get(renamedSection(sec));
      if (!d) {
        this.add({
          kind: "section-missing",
          text: `Section "${sec}" does not exist in dest`,
          section: sec,
        });
        continue;
      }
      this.section(sec, s, d);
    }
  }

  private section(sec: string, s: DumpSection, d: DumpSection): void {
    this.version(s, d, sec);
    for (const entry of Object.keys(s)) {
      if (!(entry in d)) {
        this.add({
          kind: "section-entry-missing",
          text: `Section "${sec}": Entry "${entry}" missing`,
          section: sec,
          item: entry,
        });
        continue;
      }
      if (entry === "Description") this.descriptions(s.Description, d.Description, sec);
    }
  }

  private version(
    s: { version_id: number },
    d: { version_id: number; minimum_version_id?: number },
    sec: string,
    desc?: string,
  ): void {
    const where = `Section "${sec}" ${desc ? `Description "${desc}": ` : ""}`;
    if (s.version_id > d.version_id) {
      this.add({
        kind: "version",
        text: `${where}version error: ${s.version_id} > ${d.version_id}`,
        section: sec,
        description: desc,
        src: s.version_id,
        dest: d.version_id,
      });
    }
    if (d.minimum_version_id === undefined || s.version_id >= d.minimum_version_id) return;
    if (!desc) {
      // The script prints this prefix without a newline and without counting it (its print
      // and taint are indented under `if desc:`), so it glues onto the next message.
      this.add({
        kind: "minimum-version",
        text: `Section "${sec}" `,
        eol: false,
        counted: false,
        section: sec,
        src: s.version_id,
        dest: d.minimum_version_id,
      });
      return;
    }
    this.add({
      kind: "minimum-version",
      text: `${where}minimum version error: ${s.version_id} < ${d.minimum_version_id}`,
      section: sec,
      description: desc,
      src: s.version_id,
      dest: d.minimum_version_id,
    });
  }

  private descriptions(s: DumpDescription, d: DumpDescription, sec: string): void {
    this.version(s, d, sec, s.name);
    if (!namesMatch(sec, s.name, d.name)) {
      this.add({
        kind: "description-renamed",
        text:
          `Section "${sec}": Description "${s.name}" missing, got "${d.name}" instead; skipping`,
        section: sec,
        description: s.name,
        src: s.name,
        dest: d.name,
      });
      return;
    }
    for (const key of Object.keys(s) as (keyof DumpDescription)[]) {
      if (!(key in d)) {
        this.add({
          kind: "description-entry-missing",
          text: `Section "${sec}" Description "${s.name}": Entry "${key}" missing`,
          section: sec,
          description: s.name,
          item: key,
        });
        continue;
      }
      if (key === "Fields") this.fields(s.Fields!, d.Fields!, s.name, sec);
      if (key === "Subsections") this.subsections(s.Subsections!, d.Subsections!, s.name, sec);
    }
  }

  private subsections(
    src: readonly DumpDescription[],
    dest: readonly DumpDescription[],
    desc: string,
    sec: string,
  ): void {
    for (const s of src) {
      let found = false;
      for (const d of dest) {
        if (s.name !== d.name) continue;
        found = true;
        this.descriptions(s, d, sec);
      }
      if (!found) {
        this.add({
          kind: "subsection-missing",
          text: `Section "${sec}", Description "${desc}": Subsection "${s.name}" not found`,
          section: sec,
          description: desc,
          item: s.name,
        });
      }
    }
  }

  private fields(
    srcFields: readonly DumpField[],
    destFields: readonly DumpField[],
    desc: string,
    sec: string,
  ): void {
    let sIter = new Cursor(srcFields);
    let dIter = new Cursor(destFields);
    const sStack: Cursor[] = [];
    const dStack: Cursor[] = [];
    let advanceSrc = true;
    let advanceDest = true;
    let unused = 0;
    let s: DumpField | undefined;
    let d: DumpField | undefined;
    const at = `Section "${sec}", Description "${desc}":`;
    for (;;) {
      if (advanceSrc) {
        const next = sIter.next();
        if (!next) {
          if (sStack.length === 0) break;
          sIter = sStack.pop()!;
          continue;
        }
        s = next;
      } else if (unused === 0) {
        advanceSrc = true;
      }
      if (advanceDest) {
        const next = dIter.next();
        if (!next) {
          if (dStack.length === 0) {
            this.add({
              kind: "fields-exhausted",
              text: `${at} expected field "${s!.field}", while dest has no further fields`,
              section: sec,
              description: desc,
              item: s!.field,
            });
            break;
          }
          dIter = dStack.pop()!;
          advanceSrc = false;
          continue;
        }
        d = next;
      } else if (unused === 0) {
        advanceDest = true;
      }
      const sf = s!;
      const df = d!;
      if (unused !== 0) {
        const item = !advanceDest ? sf : !advanceSrc ? df : undefined;
        if (item) {
          unused -= item.size;
          if (unused === 0) {
            if (!advanceDest) advanceDest = true;
            else advanceSrc = true;
            continue;
          }
          if (unused < 0) {
            this.add({
              kind: "unused-size-mismatch",
              text: `${at} unused size mismatch near " ${item.field}"`,
              section: sec,
              description: desc,
              item: item.field,
            });
            break;
          }
          continue;
        }
      }
      if (!namesMatch(desc, sf.field, df.field)) {
        if (startsSubstruct(df, sf.field)) {
          dStack.push(dIter);
          dIter = new Cursor(df.Description!.Fields!);
          advanceSrc = false;
          continue;
        }
        if (startsSubstruct(sf, df.field)) {
          sStack.push(sIter);
          sIter = new Cursor(sf.Description!.Fields!);
          advanceDest = false;
          continue;
        }
        if (sf.field === "unused" || df.field === "unused") {
          if (sf.size === df.size) continue;
          if (df.field === "unused") {
            advanceDest = false;
            unused = df.size - sf.size;
            continue;
          }
          if (sf.field === "unused") {
            advanceSrc = false;
            unused = sf.size - df.size;
            continue;
          }
        }
        this.add({
          kind: "field-mismatch",
          text: `${at} expected field "${sf.field}", got "${df.field}"; skipping rest`,
          section: sec,
          description: desc,
          item: sf.field,
          src: sf.field,
          dest: df.field,
        });
        break;
      }
      this.version(sf, df, sec, desc);
      if (!sf.Description && sf.size !== df.size) {
        this.add({
          kind: "size-mismatch",
          text:
            `Section "${sec}" Description "${desc}" Field "${sf.field}" size mismatch: ${sf.size} , ${df.size}`,
          section: sec,
          description: desc,
          item: sf.field,
          src: sf.size,
          dest: df.size,
        });
      }
      if (sf.Description) {
        if (!df.Description) {
          this.add({
            kind: "description-missing",
            text:
              `Section "${sec}", Description "${desc}", Field "${sf.field}": missing description`,
            section: sec,
            description: desc,
            item: sf.field,
          });
        } else {
          this.descriptions(sf.Description, df.Description, sec);
        }
      }
    }
  }
}

/** Check whether `src` can migrate to `dest` (swap them for `--reverse`). */
export function checkDumps(src: Dump, dest: Dump): CheckResult {
  const c = new Checker();
  c.run(src, dest);
  return { findings: c.findings, exitCode: c.exitCode };
}

/** The findings as the script prints them (one line each; its unterminated quirk kept). */
export function renderFindings(findings: readonly Finding[]): string {
  return findings.map((f) => f.text + (f.eol ? "\n" : "")).join("");
}
