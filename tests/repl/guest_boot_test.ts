import { ok, rejects, strictEqual } from "node:assert/strict";
import { BootError } from "../../emu/boot/boot.ts";
import { linuxArtifacts, linuxMissingReason } from "../../emu/guests/linux/artifacts.ts";
import { runCommandLine } from "../../repl/cli.ts";
import { allCommands } from "../../repl/commands/mod.ts";
import { UsageError } from "../../repl/commands/types.ts";
import { firmwarePaths, guestImageFor, linuxPaths } from "../../repl/guest_boot.ts";
import { demoContext } from "./_io.ts";

const HELLO = new URL("../../emu/guests/build/hello.elf", import.meta.url).pathname;
const run = (ctx: Awaited<ReturnType<typeof demoContext>>, ...argv: string[]) =>
  runCommandLine(allCommands(), ctx, argv);

Deno.test("firmwarePaths() is undefined without --bios/--kernel/--initrd/--append", () => {
  strictEqual(firmwarePaths({}), undefined);
  strictEqual(firmwarePaths({ ram: 1 << 20 }), undefined);
  strictEqual(firmwarePaths({ kernel: "Image" })?.kernel, "Image");
  strictEqual(firmwarePaths({ append: "console=ttyS0" })?.append, "console=ttyS0");
});

Deno.test("guestImageFor() refuses an ELF with a kernel, and linux with other files", async () => {
  await rejects(guestImageFor(HELLO, { kernel: HELLO }), UsageError);
  await rejects(guestImageFor("linux", { bios: HELLO }), UsageError);
  await rejects(guestImageFor(undefined, { kernel: "/nonexistent/Image" }), BootError);
  const demo = await guestImageFor(undefined, {});
  strictEqual(demo.name, "demo.elf");
  ok(demo.elf && demo.elf.length > 0);
});

Deno.test("linuxPaths() names the build command when the guest is not built", () => {
  if (linuxArtifacts()) {
    strictEqual(linuxPaths().bios, linuxArtifacts()!.bios);
    return;
  }
  let err: unknown;
  try {
    linuxPaths();
  } catch (e) {
    err = e;
  }
  ok(err instanceof UsageError);
  strictEqual(err.message, linuxMissingReason());
});

Deno.test("boot --kernel ELF boots through the reset ROM like QEMU's -bios none; reset repeats it", async () => {
  const ctx = await demoContext();
  strictEqual(await run(ctx, "boot", "--kernel", HELLO, "--ram", "16M"), 0);
  const m = ctx.session.machine;
  strictEqual(m.cpu.state.pc, 0x1000, "the hart starts in the reset ROM");
  strictEqual(await run(ctx, "info", "machine"), 0);
  ok(ctx.outText().includes("booted as QEMU's virt boots"));
  ok(/kernel +0x80000000\.\.0x8[0-9a-f]+ +.*hello\.elf/.test(ctx.outText()), ctx.outText());
  strictEqual(await run(ctx, "run", "1000000"), 0);
  ok(ctx.outText().includes("guest exited with status 0"), ctx.outText());
  ok(m.consoleText.length > 0, "hello printed through the UART");
  strictEqual(await run(ctx, "reset"), 0);
  strictEqual(ctx.session.machine.cpu.state.pc, 0x1000);
  strictEqual(ctx.session.machine.ram.size, 16 << 20);
  strictEqual(await run(ctx, "boot", HELLO, "--kernel", HELLO), 2, "ELF and --kernel: usage");
});

const noLinux = linuxArtifacts() === null ? linuxMissingReason() : null;

Deno.test({
  name: `boot linux reaches the init's prompt in the shell and the init answers a typed command${
    noLinux ? ` (ignored: ${noLinux})` : ""
  }`,
  ignore: noLinux !== null,
  async fn() {
    const ctx = await demoContext();
    strictEqual(await run(ctx, "boot", "linux"), 0);
    strictEqual(await run(ctx, "run", "until", "snapshell# "), 0);
    strictEqual(await run(ctx, "send", "echo from-the-shell-test"), 0);
    strictEqual(await run(ctx, "run", "until", "from-the-shell-test\r\nsnapshell# "), 0);
    ok(/\nfrom-the-shell-test\r\n/.test(ctx.session.machine.consoleText));
  },
});
