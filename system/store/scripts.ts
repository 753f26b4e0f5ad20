/**
 * Loads the Lua scripts of scripts/*.lua into a connection once, as named commands
 * (ioredis's defineCommand). A script is composed when it is first loaded, as BullMQ composes
 * its commands:
 *
 * - it starts with `local Code = {...}`, the reply codes of codes.ts, so scripts return named codes;
 * - each line `--- @include "<name>"` is replaced by scripts/includes/<name>.lua (which may
 *   include others in turn). An include is spliced in once per script, at its first mention:
 *   they define local functions, and Lua needs a function defined before the code that calls it.
 */
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { luaCodes } from "./codes.js";

/** Each script and how many of its arguments are keys. */
export const SCRIPTS = { submitTask: 5, submitTasks: 4, claimTask: 4, finishTask: 4, takeOverTasks: 1, takeTasks: 1 } as const;
export type ScriptName = keyof typeof SCRIPTS;
export type ScriptRunner = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

const SCRIPTS_DIR = new URL("./scripts/", import.meta.url);
const INCLUDE = /^--- @include "([A-Za-z0-9_-]+)"[ \t]*$/gm;
const composed = new Map<ScriptName, string>();

/** A script's Lua source with its codes and includes spliced in, as Redis runs it. */
export function composeScript(name: ScriptName): string {
  let lua = composed.get(name);
  if (lua === undefined) {
    const included = new Set<string>();
    const splice = (text: string): string => text.replace(INCLUDE, (_line, include: string) => {
      if (included.has(include)) return `-- (${include}: included above)`;
      included.add(include);
      return splice(readFileSync(new URL(`includes/${include}.lua`, SCRIPTS_DIR), "utf8"));
    });
    lua = `${luaCodes()}\n${splice(readFileSync(new URL(`${name}.lua`, SCRIPTS_DIR), "utf8"))}`;
    composed.set(name, lua);
  }
  return lua;
}

export function loadScripts(redis: Redis): Record<ScriptName, ScriptRunner> {
  const scripts = {} as Record<ScriptName, ScriptRunner>;
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS) as [ScriptName, number][]) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua: composeScript(name) });
    scripts[name] = (redis as unknown as Record<string, ScriptRunner>)[name].bind(redis);
  }
  return scripts;
}
