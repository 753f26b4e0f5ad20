/**
 * GET /cluster (and the SDK's `cluster()`) on a live cluster in each mode: the dispatcher
 * and its workers with their capacity and load, task counts by state, recent failures, and
 * a killed worker leaving the snapshot within the heartbeat timeout. `faas status` prints it.
 */
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/wait.js";
import type { ClusterSnapshot } from "../../system/client/index.js";
import { useCluster, type ClusterFixture } from "../support/cluster.js";

const HEARTBEAT_MS = 200;
const TOLERANCE = 3;
const CLI = "dist/system/cli/main.js";

const busyFor = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return ms;
};

async function snapshotWhere(fx: ClusterFixture, holds: (snapshot: ClusterSnapshot) => boolean, what: string, timeoutMs = 20_000): Promise<ClusterSnapshot> {
  let last: ClusterSnapshot | undefined;
  return waitFor(async () => {
    last = await fx.client.cluster();
    return holds(last) ? last : undefined;
  }, { what: `${what} (last snapshot: ${JSON.stringify(last && { tasks: last.tasks, workers: last.workers, busy: last.busy })})`, timeoutMs });
}

describe.each([
  { mode: "local" as const, capacity: 3, workers: 1 },
  { mode: "push" as const, capacity: 4, workers: 2 },
  { mode: "pull" as const, capacity: 4, workers: 2 },
])("GET /cluster in $mode mode", ({ mode, capacity, workers }) => {
  const fx = useCluster({
    mode, executors: capacity, workers: { count: 2, executors: 2 }, executorIsolation: "thread",
    dispatcher: { heartbeatMs: HEARTBEAT_MS, heartbeatTolerance: TOLERANCE },
  });

  it("shows the dispatcher, in its mode, with each worker's capacity", async () => {
    const snapshot = await snapshotWhere(fx, (s) => s.workers.length === workers, `${workers} workers in the snapshot`);
    expect(snapshot.mode).toBe(mode);
    expect(snapshot.dispatchers).toHaveLength(1);
    const [dispatcher] = snapshot.dispatchers;
    expect(dispatcher).toMatchObject({ mode, heartbeatMs: HEARTBEAT_MS, heartbeatTolerance: TOLERANCE });
    if (mode !== "local") expect(dispatcher.endpoint).toBe(fx.cluster.dispatcherEndpoint);
    expect(snapshot.capacity).toBe(capacity);
    for (const worker of snapshot.workers) {
      expect(worker.dispatcherId).toBe(dispatcher.id);
      expect(worker.lastHeartbeatAt).toBeGreaterThan(Date.now() - 60_000);
    }
    if (mode !== "local") {
      // The workers are the harness's processes (a worker's id carries its pid).
      const pids = fx.cluster.workers.map((worker) => fx.cluster.process(worker)!.pid);
      expect(snapshot.workers.map((worker) => Number(worker.id.split("-").at(-2))).sort()).toEqual(pids.sort());
    }
  });

  it("counts tasks by state and lists the failures with their function and error", async () => {
    const before = await fx.client.cluster();
    const inc = await fx.client.register((x: number) => x + 1, "inc");
    const thrower = await fx.client.registerSource(`function thrower(tag) { throw new TypeError("bad input " + tag); }`, "thrower");
    const done = await fx.client.executeMany(inc, [[1], [2], [3], [4], [5]]);
    const failedA = await fx.client.execute(thrower, "a");
    const failedB = await fx.client.execute(thrower, "b");
    const results = await fx.client.results([...done, failedA, failedB], { wait: 30 });
    expect(results.map((result) => result.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "FAILED"]);

    // The counts move in the same step as the result: no wait needed.
    const after = await fx.client.cluster();
    expect(after.tasks.COMPLETED - before.tasks.COMPLETED).toBe(5);
    expect(after.tasks.FAILED - before.tasks.FAILED).toBe(2);
    expect([after.tasks.QUEUED, after.tasks.RUNNING, after.queueDepth]).toEqual([0, 0, 0]);
    const [newest, next] = after.recentFailures;
    expect([newest.taskId, next.taskId].sort()).toEqual([failedA, failedB].sort());
    for (const failure of [newest, next]) {
      expect(failure).toMatchObject({ functionId: thrower, functionName: "thrower", error: { name: "TypeError", message: expect.stringMatching(/^bad input [ab]$/) } });
    }
    expect(newest.at).toBeGreaterThanOrEqual(next.at);
  });

  it("shows every executor busy and the rest queued while long tasks run, and all idle after", async () => {
    const spin = await fx.client.register(busyFor, "busyFor");
    const taskIds = await fx.client.executeMany(spin, Array.from({ length: capacity + 3 }, () => [3000]));
    const loaded = await snapshotWhere(fx, (s) => s.busy === capacity && s.tasks.RUNNING === capacity && s.queueDepth === 3, `all ${capacity} executors busy and 3 tasks queued`);
    expect(loaded.workers.every((worker) => worker.busy === worker.capacity)).toBe(true);
    const results = await fx.client.results(taskIds, { wait: 60 });
    expect(results.every((result) => result.status === "COMPLETED")).toBe(true);
    await snapshotWhere(fx, (s) => s.busy === 0 && s.tasks.RUNNING === 0 && s.queueDepth === 0, "every executor idle again");
  });

  it("faas status prints the snapshot as tables, and --json as JSON", async () => {
    const snapshot = await fx.client.cluster();
    const table = await execa("node", [CLI, "status", "--api", fx.url]);
    expect(table.stdout).toContain(`${mode} mode, 1 dispatcher, ${workers} worker`);
    expect(table.stdout).toMatch(/tasks: queued \d+ {3}running \d+ {3}completed \d+ {3}failed \d+/);
    for (const worker of snapshot.workers) expect(table.stdout).toContain(worker.id);
    expect(table.stdout).toContain("bad input"); // the failures of the test before
    const json = JSON.parse((await execa("node", [CLI, "status", "--api", fx.url, "--json"])).stdout) as ClusterSnapshot;
    expect(json.workers.map((worker) => worker.id).sort()).toEqual(snapshot.workers.map((worker) => worker.id).sort());
  });

  // Local mode has no worker process to kill: its pool dies with its dispatcher.
  if (mode !== "local") it("a killed worker leaves the snapshot within the heartbeat timeout", async () => {
    const victim = fx.cluster.workers[0];
    const pid = fx.cluster.process(victim)!.pid!;
    const isVictim = (id: string) => id.split("-").at(-2) === String(pid);
    expect((await fx.client.cluster()).workers.some((worker) => isVictim(worker.id))).toBe(true);
    await fx.cluster.kill(victim);
    // Silent for heartbeat × tolerance, then gone from the next snapshot the dispatcher publishes.
    const gone = await snapshotWhere(fx, (s) => !s.workers.some((worker) => isVictim(worker.id)), `worker ${victim} (pid ${pid}) to leave the snapshot`, 10_000);
    expect(gone.workers).toHaveLength(1);
    expect(gone.capacity).toBe(2);
  });
});

describe("faas status without a cluster", () => {
  it("says the API cannot be reached, and exits 1", async () => {
    const result = await execa("node", [CLI, "status", "--api", "http://127.0.0.1:1"], { reject: false });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^faas status: cannot reach the API at http:\/\/127\.0\.0\.1:1/);
  });

  it("refuses an --api that is not a URL and a bad --watch, saying which", async () => {
    const bad = await execa("node", [CLI, "status", "--api", "localhost:8000"], { reject: false });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("--api must be an http(s) URL");
    const watch = await execa("node", [CLI, "status", "--watch", "0"], { reject: false });
    expect(watch.exitCode).not.toBe(0);
    expect(watch.stderr).toContain("--watch takes seconds");
  });
});
