/**
 * The table of everything that travels in a stream, like QEMU's savevm_state.handlers: each
 * entry has an idstr, an instance id, a version and either a description (one FULL section) or
 * iterative handlers (START/PART/END sections, e.g. RAM). Section ids are assigned in
 * registration order, as QEMU does.
 * @module
 */
import { VmStateDefinitionError } from "../errors.ts";
import type { StreamReader } from "../stream/reader.ts";
import type { StreamWriter } from "../stream/writer.ts";
import { checkDescription } from "../vmstate/check.ts";
import type { StateRecord, VmStateDescription } from "../vmstate/description.ts";

/** Save/load handlers of an iterative section (QEMU's SaveVMHandlers for `ram`). */
export interface IterativeHandlers {
  /** Payload of the START chunk. */
  saveSetup(w: StreamWriter): Promise<void> | void;
  /** Payload of one PART chunk during live migration; resolves true when nothing is left. */
  saveIterate?(w: StreamWriter): Promise<boolean>;
  /** Payload of the END chunk (everything still pending). */
  saveComplete(w: StreamWriter): Promise<void> | void;
  /** Load one chunk's payload; `phase` says which chunk type carried it. */
  load(r: StreamReader, version: number, phase: "start" | "part" | "end"): Promise<void>;
  /** Make the loaded data live (after the whole stream checked out). */
  commit(): void;
  /** Drop everything loaded so far. */
  abort(): void;
}

/** One registered section. */
export interface SectionEntry {
  /** The section idstr on the wire. */
  readonly idstr: string;
  /** Instance id on the wire (0 for singletons). */
  readonly instanceId: number;
  /** Version written on save and the highest accepted on load. */
  readonly versionId: number;
  /** Per-process id assigned at registration. */
  readonly sectionId: number;
  /** Ordering priority (higher first); never on the wire. */
  readonly priority: number;
  /** For description-based sections: the description. */
  readonly vmsd?: VmStateDescription;
  /** The live state record of a description-based section. */
  readonly state?: () => StateRecord;
  /** Install a staged record after a successful load. */
  readonly commit?: (staged: StateRecord) => void;
  /** A private copy of the live record for a load to fill (default: structured clone). */
  readonly stage?: () => StateRecord;
  /** For iterative sections. */
  readonly iterative?: IterativeHandlers;
  /**
   * A QEMU section without a vmsd (QEMU's register_savevm_live with save_state/load_state, e.g.
   * `slirp`): the payload is still described field by field, but the vmdesc entry is QEMU's
   * old-style one (`size` and one `data` buffer).
   */
  readonly legacy?: boolean;
  /** A section the stream may lack (see {@link SectionPresence}). */
  readonly presence?: SectionPresence;
}

/**
 * A section that exists only when the machine on the other side had the device (QEMU's `slirp`
 * exists only with a user-mode netdev): a load does not require it and tells the owner whether
 * the stream carried it; a save skips it while absent.
 */
export interface SectionPresence {
  /** Whether the section is sent by saves. */
  present(): boolean;
  /** Called by a committed load: did the stream carry the section? */
  loaded(present: boolean): void;
}

/** What {@link SectionRegistry.registerDevice} takes. */
export interface DeviceRegistration<T extends StateRecord> {
  /** Description of the device state. */
  vmsd: VmStateDescription<T>;
  /** Instance id (default 0). */
  instanceId?: number;
  /** Override of the idstr (default: the description's name). */
  idstr?: string;
  /** The live record. */
  state: () => T;
  /** Install a loaded record (default: copy its properties onto the live record). */
  commit?: (staged: T) => void;
  /**
   * A private copy of the live record for a load to decode into (default: `structuredClone` of
   * `state()`). Devices whose records hold big buffers provide one that reuses a scratch buffer;
   * it must share nothing the load writes with the live record.
   */
  stage?: () => T;
  /** The section has no vmsd in QEMU: its vmdesc entry is the old-style buffer entry. */
  legacy?: boolean;
  /** The stream may lack the section (a device the other side may not have). */
  presence?: SectionPresence;
}

/** One section to make live: a staged record for a description, nothing for an iterative one. */
export interface SectionCommit {
  /** The registered section. */
  readonly entry: SectionEntry;
  /** The record to install (description-based sections). */
  readonly staged?: StateRecord;
}

