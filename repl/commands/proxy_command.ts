/**
 * `proxy LISTEN TARGET [FAULTS...]`: a man in the middle between a source running `migrate` and
 * a destination running `incoming`, applying wire faults to the live stream and logging each
 * with the offset and section (and field, once the vmdesc passed) it hit. The proxy itself is
 * harness/wire/proxy.ts; this file parses words and prints.
 * @module
 */
import { FaultSpecError } from "../../harness/wire/errors.ts";
import { type FaultEvent, formatEvent } from "../../harness/wire/fault_engine.ts";
import { parseFault } from "../../harness/wire/fault_spec.ts";
import { runProxy, type TcpAddress } from "../../harness/wire/proxy.ts";
import { reportJson, summaryLines } from "../../harness/wire/report.ts";
import { MigrationUriError, parseMigrationUri } from "../../harness/migration/uri.ts";
import type { ShellContext } from "../session.ts";
import { secondsType } from "./arg_types.ts";
import { type ArgType, type CommandDef, UsageError } from "./types.ts";

/** `tcp:HOST:PORT` or `HOST:PORT`. */
export function tcpAddress(text: string, what: string): TcpAddress {
  const spelled = text.startsWith("tcp:") ? text : `tcp:${text}`;
  try {
    const u = parseMigrationUri(spelled);
    if (u.kind === "tcp") return { host: u.host, port: u.port };
  } catch (e) {
    if (!(e instanceof MigrationUriError)) throw e;
  }
  throw new UsageError(`Invalid ${what} "${text}": use tcp:HOST:PORT`);
}

/** A TCP address argument: a {@link TcpAddress}. */
function tcpAddressType(what: string): ArgType {
  return { name: "tcp:HOST:PORT", parse: (w) => tcpAddress(w, what) };
}

/** The proxy command definition. */
export const proxyCommand: CommandDef<ShellContext> = {
  name: "proxy",
  summary: "Forward one migration from LISTEN to TARGET, applying faults to the live stream",
  args: [
    {
      name: "listen",
      description: "tcp:HOST:PORT to listen on (port 0: any, printed)",
      type: tcpAddressType("listen address"),
    },
    {
      name: "target",
      description: "tcp:HOST:PORT of the destination (incoming)",
      type: tcpAddressType("target"),
    },
    {
      name: "faults",
      optional: true,
      variadic: true,
      description: "cut:POS stall:POS:MS throttle:RATE chunk:N flip:POS[:BIT] " +
        "set:POS:BYTE write:POS:HEX field:PATH=VALUE drop:POS[:LEN] dup:POS[:LEN]; POS: an " +
        "offset, SECTION[@KIND][+N], a FIELD, eof[+N] or vmdesc[+N] (docs/faults-on-the-wire.md)",
    },
  ],
  options: [
    {
      flags: "--timeout <s>",
      description: "give up waiting for the source, for bytes from either side or for a write " +
        "after this many seconds (default 60)",
      type: secondsType,
    },
    { flags: "--json", description: "print the report as one JSON object" },
  ],
  examples: [
    "proxy tcp:127.0.0.1:5555 tcp:127.0.0.1:4444 cut:ram@part+4096",
    "proxy tcp:127.0.0.1:0 tcp:127.0.0.1:4444 throttle:2M stall:serial:1500",
    "proxy tcp:127.0.0.1:0 tcp:127.0.0.1:4444 flip:goldfish_rtc.irq_enabled:1",
  ],
  async run(ctx, args, opts): Promise<number> {
    const listen = args[0] as TcpAddress;
    const target = args[1] as TcpAddress;
    const words = args.slice(2) as string[];
    let faults;
    try {
      faults = words.map(parseFault);
    } catch (e) {
      if (e instanceof FaultSpecError) throw new UsageError(e.message);
      throw e;
    }
    const timeoutMs = (opts.timeout as number | undefined) ?? 60_000;
    const json = Boolean(opts.json);
    const say = (line: string) => {
      if (!json) ctx.io.out(`proxy: ${line}`);
    };
    const printed = new Map<FaultEvent, string>();
    const report = await runProxy(listen, target, {
      faults,
      timeoutMs,
      // Printed even with --json: whoever starts the source waits for this line.
      onListening: (where) => ctx.io.out(`proxy: listening on ${where}`),
      onConnected: (source, to) => say(`source ${source} connected; forwarding to ${to}`),
      onEvent: (e) => {
        printed.set(e, formatEvent(e));
        say(formatEvent(e));
      },
    });
    if (json) {
      ctx.io.out(JSON.stringify(reportJson(report.engine, report.verdict, {
        listen: report.listen,
        target: report.target,
        layoutKnown: report.layoutKnown,
        seconds: report.seconds,
      })));
    } else {
      // Faults that hit before the vmdesc passed are named by section only at first.
      const renamed = report.engine.events.filter((e) => formatEvent(e) !== printed.get(e));
      if (renamed.length) {
        say("with the stream's complete layout (vmdesc seen), those faults hit:");
        for (const e of renamed) say(`  ${formatEvent(e)}`);
      }
      const lines = summaryLines(report.engine, report.verdict, report.target);
      lines[lines.length - 1] += ` (${report.seconds.toFixed(3)} s)`;
      for (const line of lines) say(line);
    }
    if (report.engine.unreached.length) {
      ctx.io.err(`proxy: ${report.engine.unreached.length} fault(s) never fired`);
      return 1;
    }
    return 0;
  },
};
