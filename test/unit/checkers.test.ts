/** The checkers are pure functions of a history: each is tested against small literal histories. */
import { describe, expect, it } from "vitest";
import { runChecks, passed } from "../../harness/checker/index.js";
import { checkErrorsOnlyDuringFaults } from "../../harness/checker/client-errors.js";
import { checkNoDuplicateResults } from "../../harness/checker/duplicates.js";
import { checkNoLostTasks } from "../../harness/checker/lost.js";
import { checkMonotonicStatus } from "../../harness/checker/monotonic.js";
import { checkRecovery } from "../../harness/checker/recovery.js";
import { checkResultsCorrect } from "../../harness/checker/results.js";
import { checkLatency, checkThroughput } from "../../harness/checker/thresholds.js";
import { analyse, summarize } from "../../harness/history/analysis.js";
import type { Expected, HistoryEvent } from "../../harness/history/history.js";
import { serialize } from "../../system/codec/index.js";

const ok = (value: unknown) => ({ ok: true as const, value: serialize(value) });
const error = (name: string, message: string) => {
  const e = new Error(message);
  e.name = name;
  delete (e as { stack?: string }).stack;
  return serialize(e);
};

/** A task submitted at t, accepted 5 ms later. */
function accepted(op: number, taskId: string, t: number, expected: Expected = ok(op), kind = "noop"): HistoryEvent[] {
  return [
    { t, type: "invoke", op, process: "c", kind, args: serialize([op]), expected },
    { t: t + 5, type: "complete", op, outcome: "ok", taskId },
  ];
}
const seen = (taskId: string, status: string, t: number, result?: string | null, invokedAt = t - 1, by: "client" | "observer" | "final" = "client"): HistoryEvent =>
  ({ t, type: "status", taskId, status, result, invokedAt, by }) as HistoryEvent;
const phase = (t: number, which: "start" | "end"): HistoryEvent => ({ t, type: "phase", phase: which, name: "load" });

/** A valid run: two tasks, both done right, one fault with a recovery. */
const validRun: HistoryEvent[] = [
  phase(0, "start"),
  ...accepted(1, "a", 10),
  seen("a", "RUNNING", 20, null),
  seen("a", "COMPLETED", 40, serialize(1)),
  { t: 50, type: "fault", phase: "start", fault: 0, description: "kill -9 worker-0" },
  ...accepted(2, "b", 60, { ok: false, name: "RangeError", message: "expected failure 2" }, "throw"),
  { t: 900, type: "fault", phase: "end", fault: 0, description: "kill -9 worker-0" },
  seen("b", "FAILED", 1000, error("RangeError", "expected failure 2")),
  seen("b", "FAILED", 1100, null, 1090, "observer"),
  seen("a", "COMPLETED", 2000, serialize(1), 1999, "final"),
  phase(2000, "end"),
];

describe("checkers on a valid history", () => {
  const analysis = analyse(validRun);

  it("every check passes", () => {
    const results = runChecks([
      { check: "no-lost-tasks" }, { check: "results-correct", allowFailures: [] }, { check: "no-duplicate-results" },
      { check: "monotonic-status" }, { check: "recovery", within: 200 }, { check: "latency", p99: 1000 }, { check: "throughput", atLeast: 0.5 },
    ], analysis);
    expect(results.map((r) => [r.name, r.verdict])).toEqual([
      ["no-lost-tasks", "pass"], ["results-correct", "pass"], ["no-duplicate-results", "pass"],
      ["monotonic-status", "pass"], ["recovery", "pass"], ["latency", "pass"], ["throughput", "pass"],
      // Added by the harness because the history has faults: they happened, and nothing failed to come back.
      ["nemesis", "pass"],
    ]);
    expect(passed(results)).toBe(true);
  });

  it("the summary counts what happened", () => {
    expect(summarize(analysis)).toMatchObject({ invoked: 2, accepted: 2, completed: 1, failed: 1, lost: 0, durationMs: 2000, throughput: 1 });
    expect(summarize(analysis).latency.p50).toBe(30);
  });
});

