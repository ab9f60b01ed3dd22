/**
 * QEMU's `globalstate` section (migration/global_state.c): the run state the source was in
 * ("paused", "running", "prelaunch"...), so the destination can resume likewise. QEMU 7.2
 * always sends it for a migration (`store-global-state` is on by default).
 *
 * Section `globalstate` v1: `size` (string length + 1) and a 100-byte NUL-padded buffer.
 *
 * @module
 */
import { StateValidationError } from "../../../migration/errors.ts";
import { buffer, uint32, vmsd } from "../../../migration/vmstate/fields.ts";
import type { DeviceSection, SnapshotDevice } from "../device.ts";

/** Bytes of QEMU's GlobalState.runstate buffer. */
export const RUNSTATE_BYTES = 100;

/** QEMU 7.2's RunState names (qapi/run-state.json): the only values a load accepts. */
export const RUN_STATES = [
  "debug",
  "inmigrate",
  "internal-error",
  "io-error",
  "paused",
  "postmigrate",
  "prelaunch",
  "finish-migrate",
  "restore-vm",
  "running",
  "save-vm",
  "shutdown",
  "suspended",
  "watchdog",
  "guest-panicked",
  "colo",
] as const;

/** A QEMU run state name. */
export type RunState = typeof RUN_STATES[number];

/** QEMU's GlobalState, migrated part. */
export interface GlobalStateRecord {
  /** strlen(runstate) + 1, filled on save. */
  size: number;
  /** NUL-padded run state name. */
  runstate: Uint8Array;
}

/** A record holding `state`. */
export function createGlobalState(state: RunState = "paused"): GlobalStateRecord {
  const runstate = new Uint8Array(RUNSTATE_BYTES);
  runstate.set(new TextEncoder().encode(state));
  return { size: state.length + 1, runstate };
}

/** The run state a record names (up to the first NUL). */
export function runStateOf(s: GlobalStateRecord): string {
  const end = s.runstate.indexOf(0);
  return new TextDecoder().decode(s.runstate.subarray(0, end < 0 ? s.runstate.length : end));
}

/** The `globalstate` section's owner. */
export class GlobalState implements SnapshotDevice {
  /** Live state. */
  state: GlobalStateRecord;

  constructor(state: RunState = "paused") {
    this.state = createGlobalState(state);
  }

  /** The run state last set or loaded. */
  get runState(): RunState {
    return runStateOf(this.state) as RunState;
  }

  /** Records the machine's run state (QEMU's global_state_store). */
  set runState(state: RunState) {
    this.state = createGlobalState(state);
  }

  /**
   * Section `globalstate`. A stream may lack it: QEMU sends none with
   * `-global migration.store-global-state=off` (and its destination then runs the guest, as
   * without `-S`); the run state stays as it was, and saves always send it (QEMU accepts it).
   */
  sections(): DeviceSection[] {
    return [{
      vmsd: vmstateGlobalState,
      state: () => this.state,
      commit: (staged: GlobalStateRecord) => {
        this.state = staged;
      },
      presence: { present: () => true, loaded: () => {} },
    }];
  }
}

/** Section `globalstate` v1, QEMU 7.2's `vmstate_globalstate`. */
export const vmstateGlobalState = vmsd<GlobalStateRecord>({
  name: "globalstate",
  versionId: 1,
  minimumVersionId: 1,
  preSave(s) {
    const end = s.runstate.indexOf(0);
    s.size = (end < 0 ? RUNSTATE_BYTES : end) + 1;
  },
  postLoad(s) {
    const name = runStateOf(s);
    if (!(RUN_STATES as readonly string[]).includes(name)) {
      throw new StateValidationError(`runstate "${name}" is not a QEMU 7.2 run state`);
    }
    // QEMU ignores `size` on load; a stream whose size disagrees with the string is corrupt.
    if (s.size !== name.length + 1) {
      throw new StateValidationError(
        `size ${s.size} does not match runstate "${name}" (${name.length + 1})`,
      );
    }
    if (s.runstate.subarray(name.length).some((b) => b !== 0)) {
      throw new StateValidationError(`runstate has bytes after its terminating NUL`);
    }
  },
  fields: [
    uint32("size"),
    buffer("runstate", RUNSTATE_BYTES),
  ],
});
