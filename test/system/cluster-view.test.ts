/**
 * GET /cluster (and the SDK's `cluster()`) on a live cluster in each mode: the dispatcher
 * and its workers with their capacity and load, task counts by state, recent failures, and
 * a killed worker leaving the snapshot within the heartbeat timeout. `faas status` prints it.
 */
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/wait.js";
import type { ClusterSnapshot } from "../../system/client/index.js";
import { Redis } from "ioredis";
import { http, useCluster, type ClusterFixture } from "../support/cluster.js";

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

  it("faas status prints the snapshot as tables, user text made harmless, and --json as JSON", async () => {
    // A name and an error with terminal escape sequences in them: printed, they must not reach the terminal.
    const escaping = await fx.client.registerSource(`function escaping() { throw new Error("\\u001b]0;owned\\u0007red \\u001b[31mtext"); }`, "esc\u001b[2Jname");
    const failed = await fx.client.execute(escaping);
    expect((await fx.client.result(failed, { wait: 30 })).status).toBe("FAILED");
    const snapshot = await fx.client.cluster();
    const table = await execa("node", [CLI, "status", "--api", fx.url]);
    expect(table.stdout).toContain(`${mode} mode, 1 dispatcher, ${workers} worker`);
    expect(table.stdout).toMatch(/tasks: queued \d+ {3}running \d+ {3}completed \d+ {3}failed \d+/);
    for (const worker of snapshot.workers) expect(table.stdout).toContain(worker.id);
    expect(table.stdout).toContain(failed);
    expect(table.stdout).toContain("esc?[2Jname");
    expect(table.stdout).toContain("Error: ?]0;owned?red ?[31mtext");
    expect(table.stdout).not.toContain("\u001b");
    const json = JSON.parse((await execa("node", [CLI, "status", "--api", fx.url, "--json"])).stdout) as ClusterSnapshot;
    expect(json.workers.map((worker) => worker.id).sort()).toEqual(snapshot.workers.map((worker) => worker.id).sort());
  });

  it("faas status --watch --json writes one snapshot per line until Ctrl-C, then exits 0 at once", async () => {
    const watching = execa("node", [CLI, "status", "--api", fx.url, "--watch", "0.2", "--json"], { reject: false });
    const lines: ClusterSnapshot[] = [];
    let buffered = "";
    watching.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
        lines.push(JSON.parse(buffered.slice(0, end)) as ClusterSnapshot);
        buffered = buffered.slice(end + 1);
      }
    });
    try {
      await waitFor(() => lines.length >= 3, { what: "three snapshots from faas status --watch", timeoutMs: 15_000 });
      watching.kill("SIGINT");
      const ended = await watching;
      expect(ended.exitCode).toBe(0);
      expect(lines.every((line) => line.mode === mode)).toBe(true);
      expect(lines[2].at).toBeGreaterThan(lines[0].at);
    } finally {
      watching.kill("SIGKILL");
    }
  });

  // Local mode has no worker process to kill: its pool dies with its dispatcher.
  if (mode !== "local") it("a killed worker leaves the snapshot within the heartbeat timeout", async () => {
    const victim = fx.cluster.workers[0];
    const pid = fx.cluster.process(victim)!.pid!;
    const isVictim = (id: string) => id.split("-").at(-2) === String(pid);
    expect((await fx.client.cluster()).workers.some((worker) => isVictim(worker.id))).toBe(true);
    await fx.cluster.kill(victim);
    // Silent for heartbeat × tolerance, then gone from the next snapshot the dispatcher publishes.
    // (The other worker must be there: a snapshot briefly without any would say nothing.)
    const gone = await snapshotWhere(fx, (s) => s.workers.length === 1 && !s.workers.some((worker) => isVictim(worker.id)), `worker ${victim} (pid ${pid}) to leave the snapshot, the other staying`, 10_000);
    expect(gone.capacity).toBe(2);
  });

  // Last: it leaves Redis down.
  if (mode === "local") it("answers 503 with a JSON error, at once, while Redis is down", async () => {
    await fx.cluster.kill("redis");
    const started = Date.now();
    const response = await http(fx.url, "GET", "/cluster");
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ code: "REDIS_UNAVAILABLE", error: expect.any(String) });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("faas recount", () => {
  const fx = useCluster({ mode: "local", executors: 1, executorIsolation: "thread" });

  it("sets the counts from the tasks when they were left wrong", async () => {
    const inc = await fx.client.register((x: number) => x + 1, "inc");
    const taskIds = await fx.client.executeMany(inc, [[1], [2], [3]]);
    await fx.client.results(taskIds, { wait: 30 });
    const redis = new Redis(fx.cluster.redisUrl);
    try {
      await redis.hset("faas:counts", { QUEUED: 17, COMPLETED: 0 });
      expect((await fx.client.cluster()).tasks).toMatchObject({ QUEUED: 17, COMPLETED: 0 });
      const recount = await execa("node", [CLI, "recount", "--redis", fx.cluster.redisUrl]);
      expect(recount.stdout).toBe("QUEUED 0, RUNNING 0, COMPLETED 3, FAILED 0");
      expect((await fx.client.cluster()).tasks).toEqual({ QUEUED: 0, RUNNING: 0, COMPLETED: 3, FAILED: 0 });
    } finally {
      redis.disconnect();
    }
  });

  it("says why when Redis cannot be reached, and exits 1", async () => {
    const result = await execa("node", [CLI, "recount", "--redis", "redis://127.0.0.1:1"], { reject: false });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("could not recount the tasks at redis://127.0.0.1:1: connect ECONNREFUSED");
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
