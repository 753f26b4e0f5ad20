/** How the transition scripts are composed, and how their reply codes become errors (no Redis needed). */
import { describe, expect, it } from "vitest";
import { FunctionBusyError, ScriptCode, scriptError, StoreError } from "../../system/store/codes.js";
import { claimResult, finishTimes, submitted } from "../../system/store/replies.js";
import { composeScript, SCRIPTS, type ScriptName } from "../../system/store/scripts.js";

const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe("composed scripts", () => {
  it.each(Object.keys(SCRIPTS) as ScriptName[])("%s: every include is spliced in, once, after the codes", (name) => {
    const lua = composeScript(name);
    expect(lua.startsWith("local Code = {")).toBe(true);
    expect(lua).not.toMatch(/^--- @include/m);
    for (const fn of lua.matchAll(/^local function (\w+)/gm)) expect(occurrences(lua, `local function ${fn[1]}(`)).toBe(1);
  });

  it("the two transitions that end a task share one terminal step, and four scripts one clock", () => {
    for (const name of ["claimTask", "finishTask"] as const) expect(composeScript(name)).toContain("local function finish(");
    for (const name of ["claimTask", "finishTask", "submitTask", "submitTasks"] as const) {
      const lua = composeScript(name);
      expect(occurrences(lua, 'redis.call("TIME")')).toBe(1);
      expect(lua).toContain("local function now_ms(");
    }
  });

  it("the codes the scripts return are the enum's", () => {
    const codes = new Set(Object.keys(ScriptCode).filter((key) => Number.isNaN(Number(key))));
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
      for (const used of composeScript(name).matchAll(/Code\.(\w+)/g)) expect(codes, `${name} returns Code.${used[1]}`).toContain(used[1]);
    }
  });
});

describe("reply codes", () => {
  it("a failure code becomes an Error carrying it", () => {
    const missing = scriptError(ScriptCode.TaskMissing, { script: "claimTask", taskId: "t1" });
    expect(missing).toBeInstanceOf(StoreError);
    expect([missing.code, missing.message]).toEqual([ScriptCode.TaskMissing, "claimTask: task t1 does not exist"]);
    const busy = scriptError(ScriptCode.FunctionBusy, { script: "submitTask", functionId: "f", bound: 3 });
    expect(busy).toBeInstanceOf(FunctionBusyError);
    expect(busy.code).toBe(ScriptCode.FunctionBusy);
    expect(scriptError(-99, { script: "finishTask", taskId: "t1" }).message).toMatch(/unexpected reply code -99/);
  });

  it("the decoders name each code's outcome, and throw on one they do not expect", () => {
    expect(claimResult([ScriptCode.Ok, "f", "[[]]", "", 1, "python"], { script: "claimTask" })).toEqual({ claimed: true, functionId: "f", args: "[[]]", deadlineMs: null, attempts: 1, runtime: "python" });
    expect(claimResult([ScriptCode.AttemptsExhausted], { script: "claimTask" })).toEqual({ claimed: false, reason: "attempts-exhausted" });
    expect(finishTimes([ScriptCode.Ok, "5", "", 9], { script: "finishTask" })).toEqual({ createdAt: 5, startedAt: null, finishedAt: 9 });
    expect(finishTimes([ScriptCode.TaskFinished], { script: "finishTask" })).toBeNull();
    expect(submitted(1_700_000_000_000, { script: "submitTask" })).toBe(true);
    expect(submitted(ScriptCode.FunctionMissing, { script: "submitTask" })).toBe(false);
    expect(() => submitted(ScriptCode.FunctionBusy, { script: "submitTask", functionId: "f", bound: 1 })).toThrow(FunctionBusyError);
    expect(() => claimResult([-42], { script: "claimTask", taskId: "t" })).toThrow(StoreError);
  });
});
