/**
 * The Python options of every command that runs executors (a local dispatcher, the workers,
 * `faas up`), and what they come to at start: Python settings for the executor pool, or none,
 * said once in the log, on a machine without python3, dill or bubblewrap.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import type { PythonSettings } from "../executor/contract.js";
import { PythonPool } from "../executor/python-pool.js";
import type { Logger } from "../log.js";

export interface PythonFlags {
  pythonPath: string[];
  /** --python <interpreter>, or false for --no-python (commander keeps both under one name). */
  python?: string | false;
}

/** A --python-path directory: it must exist; kept absolute, since the jail binds it as it is. */
function pythonPathDirectory(value: string, previous: string[] = []): string[] {
  const dir = resolve(value);
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    /* missing */
  }
  if (!isDirectory) throw new InvalidArgumentError(`--python-path ${value}: no such directory`);
  return [...previous, dir];
}

/** Adds --python-path (repeatable), --python and --no-python to a command; `scope` says where they apply ("local mode: "). */
export function addPythonOptions(command: Command, scope = ""): Command {
  return command
    .option("--python-path <dir>", `${scope}a directory whose modules Python functions pickled by reference need (read-only in the jail; repeatable)`, pythonPathDirectory, [])
    .option("--python <interpreter>", `${scope}the CPython that runs Python functions, with dill (default: /usr/bin/python3, else python3 on PATH)`)
    .option("--no-python", `${scope}run JavaScript functions only`);
}

/**
 * The pool's Python settings, once a probe function ran in the jail; undefined (JavaScript
 * only, logged once with the reason) when Python is turned off or cannot run here.
 */
export async function pythonSettings(flags: PythonFlags, log: Logger): Promise<PythonSettings | undefined> {
  if (flags.python === false) return undefined;
  const available = await PythonPool.available(flags.python);
  if (!available.ok) {
    log.warn({ why: available.why }, "Python functions are not run here (JavaScript only): it needs python3 with dill and bubblewrap (Debian: apt-get install python3 python3-dill bubblewrap)");
    return undefined;
  }
  return { pythonPath: flags.pythonPath, ...(flags.python !== undefined ? { python: flags.python } : {}) };
}
