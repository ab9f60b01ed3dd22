#!/usr/bin/env python3
"""Derive small -dump-vmstate JSON files for static-checker reference cases.

Usage: vmstate-subset.py FULL_DUMP.json OUT_SUBSET.json OUT_MUTATED.json

Written for snapshell (no QEMU code).  OUT_SUBSET keeps only the entries for
device types that the riscv32 'virt' machine actually instantiates and that
have a dc->vmsd (plus "vmschkmachine"), unchanged.  OUT_MUTATED is the same
subset with a fixed list of deliberate incompatibilities (see MUTATIONS), used
as the *dest* when running QEMU's scripts/vmstate-static-checker.py so that we
have reference output for each kind of complaint.
"""
import copy, json, sys

KEEP = ["vmschkmachine", "serial-mm", "goldfish_rtc", "riscv.aclint.mtimer",
        "riscv.sifive.plic", "cfi.pflash01", "fw_cfg_mem", "gpex-root",
        "gpex-pcihost"]


def mutate(d):
    # 1. dest version lower than src -> "version error: 3 > 2"
    d["goldfish_rtc"]["version_id"] = 2
    d["goldfish_rtc"]["Description"]["version_id"] = 2
    # 2. dest minimum_version raised above src version -> "minimum version error"
    d["cfi.pflash01"]["minimum_version_id"] = 2
    d["cfi.pflash01"]["Description"]["minimum_version_id"] = 2
    # 3. field size change -> "size mismatch"
    for f in d["riscv.aclint.mtimer"]["Description"]["Fields"]:
        if f["field"] == "timecmp":
            f["size"] = 4
    # 4. subsection dropped in dest -> "Subsection ... not found"
    ser = d["serial-mm"]["Description"]["Fields"][0]["Description"]
    ser["Subsections"] = [s for s in ser["Subsections"] if s["name"] != "serial/tsr"]
    # 5. field renamed in dest -> "expected field ..., got ...; skipping rest"
    for f in d["riscv.sifive.plic"]["Description"]["Fields"]:
        if f["field"] == "pending":
            f["field"] = "pending_renamed"
    # 6. whole section missing in dest -> 'Section "..." does not exist in dest'
    del d["gpex-root"]
    return d


def main():
    full = json.load(open(sys.argv[1]))
    missing = [k for k in KEEP if k not in full]
    if missing:
        sys.exit("not in dump: %s" % missing)
    sub = {k: full[k] for k in KEEP}
    with open(sys.argv[2], "w") as f:
        json.dump(sub, f, indent=2)
        f.write("\n")
    with open(sys.argv[3], "w") as f:
        json.dump(mutate(copy.deepcopy(sub)), f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
