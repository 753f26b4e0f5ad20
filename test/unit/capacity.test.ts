/** The capacity check over histories written by hand: what it counts, and what it leaves out. */
import { describe, expect, it } from "vitest";
import { checkCapacity } from "../../harness/checker/capacity.js";
import { analyse } from "../../harness/history/analysis.js";
import type { HistoryEvent } from "../../harness/history/history.js";
import { serialize } from "../../system/codec/index.js";

/** A history of tasks each seen RUNNING by requests sent at `seen[i][0]` and answered at `seen[i][1]`, on `executors` executors. */
function history(executors: number | undefined, tasks: [number, number][][], faults: { start: number; end: number }[] = []): HistoryEvent[] {
  const events: HistoryEvent[] = [{ t: 0, type: "phase", phase: "start", name: "steady" }];
  if (executors !== undefined) events.push({ t: 0, type: "cluster", executors });
  tasks.forEach((seen, op) => {
    const taskId = `task-${op}`;
    events.push({ t: 1, type: "invoke", op, process: "c", kind: "sleep", args: serialize([]), expected: { ok: true, value: serialize(null) } });
    events.push({ t: 2, type: "complete", op, outcome: "ok", taskId });
    for (const [invokedAt, t] of seen) events.push({ t, type: "status", taskId, status: "RUNNING", invokedAt, by: "observer" });
  });
  faults.forEach(({ start, end }, fault) => {
    events.push({ t: start, type: "fault", phase: "start", fault, description: "kill worker-0", targets: ["worker-0"] });
    events.push({ t: end, type: "fault", phase: "end", fault, description: "kill worker-0" });
  });
  events.push({ t: 10_000, type: "phase", phase: "end", name: "steady" });
  return events.sort((a, b) => a.t - b.t);
}

describe("capacity", () => {
  it("passes when the tasks certainly RUNNING at once never outnumber the executors", () => {
    // Two executors: two tasks overlap, a third starts after the first was last seen.
    const result = checkCapacity(analyse(history(2, [[[100, 110], [500, 510]], [[200, 210], [900, 910]], [[600, 610], [800, 810]]])), 2000);
    expect(result).toMatchObject({ verdict: "pass", figure: expect.stringMatching(/^at most 2 tasks certainly RUNNING at once, on 2 executors/) });
  });

  it("fails when more tasks are RUNNING at once than there are executors (16 on 4), and says when and which", () => {
    const tasks = Array.from({ length: 16 }, (_, i): [number, number][] => [[100 + i, 120 + i], [5000 + i, 5010 + i]]);
    const result = checkCapacity(analyse(history(4, tasks)), 2000);
    expect(result.verdict).toBe("fail");
    expect(result.figure).toMatch(/^at most 16 tasks certainly RUNNING at once, on 4 executors/);
    expect(result.details[0]).toMatch(/^at 0\.\d+ s: 16 tasks RUNNING, e\.g\. task-/);
  });

  it("counts only what is certain: from the first reply to the last request, so one sighting, or two whose requests overlap, count nothing", () => {
    // Three tasks on one executor, each seen RUNNING once, or twice by requests in flight together.
    const result = checkCapacity(analyse(history(1, [[[100, 200]], [[100, 300], [150, 250]], [[120, 400]]])), 0);
    expect(result.verdict).toBe("unknown");
    // Touching intervals do not overlap: one ends at 500 as the next starts.
    expect(checkCapacity(analyse(history(1, [[[100, 110], [500, 510]], [[400, 500], [900, 910]]])), 0).verdict).toBe("pass");
  });

  it("leaves out the faults and the grace after them, when a lost worker's task stays RUNNING while it runs again", () => {
    // Six tasks at once on two executors, but only during a fault (1–2 s) and its grace (2 s).
    const tasks = Array.from({ length: 6 }, (_, i): [number, number][] => [[1100 + i, 1110 + i], [3500 + i, 3510 + i]]);
    const faulty = analyse(history(2, tasks, [{ start: 1000, end: 2000 }]));
    expect(checkCapacity(faulty, 2000).verdict).toBe("unknown");
    expect(checkCapacity(faulty, 1000).verdict).toBe("fail");
  });

  it("is unknown when the history does not say how many executors there are", () => {
    expect(checkCapacity(analyse(history(undefined, [[[100, 110], [500, 510]]])), 0)).toMatchObject({ verdict: "unknown", figure: expect.stringContaining("executors") });
  });
});
