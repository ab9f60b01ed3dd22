#!/usr/bin/env python3
"""Minimal HMP (human monitor) client over a unix socket.

Usage: hmp.py SOCKET CMD [CMD ...]
  Each CMD is sent as one monitor line; its output is printed.
  Special pseudo-commands:
    @sleep:SECONDS     sleep locally
    @wait-migrate      poll 'info migrate' until status is completed/failed
Written for snapshell (no QEMU code).
"""
import socket, sys, time

PROMPT = b"(qemu) "

def connect(path, timeout=10.0):
    deadline = time.time() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)

def read_until_prompt(s):
    buf = b""
    while not buf.endswith(PROMPT):
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf

def clean(raw, cmd):
    # HMP echoes the command with terminal escape sequences; drop the echo line.
    text = raw.decode("utf-8", "replace").replace("\r", "")
    if text.endswith(PROMPT.decode()):
        text = text[: -len(PROMPT)]
    lines = text.split("\n")
    if lines and cmd.split()[0] in lines[0]:
        lines = lines[1:]
    return "\n".join(lines).strip("\n")

def run(s, cmd):
    s.sendall(cmd.encode() + b"\n")
    return clean(read_until_prompt(s), cmd)

def main():
    path, cmds = sys.argv[1], sys.argv[2:]
    s = connect(path)
    read_until_prompt(s)  # banner
    for cmd in cmds:
        if cmd.startswith("@sleep:"):
            time.sleep(float(cmd.split(":", 1)[1]))
            continue
        if cmd == "@wait-migrate":
            for _ in range(600):
                out = run(s, "info migrate")
                status = [l for l in out.split("\n") if l.startswith("Migration status:")]
                st = status[0].split(":", 1)[1].strip() if status else "?"
                if st in ("completed", "failed", "cancelled"):
                    print(out)
                    if st != "completed":
                        sys.exit("migration " + st)
                    break
                time.sleep(0.1)
            else:
                sys.exit("migration did not complete")
            continue
        print("(qemu) " + cmd)
        out = run(s, cmd)
        if out:
            print(out)
        if cmd == "quit":
            break
    s.close()

if __name__ == "__main__":
    main()
