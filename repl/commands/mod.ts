/**
 * The list of every command, in help order.
 * @module
 */
import { inspectCommand } from "./inspect_command.ts";
import { checkCommand, runCommand, snapshotCommand } from "./machine_commands.ts";
import type { CommandContext, CommandDef } from "./types.ts";

/** All command definitions (each defined once, used by CLI, shell and scripts). */
export function allCommands(): CommandDef<CommandContext>[] {
  return [inspectCommand, runCommand, snapshotCommand, checkCommand];
}