describe("each checker catches its anomaly", () => {
  it("a lost task: accepted, never seen terminal", () => {
    const result = checkNoLostTasks(analyse([...accepted(1, "a", 0), seen("a", "RUNNING", 50, null), ...accepted(2, "b", 10), seen("b", "COMPLETED", 60, serialize(2))]));
    expect(result.verdict).toBe("fail");
    expect(result.figure).toBe("1 of 2 accepted tasks never reached a terminal state");
    expect(result.details[0]).toContain("a (noop");
    expect(result.details[0]).toContain("last seen RUNNING");
  });

  it("a task the API refused or whose outcome is unknown is not lost", () => {
    const history: HistoryEvent[] = [
      { t: 0, type: "invoke", op: 1, process: "c", kind: "noop", args: "[[]]", expected: ok(null) },
      { t: 9, type: "complete", op: 1, outcome: "info", error: "connection refused" },
    ];
    expect(checkNoLostTasks(analyse(history)).verdict).toBe("unknown");
    expect(summarize(analyse(history))).toMatchObject({ invoked: 1, accepted: 0, unknown: 1, lost: 0 });
  });

  it("a wrong result, an unexpected failure, and a failure allowed by name", () => {
    const history = [
      ...accepted(1, "a", 0), seen("a", "COMPLETED", 10, serialize(99)),
      ...accepted(2, "b", 0), seen("b", "FAILED", 10, error("WorkerLost", "lost 3 times")),
    ];
    const strict = checkResultsCorrect(analyse(history));
    expect(strict.verdict).toBe("fail");
    expect(strict.details).toEqual([
      "a (noop with arguments [[1],1]) returned [99], expected [1]",
      "b (noop) FAILED with WorkerLost: lost 3 times",
    ]);
    const lenient = checkResultsCorrect(analyse(history), ["WorkerLost"]);
    expect(lenient.details).toHaveLength(1);
    expect(lenient.figure).toContain("1 failed with an allowed error");
  });

  it("an expected failure that completed, or failed with another error", () => {
    const expected = { ok: false as const, name: "RangeError", message: "boom" };
    const history = [
      ...accepted(1, "a", 0, expected), seen("a", "COMPLETED", 10, serialize(1)),
      ...accepted(2, "b", 0, expected), seen("b", "FAILED", 10, error("TypeError", "boom")),
    ];
    expect(checkResultsCorrect(analyse(history)).details).toHaveLength(2);
  });

  it("a duplicate: the same task seen with two different results", () => {
    const history = [...accepted(1, "a", 0), seen("a", "COMPLETED", 10, serialize(1)), seen("a", "COMPLETED", 20, serialize(2), 19, "final")];
    const result = checkNoDuplicateResults(analyse(history));
    expect(result.verdict).toBe("fail");
    expect(result.details[0]).toBe("a (noop) was seen as COMPLETED [1] and as COMPLETED [2]");
  });

  it("a status-only observation is not a second result", () => {
    const history = [...accepted(1, "a", 0), seen("a", "COMPLETED", 10, serialize(1)), seen("a", "COMPLETED", 20, undefined, 19, "observer")];
    expect(checkNoDuplicateResults(analyse(history)).verdict).toBe("pass");
    expect(checkResultsCorrect(analyse(history)).verdict).toBe("pass");
  });

  it("a backwards status move: RUNNING answered, then QUEUED seen by a later request", () => {
    const history = [...accepted(1, "a", 0), seen("a", "RUNNING", 30, null, 25), seen("a", "QUEUED", 50, null, 40), seen("a", "COMPLETED", 80, serialize(1))];
    const result = checkMonotonicStatus(analyse(history));
    expect(result.verdict).toBe("fail");
    expect(result.details[0]).toContain("was RUNNING");
  });

  it("overlapping requests that answer out of order are not a backwards move", () => {
    // The QUEUED read was sent (at 20) before the RUNNING answer arrived (at 30): no order between them.
    const history = [...accepted(1, "a", 0), seen("a", "RUNNING", 30, null, 25), seen("a", "QUEUED", 35, null, 20), seen("a", "COMPLETED", 80, serialize(1))];
    expect(checkMonotonicStatus(analyse(history)).verdict).toBe("pass");
  });

  it("a slow recovery, and a fault after which nothing completed", () => {
    const history: HistoryEvent[] = [
      phase(0, "start"), phase(4000, "end"),
      ...accepted(1, "a", 0), seen("a", "COMPLETED", 3000, serialize(1)),
      { t: 100, type: "fault", phase: "start", fault: 0, description: "pause dispatcher" },
      { t: 1000, type: "fault", phase: "end", fault: 0, description: "pause dispatcher" },
      { t: 3500, type: "fault", phase: "start", fault: 1, description: "kill -9 api" },
      { t: 3600, type: "fault", phase: "end", fault: 1, description: "kill -9 api" },
    ];
    const result = checkRecovery(analyse(history), 1000);
    expect(result.verdict).toBe("fail");
    expect(result.figure).toContain("slowest recovery never");
    expect(result.details).toEqual([
      "pause dispatcher, ended at 1.0 s: next completion 2.00 s later",
      "kill -9 api, ended at 3.6 s: no task completed afterwards",
    ]);
  });

  it("a fault healed after the workload stopped, with nothing left to finish, is not measured (an interrupted run's heal)", () => {
    const history: HistoryEvent[] = [
      phase(0, "start"), ...accepted(1, "a", 0), seen("a", "COMPLETED", 1500, serialize(1)), phase(2000, "end"),
      { t: 100, type: "fault", phase: "start", fault: 0, description: "kill -9 worker-0" },
      { t: 1000, type: "fault", phase: "end", fault: 0, description: "kill -9 worker-0" },
      { t: 1800, type: "fault", phase: "start", fault: 1, description: "pause worker-1 for 5 s" },
      { t: 2500, type: "fault", phase: "end", fault: 1, description: "pause worker-1 for 5 s" },
    ];
    const result = checkRecovery(analyse(history), 1000);
    expect(result.verdict).toBe("pass");
    expect(result.figure).toBe("slowest recovery 0.50 s after the one fault (bound 1.0 s); 1 ended after the workload, with no task left to show recovery, not measured");
  });

  it("thresholds in the k6 style", () => {
    const history = [phase(0, "start"), ...accepted(1, "a", 0), seen("a", "COMPLETED", 500, serialize(1)), phase(1000, "end")];
    expect(checkLatency(analyse(history), { p50: 400 }).verdict).toBe("fail");
    expect(checkLatency(analyse(history), { p50: 600 }).verdict).toBe("pass");
    expect(checkThroughput(analyse(history), 2).verdict).toBe("fail");
    expect(checkThroughput(analyse(history), 1).verdict).toBe("pass");
  });

  it("a task lost in the fsync window before a Redis crash is counted apart; one lost earlier fails the check", () => {
    const history: HistoryEvent[] = [
      phase(0, "start"),
      ...accepted(1, "early", 100),
      ...accepted(2, "late", 4500),
      { t: 5000, type: "fault", phase: "start", fault: 0, description: "kill -9 redis", crashed: ["redis"] },
      { t: 6000, type: "fault", phase: "end", fault: 0, description: "kill -9 redis", crashed: ["redis"] },
      phase(7000, "end"),
      seen("early", "MISSING", 8000, null, 7999, "final"),
      seen("late", "MISSING", 8000, null, 7999, "final"),
    ];
    const strict = checkNoLostTasks(analyse(history));
    expect(strict.verdict).toBe("fail");
    expect(strict.figure).toBe("2 of 2 accepted tasks never reached a terminal state");
    const windowed = checkNoLostTasks(analyse(history), 1000);
    expect(windowed.verdict).toBe("fail");
    expect(windowed.figure).toBe("1 of 2 accepted tasks never reached a terminal state; 1 more gone from Redis, accepted within the 1.0 s fsync window before 1 Redis crashes");
    expect(windowed.details[1]).toContain("late");
    expect(windowed.details[1]).toContain("in the fsync window (allowed)");
    const onlyLate = history.filter((event) => !("op" in event && event.op === 1));
    expect(checkNoLostTasks(analyse(onlyLate), 1000).verdict).toBe("pass");
    // A task Redis still has (last seen QUEUED) was not lost to fsync: the window does not excuse it.
    const stuck = onlyLate.map((event) => (event.type === "status" ? { ...event, status: "QUEUED" } : event)) as HistoryEvent[];
    expect(checkNoLostTasks(analyse(stuck), 1000).verdict).toBe("fail");
    // A worker's crash excuses nothing.
    const workerCrash = onlyLate.map((event) => (event.type === "fault" ? { ...event, crashed: ["worker-0"] } : event));
    expect(checkNoLostTasks(analyse(workerCrash), 1000).verdict).toBe("fail");
  });

  it("client errors: within a fault or its grace pass; one in quiet times fails", () => {
    const refusedAt = (op: number, t: number, error: string): HistoryEvent[] => [
      { t, type: "invoke", op, process: "c", kind: "noop", args: serialize([op]), expected: ok(op) },
      { t: t + 3, type: "complete", op, outcome: "info", error },
    ];
    const history: HistoryEvent[] = [
      phase(0, "start"),
      { t: 1000, type: "fault", phase: "start", fault: 0, description: "kill -9 api", crashed: ["api"] },
      ...refusedAt(1, 1200, "connect ECONNREFUSED"),
      { t: 2000, type: "fault", phase: "end", fault: 0, description: "kill -9 api", crashed: ["api"] },
      ...refusedAt(2, 2500, "Redis is unreachable; try again shortly"),
      phase(9000, "end"),
    ];
    expect(checkErrorsOnlyDuringFaults(analyse(history), 1000).verdict).toBe("pass");
    const late = [...history, ...refusedAt(3, 5000, "socket hang up")];
    const result = checkErrorsOnlyDuringFaults(analyse(late), 1000);
    expect(result.verdict).toBe("fail");
    expect(result.figure).toBe("1 of 3 client errors not explained by a fault on the API or Redis (of 3 submissions)");
    expect(result.details[0]).toBe("sent at 5.0 s, no answer: socket hang up");
    // A definite refusal (4xx) is never a fault's doing.
    const refused: HistoryEvent[] = [
      ...history,
      { t: 1300, type: "invoke", op: 4, process: "c", kind: "noop", args: serialize([4]), expected: ok(4) },
      { t: 1305, type: "complete", op: 4, outcome: "fail", error: "invalid payload" },
    ];
    expect(checkErrorsOnlyDuringFaults(analyse(refused), 1000).verdict).toBe("fail");
    // A fault off the client's path (a worker's) explains nothing.
    const onWorker = history.map((event) => (event.type === "fault" ? { ...event, description: "pause worker-0", targets: ["worker-0"] } : event));
    expect(checkErrorsOnlyDuringFaults(analyse(onWorker), 1000).verdict).toBe("fail");
    const onApi = history.map((event) => (event.type === "fault" ? { ...event, targets: ["api"] } : event));
    expect(checkErrorsOnlyDuringFaults(analyse(onApi), 1000).verdict).toBe("pass");
  });

  it("a run with nothing in it is not a pass", () => {
    const results = runChecks([{ check: "no-lost-tasks" }, { check: "recovery", within: 1000 }], analyse([]));
    expect(results.map((r) => r.verdict)).toEqual(["unknown", "unknown"]);
    expect(passed(results)).toBe(false);
  });
});
