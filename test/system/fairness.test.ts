/**
 * Fairness between functions: the dispatchers take waiting tasks one function at a time in
 * turn, so a task waits behind its own function's backlog, not behind another function's
 * batch. (bench/fairness.ts measures the wait; this checks the order.)
 */
import { describe, expect, it } from "vitest";
import { useCluster } from "../support/cluster.js";

describe.each(["local", "pull"] as const)("%s: a task of one function behind another function's batch", (mode) => {
  const fx = useCluster({ mode, executors: 1, workers: { count: 1, executors: 1 } });

  it("runs before the batch is done: most of the batch is still waiting when it completes", async () => {
    const batchFunction = await fx.client.registerSource("async () => { await new Promise((resolve) => setTimeout(resolve, 5)); return 'a'; }", "batch");
    const loneFunction = await fx.client.registerSource("() => 'b'", "lone");
    expect((await fx.client.result(await fx.client.execute(loneFunction), { wait: 30 })).value).toBe("b");
    const batch = await fx.client.executeMany(batchFunction, Array.from({ length: 200 }, () => []));
    const lone = await fx.client.execute(loneFunction);
    expect((await fx.client.result(lone, { wait: 30 })).value).toBe("b");
    // First in, first out would run all 200 (over a second of work on one executor) first.
    const unfinished = (await fx.client.results(batch)).filter((outcome) => outcome.status !== "COMPLETED").length;
    expect(unfinished, "tasks of the batch not yet run when the lone task completed").toBeGreaterThan(100);
    const results = await fx.client.results(batch, { wait: 60 });
    expect(results.every((outcome) => outcome.status === "COMPLETED" && outcome.value === "a"), "every task of the batch completes").toBe(true);
  });
});
