#!/usr/bin/env python3
"""Print the byte layout of a QEMU (v3) migration stream.

Usage: stream-layout.py FILE

Independent re-implementation written for snapshell (it does not use or copy
QEMU's scripts/analyze-migration.py).  It walks the stream using the vmdesc
JSON trailer to size device sections and prints one line per record with its
file offset, so that tests/emulator authors can see exactly where each
section, subsection, footer, EOF and trailer sit.
"""
import json, struct, sys

EOF_, START, PART, END, FULL, SUB, VMDESC, CONFIG, FOOTER = 0, 1, 2, 3, 4, 5, 6, 7, 0x7e
NAMES = {1: "SECTION_START", 2: "SECTION_PART", 3: "SECTION_END", 4: "SECTION_FULL"}
RAM_FLAGS = [(0x02, "ZERO"), (0x04, "MEM_SIZE"), (0x08, "PAGE"), (0x10, "EOS"),
             (0x20, "CONTINUE"), (0x40, "XBZRLE"), (0x80, "HOOK"), (0x100, "COMPRESS_PAGE")]


class R:
    def __init__(self, b):
        self.b, self.p = b, 0

    def u8(self):
        v = self.b[self.p]; self.p += 1; return v

    def be32(self):
        v = struct.unpack_from(">I", self.b, self.p)[0]; self.p += 4; return v

    def be64(self):
        v = struct.unpack_from(">Q", self.b, self.p)[0]; self.p += 8; return v

    def raw(self, n):
        v = self.b[self.p:self.p + n]
        if len(v) != n:
            raise SystemExit("truncated at 0x%x" % self.p)
        self.p += n; return v

    def str8(self):
        return self.raw(self.u8()).decode()


def find_vmdesc(b):
    # Trailer = 0x06, be32 length, JSON; it follows the QEMU_VM_EOF byte.
    j = b.rfind(b'{"page_size"')
    assert b[j - 5] == VMDESC
    n = struct.unpack_from(">I", b, j - 4)[0]
    return j - 5, n, json.loads(b[j:j + n])


def walk_struct(r, desc, out, depth):
    ind = "  " * depth
    for f in desc.get("fields", []):
        cnt = f.get("array_len", 1)
        for i in range(cnt):
            start = r.p
            if f["type"] == "struct":
                out.append("%s  0x%06x  field %s%s: struct %s v%s" % (
                    ind, start, f["name"], "[%d]" % i if "array_len" in f else
                    ("[idx %d]" % f["index"] if "index" in f else ""),
                    f["struct"].get("vmsd_name"), f["struct"].get("version")))
                walk_struct(r, f["struct"], out, depth + 1)
            else:
                r.raw(f["size"])
        if f["type"] != "struct":
            total = f["size"] * cnt
            val = r.b[r.p - total:r.p]
            shown = val.hex() if total <= 16 else val[:16].hex() + "..."
            out.append("%s  0x%06x  field %-28s %-14s size=%d%s = %s" % (
                ind, r.p - total, f["name"] + ("[idx %d]" % f["index"] if "index" in f else ""),
                f["type"], f["size"], " x%d" % cnt if "array_len" in f else "", shown))
    for s in desc.get("subsections", []):
        off = r.p
        assert r.u8() == SUB, "expected subsection at 0x%x" % off
        name = r.str8()
        ver = r.be32()
        out.append("%s  0x%06x  SUBSECTION %s version=%d" % (ind, off, name, ver))
        assert name == s["vmsd_name"]
        walk_struct(r, s, out, depth + 1)


def walk_ram(r, out, page_size):
    pages = zeros = 0
    while True:
        off = r.p
        a = r.be64()
        flags, addr = a & (page_size - 1), a & ~(page_size - 1)
        fl = "|".join(n for v, n in RAM_FLAGS if flags & v) or "0"
        if flags & 0x04:
            out.append("    0x%06x  ram MEM_SIZE total=0x%x flags=%s" % (off, addr, fl))
            total = 0
            while total < addr:
                name = r.str8(); ln = r.be64(); total += ln
                out.append("               block %-28s length=0x%x" % (name, ln))
        if flags & (0x02 | 0x08):
            name = None
            if not flags & 0x20:
                name = r.str8()
            if flags & 0x02:
                fill = r.u8(); zeros += 1
                if name is not None:
                    out.append("    0x%06x  ram ZERO  block=%s offset=0x%x fill=0x%02x (first in block)" % (off, name, addr, fill))
            else:
                r.raw(page_size); pages += 1
                out.append("    0x%06x  ram PAGE  %s offset=0x%x%s" % (
                    off, ("block=" + name) if name else "(continue)", addr, ""))
        if flags & 0x10:
            out.append("    0x%06x  ram EOS   (zero-page records so far: %d, page records: %d)" % (off, zeros, pages))
            return
        if flags & ~(0x02 | 0x04 | 0x08 | 0x10 | 0x20):
            raise SystemExit("unsupported RAM flags 0x%x at 0x%x" % (flags, off))


def main():
    b = open(sys.argv[1], "rb").read()
    desc_off, desc_len, vmdesc = find_vmdesc(b)
    devs = {(d["name"], d["instance_id"]): d for d in vmdesc["devices"]}
    r = R(b)
    out = []
    out.append("file size %d (0x%x)" % (len(b), len(b)))
    magic, ver = r.be32(), r.be32()
    out.append("0x000000  magic 0x%08x version %d" % (magic, ver))
    ids = {}
    while True:
        off = r.p
        t = r.u8()
        if t == EOF_:
            out.append("0x%06x  QEMU_VM_EOF" % off)
            break
        if t == CONFIG:
            n = r.be32()
            name = r.raw(n).decode()
            out.append("0x%06x  QEMU_VM_CONFIGURATION len=%d name=%r" % (off, n, name))
            while r.b[r.p] == SUB:
                so = r.p; r.u8(); sn = r.str8(); sv = r.be32()
                out.append("    0x%06x  SUBSECTION %s v%d (not decoded)" % (so, sn, sv))
                raise SystemExit("configuration subsections not supported")
            continue
        if t in (START, FULL):
            sid = r.be32(); name = r.str8(); inst = r.be32(); ver = r.be32()
            ids[sid] = (name, inst)
            out.append("0x%06x  %s id=%d idstr=%r instance=%d version=%d" % (off, NAMES[t], sid, name, inst, ver))
            if name == "ram":
                walk_ram(r, out, vmdesc["page_size"])
            else:
                walk_struct(r, devs[(name, inst)], out, 1)
            continue
        if t in (PART, END):
            sid = r.be32()
            out.append("0x%06x  %s id=%d (%s)" % (off, NAMES[t], sid, ids[sid][0]))
            if ids[sid][0] == "ram":
                walk_ram(r, out, vmdesc["page_size"])
            continue
        if t == FOOTER:
            sid = r.be32()
            out.append("0x%06x  QEMU_VM_SECTION_FOOTER id=%d" % (off, sid))
            continue
        raise SystemExit("unknown record type 0x%02x at 0x%x" % (t, off))
    out.append("0x%06x  QEMU_VM_VMDESCRIPTION len=%d (JSON at 0x%x..0x%x)" % (
        desc_off, desc_len, desc_off + 5, desc_off + 5 + desc_len))
    if r.p != desc_off:
        out.append("NOTE: trailer does not start right after EOF (gap %d bytes)" % (desc_off - r.p))
    if desc_off + 5 + desc_len != len(b):
        out.append("NOTE: %d bytes after the JSON" % (len(b) - desc_off - 5 - desc_len))
    print("\n".join(out))


if __name__ == "__main__":
    main()
