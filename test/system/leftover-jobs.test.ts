/**
 * Promise jobs a function left queued when it returned must run in its own time, never inside
 * another task's (issue 14, defect 3): on a local cluster with one executor, every task runs
 * on the same thread, so a leftover chain ending in an endless loop would otherwise make an
 * unrelated function's later task miss its deadline.
 */
import { describe, expect, it } from "vitest";
import { useCluster } from "../support/cluster.js";

describe("a function's leftover promise jobs, on a local cluster with one executor", () => {
  const fx = useCluster({ mode: "local", executors: 1 });

  it("run in the function's own time: it fails with DeadlineExceeded, and another function's 8 later tasks all complete", async () => {
    // Returns at once, leaving a chain of jobs whose last one never ends.
    const culprit = await fx.client.registerSource(`() => {
      let chain = Promise.resolve();
      for (let i = 0; i < 20; i++) chain = chain.then(() => {});
      chain.then(() => { for (;;) {} });
      return "returned";
    }`, "leaves-a-loop");
    const victim = await fx.client.registerSource("(n) => n * 2", "victim");
    const culpritId = await fx.client.executeWith(culprit, [], { deadlineMs: 1500 });
    const culpritOutcome = await fx.client.result(culpritId, { wait: 30 });
    const victims: unknown[] = [];
    for (let n = 0; n < 8; n++) {
      const id = await fx.client.executeWith(victim, [n], { deadlineMs: 3000 });
      const outcome = await fx.client.result(id, { wait: 30 });
      victims.push(outcome.status === "COMPLETED" ? outcome.value : `${outcome.status} ${(outcome.value as Error)?.name}: ${(outcome.value as Error)?.message}`);
    }
    expect(victims).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    expect(culpritOutcome.status).toBe("FAILED");
    expect((culpritOutcome.value as Error).name).toBe("DeadlineExceeded");
  });
});
