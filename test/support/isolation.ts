/**
 * What the isolation tests share: hostile functions are run with a sentinel prelude and a
 * marker file, and every attack asserts that the host is untouched (see the header of
 * test/system/isolation.pool.test.ts); helpers read processes from /proc. Each test file that
 * imports it calls useIsolationScratch() once.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect } from "vitest";
import { deserialize, serialize } from "../../system/codec/index.js";
import type { ExecutorOutcome } from "../../system/executor/contract.js";
import type { ExecutorPool } from "../../system/executor/pool.js";

export const SECRET_NAME = "FAAS_ISOLATION_TEST_SECRET";
export const SECRET = `secret-${randomUUID()}`;
// In this process's environment, and so in every process it starts, except the executor hosts.
process.env[SECRET_NAME] = SECRET;

export const scratch = mkdtempSync(join(tmpdir(), "faaslab-isolation-"));
let attackCount = 0;

/**
 * Runs inside every attack (the function is sloppy-mode, so `arguments.callee` works).
 * `isHost` tells a host-realm object: its prototype chain ends at another realm's
 * Object.prototype. `reach(F)` treats F as a Function constructor and tries to get `process`.
 */
export const PRELUDE = `
  const rootOf = (x) => { let o = x; for (let p = Object.getPrototypeOf(o); p !== null; p = Object.getPrototypeOf(p)) o = p; return o };
  const isHost = (x) => x !== null && (typeof x === "object" || typeof x === "function") && rootOf(x) !== x && rootOf(x) !== Object.prototype;
  const reach = (F) => {
    try {
      if (isHost(F)) return "HOST-REACHED";
      const got = F("return process")();
      if (got) {
        try { got.getBuiltinModule("fs").writeFileSync(marker, "escaped") } catch {}
        return "PROCESS-REACHED";
      }
      return "nothing";
    } catch (error) {
      return isHost(error) ? "HOST-REACHED" : "blocked";
    }
  };
  const caught = (f) => { try { return f() } catch (error) { return isHost(error) ? "HOST-REACHED" : error } };`;

/** The source of an attack: `body` runs with `marker` (a file path) and any extra arguments. */
export const hostile = (body: string, params = "") => `function (marker${params ? `, ${params}` : ""}) {${PRELUDE}\n${body}\n}`;

export function globalsSnapshot(): string[] {
  const names = (o: object) => Reflect.ownKeys(o).map(String).sort().join(",");
  return [names(globalThis), names(Object.prototype), names(Function.prototype), names(Array.prototype)];
}
export const globalsAtStart = globalsSnapshot();

export interface AttackOutcome extends ExecutorOutcome {
  value: any;
}

/**
 * Runs one attack and checks that the host is untouched; the caller checks the outcome. Each
 * attack is a function of its own, unless `functionId` names one to call again (its sandbox,
 * and so its globals, persist on the thread that ran it).
 */
export async function attack(pool: ExecutorPool, source: string, options: { deadlineMs?: number; args?: unknown[]; functionId?: string } = {}): Promise<AttackOutcome> {
  const id = ++attackCount;
  const marker = join(scratch, `attack-${id}.marker`);
  const functionId = options.functionId ?? `attack-${id}`;
  const outcome = await pool.run({ functionId, source, args: serialize([marker, ...(options.args ?? [])]) }, options.deadlineMs ?? 15_000);
  expect(outcome.result).not.toMatch(/HOST-REACHED|PROCESS-REACHED/);
  expect(outcome.result).not.toContain(SECRET);
  expect(existsSync(marker)).toBe(false);
  expect(globalsSnapshot()).toEqual(globalsAtStart);
  return { ...outcome, value: deserialize(outcome.result) };
}

/** Normal tasks, one per executor unless told, complete with the right values. */
export async function expectServing(pool: ExecutorPool, tasks = pool.executors): Promise<void> {
  const outcomes = await Promise.all(
    Array.from({ length: tasks }, (_, n) => pool.run({ functionId: "normal", source: "(x) => x * 2", args: serialize([n]) }, 15_000)),
  );
  expect(outcomes.map((o) => [o.status, deserialize(o.result)])).toEqual(Array.from({ length: tasks }, (_, n) => ["COMPLETED", n * 2]));
}

/** A contained attack: COMPLETED, and every probe it made came back "blocked" or "nothing". */
export function expectAllBlocked(outcome: AttackOutcome): void {
  expect(outcome.status, outcome.result).toBe("COMPLETED");
  expect(Array.isArray(outcome.value)).toBe(true);
  expect(outcome.value.length).toBeGreaterThan(0);
  for (const probe of outcome.value) expect(["blocked", "nothing"]).toContain(probe);
}

export function expectFailure(outcome: AttackOutcome, name: string, message?: RegExp): Error {
  expect(outcome.status, outcome.result).toBe("FAILED");
  expect(outcome.value).toBeInstanceOf(Error);
  expect(outcome.value.name, outcome.value.message).toBe(name);
  if (message) expect(outcome.value.message).toMatch(message);
  return outcome.value;
}

/** User + system CPU time of a process so far, in ms (Linux /proc; clock ticks are 10 ms). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Whether a process is gone (a zombie, exited but not yet reaped, counts as gone). */
export function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].startsWith("Z");
  } catch {
    return true;
  }
}

export function childrenOf(pid: number): number[] {
  return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number).filter((child) => {
    try {
      return Number(readFileSync(`/proc/${child}/stat`, "utf8").split(") ")[1].split(" ")[1]) === pid;
    } catch {
      return false;
    }
  });
}

export const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8");
/** The environment a process was started with, less the IPC channel's own variables (which Node removes from process.env). */
export const startEnvironment = (pid: number) => environOf(pid).split("\0").filter((entry) => entry !== "" && !entry.startsWith("NODE_CHANNEL_"));
export const cmdlineOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");

/** Removes the scratch folder, and the secret from this process's environment, after the file's tests. */
export function useIsolationScratch(): void {
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
    delete process.env[SECRET_NAME];
  });
}
