import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import {
  createSlirpState,
  decodeSlirpPayload,
  encodeSlirpPayload,
  SLIRP_SECTION,
  SlirpNetdev,
  slirpVmdescEntry,
} from "../../../../emu/devices/qemu/slirp.ts";
import { findSection, qemuEntry } from "./_qemu.ts";

Deno.test("the payload of a fresh stack is 131 bytes: end of sockets, ip_id, 16 leases", () => {
  const p = encodeSlirpPayload(createSlirpState());
  assertEquals([p.length, p.every((b) => b === 0)], [131, true]);
});

Deno.test("QEMU's slirp sections (default NIC and -netdev user,id=n0) decode and re-encode", () => {
  for (const stream of ["virt-reset", "virt-running", "virt-icount"] as const) {
    const sec = findSection(stream, "slirp");
    assertEquals(sec.version, SLIRP_SECTION.versionId);
    const s = decodeSlirpPayload(sec.body, sec.version);
    assertEquals(s, createSlirpState());
    assertEquals(encodeSlirpPayload(s), sec.body);
  }
});

Deno.test("our vmdesc entry for the legacy section equals QEMU 7.2's", () => {
  for (const stream of ["virt-running", "virt-icount"] as const) {
    const { text, dev } = qemuEntry(stream, "slirp");
    const ours = slirpVmdescEntry(131);
    assertEquals(JSON.parse(ours), dev);
    ok(text.includes(ours), ours);
  }
});

Deno.test("leases and ip_id round-trip; older versions carry fewer fields", () => {
  const s = createSlirpState();
  s.ipId = 0x1234;
  s.bootpClients[3] = { allocated: 1, macaddr: new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, 0x56]) };
  assertEquals(decodeSlirpPayload(encodeSlirpPayload(s)), s);
  const v2 = decodeSlirpPayload(new Uint8Array([0, 0x00, 0x07]), 2);
  assertEquals(v2.ipId, 7);
  assertEquals(decodeSlirpPayload(new Uint8Array([0]), 1), createSlirpState());
});

Deno.test("socket records, junk after the state and bad leases are refused, state untouched", () => {
  const n = new SlirpNetdev();
  n.state.ipId = 9;
  const good = encodeSlirpPayload(createSlirpState());
  const withSocket = good.slice();
  withSocket[0] = 42;
  throws(() => n.loadPayload(withSocket), /no guestfwd rule/);
  throws(() => n.loadPayload(new Uint8Array([...good, 0])), /1 bytes after/);
  const badLease = good.slice();
  badLease[1 + 2 + 1] = 2; // bootp_clients[0].allocated = 2
  throws(() => n.loadPayload(badLease), /allocated is 2/);
  throws(() => n.loadPayload(good, 5), /newer than 4/);
  assertEquals(n.state.ipId, 9);
  n.loadPayload(good);
  assertEquals(n.state.ipId, 0);
});
