import { hex } from "../format.ts";

/** Wire constants of QEMU's savevm stream (migration/savevm.h), unchanged from 7.2 to 10.2. */
export const QEMU_VM_FILE_MAGIC = 0x5145564d;
/** The obsolete v2 format, always rejected. */
export const QEMU_VM_FILE_VERSION_COMPAT = 0x00000002;
/** The only accepted stream version. */
export const QEMU_VM_FILE_VERSION = 0x00000003;

/** Section type bytes. */
export const SectionType = {
  EOF: 0x00,
  START: 0x01,
  PART: 0x02,
  END: 0x03,
  FULL: 0x04,
  SUBSECTION: 0x05,
  VMDESCRIPTION: 0x06,
  CONFIGURATION: 0x07,
  COMMAND: 0x08,
  FOOTER: 0x7e,
} as const;

/** Name of a section type byte, for messages and inspect output. */
export function sectionTypeName(t: number): string {
  const e = Object.entries(SectionType).find(([, v]) => v === t);
  return e ? e[0] : hex(t, 2);
}

/** RAM_SAVE_FLAG_* bits (ram.c) in the low bits of a RAM record's be64 header. */
export const RamFlag = {
  FULL: 0x001,
  ZERO: 0x002,
  MEM_SIZE: 0x004,
  PAGE: 0x008,
  EOS: 0x010,
  CONTINUE: 0x020,
  XBZRLE: 0x040,
  HOOK: 0x080,
  COMPRESS_PAGE: 0x100,
  MULTIFD_FLUSH: 0x200,
} as const;

/** QEMU_VM_COMMAND values. */
export const MigCommand = {
  INVALID: 0,
  OPEN_RETURN_PATH: 1,
  PING: 2,
  POSTCOPY_ADVISE: 3,
  POSTCOPY_LISTEN: 4,
  POSTCOPY_RUN: 5,
  POSTCOPY_RAM_DISCARD: 6,
  PACKAGED: 7,
  ENABLE_COLO: 8,
  POSTCOPY_RESUME: 9,
  RECV_BITMAP: 10,
  SWITCHOVER_START: 11,
} as const;
