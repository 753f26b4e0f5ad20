/** Worker and dispatcher failures in pull and push mode: every task ends with the correct result, once. */
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { cliPath } from "../../system/paths.js";
import type { FaaSClient } from "../../system/client/index.js";
import { waitFor } from "../../harness/wait.js";
import { useCluster, waitForStatus } from "../support/cluster.js";
import { findLogged } from "../support/logs.js";
import { kill, killAll, killDispatcher, pause, recorded, template, type Recorded } from "../support/recorded.js";

const sleepThenDouble = async (ms: number, x: number) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return x * 2;
};
const workerOf = (executor: string | null) => (executor ?? "").split("/")[0];
/** Faster failure detection than the default 3 × 500 ms, with room for a busy 2-core machine. */
const fastHeartbeats = { heartbeatMs: 200, heartbeatTolerance: 3 };

/** Every check a fault scenario makes, over what the test recorded: all must pass. */
async function expectChecksPass(run: Recorded): Promise<void> {
  const results = await run.check();
  expect(results.filter((r) => r.verdict !== "pass").map((r) => `${r.name}: ${r.figure}; ${r.details.join("; ")}`)).toEqual([]);
}

const doubler = template("sleepThenDouble", sleepThenDouble);

/** Waits until the run has `count` tasks pending and every one of them is RUNNING. */
async function allRunning(run: Recorded, client: FaaSClient, count: number): Promise<void> {
  await waitFor(async () => run.workload.pending.size === count && (await Promise.all([...run.workload.pending].map((id) => client.status(id)))).every((s) => s === "RUNNING"), {
    what: `${count} tasks RUNNING`,
  });
}

