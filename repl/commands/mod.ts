/**
 * The list of every command, in help order.
 * @module
 */
import type { CommandContext, CommandDef } from "./types.ts";

/** All command definitions (each defined once, used by CLI, shell and scripts). */
export function allCommands(): CommandDef<CommandContext>[] {
  return [];
}
