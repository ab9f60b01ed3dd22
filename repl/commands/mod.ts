/**
 * The list of every command, in help order.
 * @module
 */
import { inspectCommand } from "./inspect_command.ts";
import { checkCommand, runCommand, snapshotCommand } from "./machine_commands.ts";
import type { CommandDef } from "./types.ts";
import type { ShellContext } from "../session.ts";

/** All command definitions (each defined once, used by CLI, shell and scripts). */
export function allCommands(): CommandDef<ShellContext>[] {
  return [inspectCommand, runCommand, snapshotCommand, checkCommand];
}