describe.each(["pull", "push"] as const)("%s mode under faults", (mode) => {
  describe("a worker killed with -9 during long tasks", () => {
    const fx = useCluster({ mode, workers: { count: 2, executors: 2 }, dispatcher: fastHeartbeats });

    it("its tasks run again on the other worker and every task has the right result", async () => {
      const run = recorded(fx.cluster);
      const tasks = Array.from({ length: 4 }, (_, x) => run.run(doubler, [2000, x], x * 2));
      await allRunning(run, fx.client, 4);
      const running = await Promise.all([...run.workload.pending].map((id) => fx.client.task(id)));
      const victim = running[0].worker!;
      const index = fx.cluster.workers.findIndex((w) => victim.includes(`-${fx.cluster.process(w)!.pid}-`));
      await run.inject(kill(index));

      const taskIds = await Promise.all(tasks);
      for (const task of running.filter((t) => t.worker === victim)) {
        const after = await fx.client.task(task.task_id);
        expect(after.attempts).toBe(2);
        expect(workerOf(after.executor)).not.toBe(victim);
      }
      expect(taskIds).toHaveLength(4);
      await expectChecksPass(run);
    });
  });

  describe("every worker killed, then new ones started", () => {
    const fx = useCluster({ mode, workers: { count: 2, executors: 2 }, dispatcher: fastHeartbeats });

    it("tasks in flight and tasks queued meanwhile all complete on the new workers", async () => {
      const run = recorded(fx.cluster);
      const inFlight = Array.from({ length: 4 }, (_, x) => run.run(doubler, [1500, x], x * 2));
      await allRunning(run, fx.client, 4);
      await run.inject(killAll());
      const queued = Array.from({ length: 4 }, (_, x) => run.run(doubler, [10, x + 4], (x + 4) * 2));
      await fx.cluster.startWorker();
      await fx.cluster.startWorker();
      await Promise.all([...inFlight, ...queued]);
      await expectChecksPass(run);
    });
  });

  describe("a worker paused past the heartbeat timeout, then resumed", () => {
    const fx = useCluster({ mode, workers: { count: 1, executors: 1 }, dispatcher: fastHeartbeats });

    it("its task runs elsewhere, its late result is discarded, and it rejoins", async () => {
      const run = recorded(fx.cluster);
      const task = run.run(doubler, [3000, 21], 42); // long enough to outlast a second worker starting on a busy machine
      await waitFor(async () => run.workload.pending.size === 1 && (await fx.client.status([...run.workload.pending][0])) === "RUNNING", { what: "the task to be RUNNING" });
      const [taskId] = [...run.workload.pending];
      const paused = fx.cluster.workers[0];
      await fx.cluster.startWorker({ executors: 1 });
      // Paused for longer than it takes the task to run elsewhere; healed right after.
      const pausing = await run.inject(pause(0, 60_000));
      try {
        await task;
      } finally {
        await pausing.heal();
      }
      const recorded1 = await fx.client.task(taskId);
      expect(recorded1.attempts).toBe(2);
      // The paused worker finishes its copy and delivers it (perhaps twice: results are resent until acknowledged): the dispatcher discards it.
      await waitFor(() => findLogged(fx.cluster.logFile("dispatcher"), "late result discarded: the task already had one", { taskId }).length >= 1, {
        what: "the dispatcher to discard the paused worker's late result",
      });
      expect(await fx.client.task(taskId)).toEqual(recorded1);
      await waitFor(() => findLogged(fx.cluster.logFile(paused), "registered with the dispatcher").length >= 2, { what: "the resumed worker to register again" });
      // It serves again: with the other worker gone, tasks run on it.
      await run.inject(kill(1));
      await run.run(doubler, [10, 5], 10);
      await expectChecksPass(run);
    });
  });

  describe("the dispatcher killed with -9 and restarted during a run", () => {
    const fx = useCluster({ mode, workers: { count: 2, executors: 2 }, dispatcher: fastHeartbeats });

    it("every task completes once, with the right result", async () => {
      const run = recorded(fx.cluster);
      const tasks = Array.from({ length: 10 }, (_, x) => run.run(doubler, [800, x], x * 2));
      await waitFor(async () => (await Promise.all([...run.workload.pending].map((id) => fx.client.status(id)))).filter((s) => s === "RUNNING").length >= 4, {
        what: "4 tasks RUNNING",
      });
      const crash = await run.inject(killDispatcher(0));
      await crash.ended;
      await Promise.all(tasks);
      await expectChecksPass(run);
    });
  });

  describe("a task whose worker is lost max-attempts times", () => {
    const fx = useCluster({ mode, workers: { count: 1, executors: 1 }, dispatcher: { ...fastHeartbeats, maxAttempts: 1 } });

    it("fails with WorkerLost", async () => {
      const functionId = await fx.client.register(sleepThenDouble);
      const taskId = await fx.client.execute(functionId, 5000, 1);
      await waitForStatus(fx.client, taskId, "RUNNING");
      await recorded(fx.cluster).inject(kill(0));
      await fx.cluster.startWorker({ executors: 1 });
      const outcome = await fx.client.result(taskId, { wait: 20 });
      expect(outcome.status).toBe("FAILED");
      expect((outcome.value as Error).name).toBe("WorkerLost");
    });
  });
});

describe("worker tokens", () => {
  const fx = useCluster({ mode: "push", workers: { count: 1, executors: 1 }, workerToken: "s3cret" });

  it.each([
    ["a wrong token", ["--worker-token", "wrong"], "the worker token is wrong"],
    ["no token", [], "requires a worker token"],
  ])("a worker with %s is refused, told why, and exits with an error", async (_case, flags, reason) => {
    const worker = await execa(process.execPath, [cliPath, "push-worker", "1", fx.cluster.dispatcherEndpoint, ...flags], {
      reject: false, timeout: 15_000, env: { FAAS_WORKER_TOKEN: "" },
    });
    expect(worker.exitCode).toBe(2);
    expect(worker.stderr).toContain(reason);
  });

  it("a worker with the right token serves", async () => {
    expect(await fx.client.run((x: number) => x + 1, 1)).toBe(2);
  });

  it("a pull worker is refused by a push dispatcher", async () => {
    const worker = await execa(process.execPath, [cliPath, "pull-worker", "1", fx.cluster.dispatcherEndpoint, "--worker-token", "s3cret"], { reject: false, timeout: 15_000 });
    expect(worker.exitCode).toBe(2);
    expect(worker.stderr).toContain("runs in push mode");
  });
});