/** The set of sections a machine saves and accepts. */
export class SectionRegistry {
  private readonly list: SectionEntry[] = [];
  private readonly committedHooks: (() => void)[] = [];
  private nextId = 0;

  /**
   * Register work that must follow every commit of device state, once all sections of that
   * commit are installed (the PLIC re-reading the lines every device re-drove).
   */
  afterCommit(hook: () => void): void {
    this.committedHooks.push(hook);
  }

  /**
   * The one way device state becomes live: each item's section commits (a staged record through
   * its `commit`, an iterative section's loaded data), then every {@link afterCommit} hook runs
   * once. Loads, the shell's `set`, forks and the fuzzer's reset all come through here.
   */
  commit(items: Iterable<SectionCommit>): void {
    for (const { entry, staged } of items) {
      if (!this.list.includes(entry)) {
        throw new VmStateDefinitionError(entry.idstr, undefined, "section is not in this registry");
      }
      if (staged !== undefined) entry.commit!(staged);
      else entry.iterative?.commit();
    }
    for (const hook of this.committedHooks) hook();
  }

  /** Register a device described by a VMSD (QEMU's vmstate_register). */
  registerDevice<T extends StateRecord>(reg: DeviceRegistration<T>): SectionEntry {
    checkDescription(reg.vmsd as VmStateDescription);
    const idstr = reg.idstr ?? reg.vmsd.name;
    const instanceId = reg.instanceId ?? 0;
    this.ensureUnique(idstr, instanceId);
    const entry: SectionEntry = {
      idstr,
      instanceId,
      versionId: reg.vmsd.versionId,
      sectionId: this.nextId++,
      priority: reg.vmsd.priority ?? 0,
      vmsd: reg.vmsd as VmStateDescription,
      state: reg.state,
      stage: reg.stage as (() => StateRecord) | undefined,
      commit: (reg.commit as (s: StateRecord) => void) ??
        ((staged) => Object.assign(reg.state(), staged)),
      legacy: reg.legacy,
      presence: reg.presence,
    };
    this.list.push(entry);
    return entry;
  }

  /** Register an iterative section such as `ram` (QEMU's register_savevm_live). */
  registerIterative(
    idstr: string,
    versionId: number,
    handlers: IterativeHandlers,
    instanceId = 0,
    priority = 0,
  ): SectionEntry {
    this.ensureUnique(idstr, instanceId);
    const entry: SectionEntry = {
      idstr,
      instanceId,
      versionId,
      sectionId: this.nextId++,
      priority,
      iterative: handlers,
    };
    this.list.push(entry);
    return entry;
  }

  /**
   * Leave `n` section ids unused, as QEMU does for handlers it registers but does not send
   * (`block`, `dirty-bitmap`): a profile that mirrors QEMU's registration gets QEMU's ids.
   */
  skipIds(n: number): void {
    this.nextId += n;
  }

  private ensureUnique(idstr: string, instanceId: number): void {
    if (new TextEncoder().encode(idstr).length > 255) {
      throw new VmStateDefinitionError(idstr, undefined, "idstr is longer than 255 bytes");
    }
    if (this.find(idstr, instanceId)) {
      throw new VmStateDefinitionError(
        idstr,
        undefined,
        `instance ${instanceId} is already registered`,
      );
    }
  }

  /** Find an entry by idstr and instance id, as the loader matches sections. */
  find(idstr: string, instanceId: number): SectionEntry | undefined {
    return this.list.find((e) => e.idstr === idstr && e.instanceId === instanceId);
  }

  /** Entries in save order: priority (highest first), then registration order. */
  ordered(): SectionEntry[] {
    return [...this.list].sort((a, b) => b.priority - a.priority || a.sectionId - b.sectionId);
  }

  /** All entries in registration order. */
  get entries(): readonly SectionEntry[] {
    return this.list;
  }

  private readonly checks: StagedCheck[] = [];

  /**
   * Add a check across sections: one fact that travels in two sections must agree. It runs on
   * the staged records after the whole stream was decoded, before anything commits.
   */
  addStagedCheck(check: StagedCheck): void {
    this.checks.push(check);
  }

  /** The checks across sections, in the order they were added. */
  get stagedChecks(): readonly StagedCheck[] {
    return this.checks;
  }
}

/** A check across the staged records of one load; throws a MigrationError to reject it. */
export type StagedCheck = (
  staged: (idstr: string, instanceId?: number) => StateRecord | undefined,
) => void;
