/** Loads the Lua scripts of scripts/*.lua into a connection once, as named commands. */
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/** Each script and how many of its arguments are keys. */
export const SCRIPTS = { submitTask: 5, submitTasks: 4, claimTask: 4, finishTask: 4, takeOverTasks: 1, takeTasks: 1 } as const;
export type ScriptName = keyof typeof SCRIPTS;
export type ScriptRunner = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

export function loadScripts(redis: Redis): Record<ScriptName, ScriptRunner> {
  const scripts = {} as Record<ScriptName, ScriptRunner>;
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS) as [ScriptName, number][]) {
    if (!(name in redis)) {
      redis.defineCommand(name, { numberOfKeys, lua: readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), "utf8") });
    }
    scripts[name] = (redis as unknown as Record<string, ScriptRunner>)[name].bind(redis);
  }
  return scripts;
}
