/**
 * "Can this stream load here?", answered programmatically and with its reasons: what the stream
 * announces (machine, capabilities, vendor), each section's major version against this side's
 * window and its vendor tag against this side's features, what a load would tolerate, and
 * finally a dry-run load through the real loader that commits nothing.
 * @module
 */
import { MigrationError, StreamFormatError } from "../errors.ts";
import {
  type ConfigurationState,
  machineName,
  makeConfiguration,
  vmstateConfiguration,
} from "../sections/configuration.ts";
import { QEMU_VM_FILE_MAGIC, QEMU_VM_FILE_VERSION, SectionType } from "../sections/constants.ts";
import { sectionLabel } from "../sections/label.ts";
import { type LoadReport, loadStream, type LoadStreamOptions } from "../sections/loadvm.ts";
import type { SectionRegistry } from "../sections/registry.ts";
import type { StreamReader } from "../stream/reader.ts";
import { loadState } from "../vmstate/load.ts";
import { capabilityInfo } from "./capabilities.ts";
import type { SectionVerdict } from "./versioning.ts";

/** The answer and everything that decided it. */
export interface Loadability {
  /** True when the stream loads here. */
  readonly ok: boolean;
  /** The explanation, one fact per line, in stream order. */
  readonly lines: string[];
  /** Why not, when it does not load. */
  readonly error?: MigrationError;
  /** The dry run's report, when it loads. */
  readonly report?: LoadReport;
}

function readPreamble(r: StreamReader): ConfigurationState | undefined {
  if (r.be32() !== QEMU_VM_FILE_MAGIC || r.be32() !== QEMU_VM_FILE_VERSION) {
    throw new StreamFormatError("Not a QEMU v3 migration stream", { offset: 0 });
  }
  if (r.peekU8(0) !== SectionType.CONFIGURATION) return undefined;
  r.skip(1);
  const conf = makeConfiguration("");
  loadState(r, vmstateConfiguration, conf, 0);
  return conf;
}

function describeConfiguration(conf: ConfigurationState | undefined): string[] {
  if (!conf) return ["stream: no configuration record (QEMU's send-configuration=off)"];
  const lines = [`stream: machine '${machineName(conf)}'`];
  if (conf.vendor) {
    lines.push(`stream: vendor ${conf.vendor}, savevm protocol minor ${conf.protocolMinor}`);
  }
  if (conf.capabilities.length === 0) {
    lines.push("stream: no capabilities: QEMU 7.2's encoding");
  }
  for (const c of conf.capabilities) {
    const info = capabilityInfo(c);
    lines.push(
      info?.recorded
        ? `stream: capability ${c}: ${info.summary}`
        : `stream: capability ${c}: not known to snapshell`,
    );
  }
  return lines;
}

function describeSection(
  reg: SectionRegistry,
  s: LoadReport["sections"][number],
  verdict: SectionVerdict | undefined,
  tagged: boolean,
): string {
  const e = reg.find(s.idstr, s.instanceId);
  const label = sectionLabel(s);
  const min = e?.vmsd?.minimumVersionId ?? e?.versionId ?? 0;
  const max = e?.versionId ?? 0;
  const newer = (s.version ?? 0) > max && tagged ? " (newer: loads as far as this side knows)" : "";
  const parts = [`${label}: version ${s.version} within this side's ${min}..${max}${newer}`];
  if (verdict) parts.push(verdict.reasons.join("; "));
  return parts.join("; ");
}

/**
 * Answer "can this stream load into `reg` here?". `open` must give a fresh reader over the same
 * stream each call (it is read twice: once for the preamble, once for the dry run).
 */
export async function canLoadHere(
  open: () => StreamReader | Promise<StreamReader>,
  reg: SectionRegistry,
  opts: LoadStreamOptions,
): Promise<Loadability> {
  const lines: string[] = [];
  const verdicts = new Map<string, SectionVerdict>();
  const decoded: string[] = [];
  try {
    const r = await open();
    lines.push(...describeConfiguration(await r.retrying(() => readPreamble(r))));
    const report = await loadStream(await open(), reg, {
      ...opts,
      dryRun: true,
      onVerdict: (v) => {
        verdicts.set(v.section, v);
        opts.onVerdict?.(v);
      },
      onSection: (info) => {
        decoded.push(info.idstr);
        opts.onSection?.(info);
      },
    });
    const tagged = report.extensions?.selfDescribing ?? false;
    for (const s of report.sections) {
      if (s.version === undefined) continue;
      lines.push(describeSection(reg, s, verdicts.get(s.idstr), tagged));
    }
    for (const n of report.notes ?? []) lines.push(`tolerated: ${n}`);
    lines.push(
      `yes: the stream loads here (dry run of ${report.sections.length} sections, ${report.bytes} bytes; nothing was changed)`,
    );
    return { ok: true, lines, report };
  } catch (e) {
    if (!(e instanceof MigrationError)) throw e;
    if (decoded.length) lines.push(`read before failing: ${decoded.join(", ")}`);
    for (const v of verdicts.values()) {
      if (!v.ok) lines.push(`${v.section}: ${v.reasons.join("; ")}`);
    }
    lines.push(`no: ${e.name} [${e.kind}]: ${e.message}`);
    return { ok: false, lines, error: e };
  }
}
