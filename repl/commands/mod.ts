/**
 * The list of every command, in help order.
 * @module
 */
import { capabilitiesCommand, withCapabilitySet } from "./capabilities_command.ts";
import { compatCommand } from "./compat_command.ts";
import { corruptCommand } from "./corrupt_command.ts";
import { dumpVmstateCommand } from "./dump_vmstate_command.ts";
import { expectCommand } from "./expect_command.ts";
import { fuzzCommand } from "./fuzz_command.ts";
import { infoCommand, setCommand } from "./info_commands.ts";
import { inspectCommand } from "./inspect_command.ts";
import { checkCommand, snapshotCommand } from "./machine_commands.ts";
import {
  bootCommand,
  consoleCommand,
  memCommand,
  regsCommand,
  resetCommand,
  sendCommand,
} from "./machine_session_commands.ts";
import { incomingCommand } from "./incoming_command.ts";
import { migrateCommands } from "./migrate_commands.ts";
import { proxyCommand } from "./proxy_command.ts";
import { replayCommand } from "./replay_command.ts";
import { runCommand, stepCommand, stopCommand } from "./run_commands.ts";
import {
  deleteCommand,
  diffCommand,
  exportCommand,
  importCommand,
  loadCommand,
  saveCommand,
  snapshotsCommand,
} from "./store_commands.ts";
import type { CommandDef } from "./types.ts";
import type { ShellContext } from "../session.ts";

/** All command definitions (each defined once, used by CLI, shell and scripts). */
export function allCommands(): CommandDef<ShellContext>[] {
  return [
    bootCommand,
    resetCommand,
    runCommand,
    stopCommand,
    stepCommand,
    regsCommand,
    memCommand,
    consoleCommand,
    sendCommand,
    infoCommand,
    withCapabilitySet(setCommand),
    saveCommand,
    loadCommand,
    snapshotsCommand,
    deleteCommand,
    diffCommand,
    exportCommand,
    importCommand,
    ...migrateCommands,
    incomingCommand,
    expectCommand,
    inspectCommand,
    corruptCommand,
    replayCommand,
    proxyCommand,
    fuzzCommand,
    snapshotCommand,
    checkCommand,
    capabilitiesCommand,
    compatCommand,
    dumpVmstateCommand,
  ];
}
