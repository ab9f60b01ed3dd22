/**
 * The session's migration capabilities: `capabilities` lists snapshell's protocol extensions
 * and which are on, `set capability NAME on|off` switches one. They are session settings that
 * every save, load and migration of the session's machines reads (Session.streamOptions).
 * @module
 */
import { CAPABILITIES, capabilityInfo } from "../../migration/extensions/capabilities.ts";
import {
  MIGRATION_CAPABILITIES,
  migrationCapabilityInfo,
} from "../../harness/migration/capabilities.ts";
import { migrationOf } from "./migrate_commands.ts";
import type { Session, ShellContext } from "../session.ts";
import { renderTable } from "../style.ts";
import { enumType, startingWith } from "./arg_types.ts";
import { type ArgType, type CommandDef, UsageError } from "./types.ts";

/** Names of every capability, for help and completion. */
export function capabilityNames(): string[] {
  return [...MIGRATION_CAPABILITIES.map((c) => c.name), ...CAPABILITIES.map((c) => c.name)];
}

/** Switch one capability of a session; returns the line to print. */
export function setCapability(session: Session, name: string, state: string): string {
  const mig = migrationCapabilityInfo(name);
  if (mig) {
    if (state !== "on" && state !== "off") {
      throw new UsageError(`Invalid state "${state}" for ${name}: use on or off`);
    }
    if (state === "on" && mig.unavailable) throw new UsageError(`${name}: ${mig.unavailable}`);
    const m = migrationOf(session);
    if (m.detached) {
      throw new UsageError(`${name} cannot change while a migration is in progress (QEMU's rule)`);
    }
    m.capabilities = { ...m.capabilities, [mig.key]: state === "on" };
    return `capability ${name}: ${state} (a migration setting of this side; never in the stream)`;
  }
  const info = capabilityInfo(name);
  if (!info) {
    throw new UsageError(
      `Unknown capability "${name}": use one of ${capabilityNames().join(", ")}`,
    );
  }
  if (state !== "on" && state !== "off") {
    throw new UsageError(`Invalid state "${state}" for ${name}: use on or off`);
  }
  if (state === "on") session.capabilities.add(name);
  else session.capabilities.delete(name);
  const scope = info.recorded
    ? "recorded in the configuration record of streams saved from now on"
    : "a load policy of this side";
  return `capability ${name}: ${state} (${scope})`;
}

/** `capabilities`. */
export const capabilitiesCommand: CommandDef<ShellContext> = {
  name: "capabilities",
  summary: "List the migration capabilities (snapshell's protocol extensions) and which are on",
  options: [{ flags: "--json", description: "print them as one JSON array" }],
  examples: ["capabilities", "set capability x-vmsd-markers on", "capabilities --json"],
  run(ctx, _args, opts) {
    const on = ctx.session.capabilities;
    const migCaps = migrationOf(ctx.session).capabilities;
    const migRows = MIGRATION_CAPABILITIES.map((c) => ({
      name: c.name,
      on: migCaps[c.key],
      recorded: false,
      summary: c.summary,
      thread: "QEMU 7.2 migration capability",
    }));
    if (opts.json) {
      ctx.io.out(JSON.stringify([
        ...migRows,
        ...CAPABILITIES.map((c) => ({
          name: c.name,
          on: on.has(c.name),
          recorded: c.recorded,
          summary: c.summary,
          thread: c.thread,
        })),
      ]));
      return Promise.resolve(0);
    }
    const rows = [
      ...migRows.map((c) => [c.name, c.on ? "on" : "off", "migration", c.summary]),
      ...CAPABILITIES.map((c) => [
        c.name,
        on.has(c.name) ? "on" : "off",
        c.recorded ? "stream" : "local",
        c.summary,
      ]),
    ];
    ctx.io.out(renderTable(["capability", "state", "scope", "what it does"], rows));
    ctx.io.out(
      "With every stream capability off, a saved stream is byte-identical to QEMU 7.2's.",
    );
    return Promise.resolve(0);
  },
};

const capabilityNameType: ArgType<ShellContext> = {
  name: "capability",
  values: capabilityNames,
  complete: (_ctx, partial) => startingWith(capabilityNames(), partial),
};

/**
 * `set capability NAME on|off`, folded into an existing `set` command (the shell's
 * `set DEVICE.FIELD VALUE`) so both share the word; without one, `set` does capabilities only.
 */
export function withCapabilitySet(fieldSet?: CommandDef<ShellContext>): CommandDef<ShellContext> {
  const [target, value] = fieldSet?.args ?? [];
  const targetType: ArgType<ShellContext> = {
    name: target?.type?.name ? `capability|${target.type.name}` : "capability",
    async complete(ctx, partial, previous) {
      const mine = startingWith(["capability"], partial);
      return [...mine, ...((await target?.type?.complete?.(ctx, partial, previous)) ?? [])];
    },
  };
  const valueType: ArgType<ShellContext> = {
    name: value?.type?.name ? `capability name|${value.type.name}` : "capability name",
    async complete(ctx, partial, previous) {
      if (previous[0] === "capability") return startingWith(capabilityNames(), partial);
      return (await value?.type?.complete?.(ctx, partial, previous)) ?? [];
    },
  };
  return {
    ...fieldSet,
    name: "set",
    summary: fieldSet
      ? `${fieldSet.summary}; set capability NAME on|off switches a migration capability`
      : "set capability NAME on|off: switch a migration capability of this session",
    args: [
      {
        name: target?.name ?? "what",
        description: `${target ? `${target.description}, or ` : ""}the word capability`,
        type: targetType,
      },
      {
        name: value?.name ?? "name",
        description: `${value ? `${value.description}, or ` : ""}the capability's name`,
        type: fieldSet ? valueType : capabilityNameType,
      },
      {
        name: "state",
        optional: true,
        description: "on or off (set capability only)",
        type: enumType("state", ["on", "off"]),
      },
    ],
    literalArgs: fieldSet?.literalArgs ?? true,
    examples: [...(fieldSet?.examples ?? []), "set capability x-self-describing on"],
    run(ctx, values, opts) {
      const args = values as string[];
      if (args[0] === "capability") {
        if (args.length !== 3) throw new UsageError("Usage: set capability NAME on|off");
        ctx.io.out(setCapability(ctx.session, args[1], args[2]));
        return Promise.resolve(0);
      }
      if (!fieldSet) throw new UsageError(`Unknown setting "${args[0]}": use set capability`);
      if (args.length > 2) throw new UsageError(`set ${args[0]} takes one value`);
      return fieldSet.run(ctx, args, opts);
    },
  };
}
