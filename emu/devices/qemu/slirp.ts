/**
 * QEMU's user-mode network stack (`-netdev user`, libslirp) as it appears in a QEMU 7.2
 * stream: a legacy section `slirp` (version 4, registered with register_savevm_live, so no
 * VMSD on the wire and an opaque `data` buffer in the vmdesc). Its payload, as libslirp's
 * slirp_state_save writes it:
 *
 * 1. one record per guestfwd socket (marker byte 42 + a `slirp-socket` state), then a 0 byte;
 * 2. libslirp's own `slirp` description (v4): `ip_id` (uint16, v2+) and
 *    `bootp_clients[16]` (v3+) of `slirp_bootpclient` {`allocated` uint16, `macaddr` 6 bytes}.
 *
 * For a `-netdev user` with no guestfwd rules (the only configuration modelled here) QEMU
 * itself refuses any socket record (it finds no matching rule), so the payload is 131 bytes:
 * a 0 byte, ip_id and 16 × 8 bytes of DHCP leases. No packets are emulated: a guest without a
 * NIC (virt has none by default on riscv32 without virtio) cannot reach the stack.
 *
 * @module
 */
import { StateValidationError } from "../../../migration/errors.ts";
import { QemuJsonWriter } from "../../../migration/json/qemu_json_writer.ts";
import { StreamReader } from "../../../migration/stream/reader.ts";
import { StreamWriter } from "../../../migration/stream/writer.ts";
import { buffer, structArray, uint16, uint8, vmsd } from "../../../migration/vmstate/fields.ts";
import { loadState } from "../../../migration/vmstate/load.ts";
import { saveState } from "../../../migration/vmstate/save.ts";
import type { VmStateField } from "../../../migration/vmstate/description.ts";
import type { DeviceSection, SnapshotDevice } from "../device.ts";

/** The section's idstr and the version QEMU 7.2 registers (slirp_state_version()). */
export const SLIRP_SECTION = { idstr: "slirp", instanceId: 0, versionId: 4 } as const;
/** libslirp's NB_BOOTP_CLIENTS. */
export const NB_BOOTP_CLIENTS = 16;
/** Marker byte before each guestfwd socket record. */
const SOCKET_MARKER = 42;

/** One DHCP lease slot (libslirp's BOOTPClient, migrated part). */
export interface BootpClient {
  /** 1 when the slot holds a lease. */
  allocated: number;
  /** The client's MAC address. */
  macaddr: Uint8Array;
}

/** libslirp's Slirp, migrated part. */
export interface SlirpState {
  /** Next IP identification value. */
  ipId: number;
  /** The DHCP lease table. */
  bootpClients: BootpClient[];
}

/** State of a stack that has not seen a packet. */
export function createSlirpState(): SlirpState {
  return {
    ipId: 0,
    bootpClients: Array.from(
      { length: NB_BOOTP_CLIENTS },
      () => ({ allocated: 0, macaddr: new Uint8Array(6) }),
    ),
  };
}

const vmstateBootpClient = vmsd<BootpClient>({
  name: "slirp_bootpclient",
  versionId: 0,
  minimumVersionId: 0,
  fields: [uint16("allocated"), buffer("macaddr", 6)],
});

/** libslirp's `slirp` description (v4), the tail of the section payload. */
export const vmstateSlirpState = vmsd<SlirpState>({
  name: "slirp",
  versionId: 4,
  minimumVersionId: 0,
  postLoad(s) {
    s.bootpClients.forEach((c, i) => {
      if (c.allocated !== 0 && c.allocated !== 1) {
        throw new StateValidationError(`bootp_clients[${i}].allocated is ${c.allocated}`);
      }
    });
  },
  fields: [
    uint16("ip_id", { key: "ipId", version: 2 }),
    structArray("bootp_clients", vmstateBootpClient, NB_BOOTP_CLIENTS, {
      key: "bootpClients",
      version: 3,
    }),
  ],
});

/** Decodes a `slirp` section payload of `version` (QEMU's net_slirp_state_load). */
export function decodeSlirpPayload(
  payload: Uint8Array,
  version: number = SLIRP_SECTION.versionId,
): SlirpState {
  if (version > SLIRP_SECTION.versionId) {
    throw new StateValidationError(`slirp version ${version} is newer than 4`);
  }
  const r = StreamReader.fromBytes(payload);
  const marker = r.u8();
  if (marker !== 0) {
    throw new StateValidationError(
      marker === SOCKET_MARKER
        ? "A guestfwd socket record, but this netdev has no guestfwd rule (QEMU refuses it too)"
        : `Socket list marker ${marker} is neither 0 nor 42`,
    );
  }
  const s = createSlirpState();
  loadState(r, vmstateSlirpState, s, version);
  if (r.offset !== payload.length) {
    throw new StateValidationError(
      `${
        payload.length - r.offset
      } bytes after the slirp state in a ${payload.length}-byte payload`,
    );
  }
  return s;
}

/** Encodes the section payload (no guestfwd sockets, then libslirp's `slirp` state v4). */
export function encodeSlirpPayload(s: SlirpState): Uint8Array {
  const w = new StreamWriter();
  w.u8(0);
  saveState(w, vmstateSlirpState, s);
  return w.take();
}

/** The vmdesc entry QEMU writes for this legacy section of `size` bytes. */
export function slirpVmdescEntry(size: number): string {
  const j = new QemuJsonWriter();
  j.startObject();
  j.str("name", SLIRP_SECTION.idstr);
  j.int("instance_id", SLIRP_SECTION.instanceId);
  j.int("size", size);
  j.startArray("fields");
  j.startObject();
  j.str("name", "data");
  j.int("size", size);
  j.str("type", "buffer");
  j.endObject();
  j.endArray();
  j.endObject();
  return j.toString();
}

/** The whole section payload as one record: the socket-list end marker, then libslirp's state. */
export interface SlirpSectionState extends SlirpState {
  /** The byte before libslirp's state: 0 ends the (empty) guestfwd socket list. */
  sockets: number;
}

/**
 * The `slirp` section as the machine registers it (a legacy section: QEMU has no vmsd for it,
 * so its vmdesc entry is the old-style buffer one): marker byte 0, then `slirp` v4.
 */
export const vmstateSlirpSection = vmsd<SlirpSectionState>({
  name: SLIRP_SECTION.idstr,
  versionId: SLIRP_SECTION.versionId,
  minimumVersionId: 0,
  fields: [
    uint8("sockets"),
    ...(vmstateSlirpState.fields as VmStateField<keyof SlirpSectionState>[]),
  ],
  postLoad(s, versionId) {
    if (s.sockets !== 0) {
      throw new StateValidationError(
        s.sockets === SOCKET_MARKER
          ? "A guestfwd socket record, but this netdev has no guestfwd rule (QEMU refuses it too)"
          : `Socket list marker ${s.sockets} is neither 0 nor 42`,
      );
    }
    vmstateSlirpState.postLoad?.(s, versionId);
  },
});

/** The user-mode netdev's migrated state; load is staged and all-or-nothing. */
export class SlirpNetdev implements SnapshotDevice {
  /** Live state. */
  state: SlirpSectionState = { sockets: 0, ...createSlirpState() };
  /**
   * Whether the netdev exists: QEMU sends `slirp` only with a user-mode netdev, so a load of a
   * stream without one turns it off (saves then send none), and a stream with one turns it on.
   */
  present = true;

  /** The legacy `slirp` section; the stream may lack it ({@link SlirpNetdev.present}). */
  sections(): DeviceSection[] {
    return [{
      vmsd: vmstateSlirpSection,
      legacy: true,
      state: () => this.state,
      commit: (staged: SlirpSectionState) => void (this.state = staged),
      presence: {
        present: () => this.present,
        loaded: (present) => void (this.present = present),
      },
    }];
  }

  /** The section payload of the live state. */
  savePayload(): Uint8Array {
    return encodeSlirpPayload(this.state);
  }

  /** Decodes and adopts a payload; on error the live state is unchanged. */
  loadPayload(payload: Uint8Array, version: number = SLIRP_SECTION.versionId): void {
    this.state = { sockets: 0, ...decodeSlirpPayload(payload, version) };
  }
}
