/** What survives a crash: the dispatcher killed mid-task, and Redis going away and coming back. */
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { cliPath } from "../../system/paths.js";
import { waitFor } from "../../harness/wait.js";
import { connectRedis } from "../../system/store/redis.js";
import { keysFor } from "../../system/store/keys.js";
import { TaskQueue } from "../../system/store/queue.js";
import { http, useCluster, waitForStatus } from "../support/cluster.js";

const sleepThenDouble = async (x: number) => {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return x * 2;
};

describe("the dispatcher is killed with -9 while tasks run", () => {
  const fx = useCluster({ executors: 2, dispatcher: { heartbeatMs: 100, heartbeatTolerance: 3 } });

  it("its running and queued tasks are all completed, once each, by the next dispatcher", async () => {
    const functionId = await fx.client.register(sleepThenDouble);
    const taskIds = await Promise.all(Array.from({ length: 6 }, (_, x) => fx.client.execute(functionId, x)));
    await waitFor(async () => (await Promise.all(taskIds.map((id) => fx.client.status(id)))).filter((s) => s === "RUNNING").length === 2, {
      what: "two tasks to be RUNNING",
    });
    const runningBeforeCrash = [];
    for (const id of taskIds) if ((await fx.client.status(id)) === "RUNNING") runningBeforeCrash.push(id);

    await fx.cluster.kill("dispatcher", "SIGKILL");
    await fx.cluster.startDispatcher();

    const values = await Promise.all(taskIds.map((id) => fx.client.valueOf(id)));
    expect(values).toEqual([0, 2, 4, 6, 8, 10]);
    for (const id of runningBeforeCrash) {
      expect((await fx.client.task(id)).attempts, `task ${id} was re-run once`).toBe(2);
    }
  });
});

describe("a task whose dispatcher is lost max-attempts times", () => {
  const fx = useCluster({ executors: 1, dispatcher: { heartbeatMs: 100, heartbeatTolerance: 3, maxAttempts: 1 } });

  it("fails with WorkerLost instead of running again", async () => {
    const functionId = await fx.client.register(sleepThenDouble);
    const taskId = await fx.client.execute(functionId, 1);
    await waitForStatus(fx.client, taskId, "RUNNING");
    await fx.cluster.kill("dispatcher", "SIGKILL");
    await fx.cluster.startDispatcher();
    const outcome = await fx.client.result(taskId, { wait: 20 });
    expect(outcome.status).toBe("FAILED");
    expect((outcome.value as Error).name).toBe("WorkerLost");
  });
});

describe("a task read with its record whose claim then fails (its attempts used up)", () => {
  const fx = useCluster({ executors: 1, startDispatcher: false, dispatcher: { maxAttempts: 1 } });

  it("fails with WorkerLost: the run the local dispatcher started while claiming it is discarded", async () => {
    const functionId = await fx.client.register((x: number) => x * 2);
    const taskId = await fx.client.execute(functionId, 21);
    // As if it had run once already: its one attempt is used up, which only the claim finds out.
    const redis = connectRedis(fx.cluster.redisUrl, "working");
    try {
      await redis.hset(keysFor().task(taskId), "attempts", "1");
    } finally {
      redis.disconnect();
    }
    await fx.cluster.startDispatcher();
    const outcome = await fx.client.result(taskId, { wait: 20 });
    expect(outcome.status).toBe("FAILED");
    expect((outcome.value as Error).name).toBe("WorkerLost");
    expect((await fx.client.task(taskId)).attempts).toBe(1);
  });
});

describe("Redis goes away and comes back", () => {
  const fx = useCluster({ executors: 1 });

  it("the API answers 503 with Retry-After meanwhile, nothing crashes, and service resumes by itself", async () => {
    const before = await fx.client.register((x: number) => x + 1);
    await fx.cluster.kill("redis", "SIGKILL");

    const health = await http(fx.url, "GET", "/healthz");
    expect(health.status).toBe(503);
    expect(health.headers.get("retry-after")).toBe("1");
    expect(health.body.code).toBe("REDIS_UNAVAILABLE");
    const execute = await http(fx.url, "POST", "/execute_function", { function_id: before, payload: "[[]]" });
    expect(execute.status).toBe(503);
    expect(execute.body).toMatchObject({ code: "REDIS_UNAVAILABLE", error: expect.any(String) });

    await fx.cluster.restart("redis");
    await waitFor(async () => (await http(fx.url, "GET", "/healthz")).status === 200, { what: "the API to see Redis again" });
    // This Redis keeps nothing on disk, so the cluster starts afresh, and must serve.
    expect(await fx.client.run((x: number) => x + 1, 41)).toBe(42);
    expect(fx.cluster.process("api")?.running).toBe(true);
    expect(fx.cluster.process("dispatcher")?.running).toBe(true);
  });

  it("a dispatcher busy through the restart (not inside a read) finds the queue made anew and serves", async () => {
    const slow = await fx.client.register(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return "slow";
    });
    const held = await fx.client.execute(slow);
    await waitForStatus(fx.client, held, "RUNNING");
    // Its only executor is busy: the dispatcher waits for capacity, not on Redis, while Redis restarts empty.
    await fx.cluster.kill("redis", "SIGKILL");
    await fx.cluster.restart("redis");
    await waitFor(async () => (await http(fx.url, "GET", "/healthz")).status === 200, { what: "the API to see Redis again" });
    expect(await fx.client.run((x: number) => x * 2, 21)).toBe(42);
  });
});

describe.each(["local", "push"] as const)("%s: a queue read whose reply was lost with the Redis connection", (mode) => {
  const fx = useCluster({ mode, executors: 1, workers: { count: 1, executors: 1 } });
  const redis = () => connectRedis(fx.cluster.redisUrl, "working");
  const connections: ReturnType<typeof redis>[] = [];
  afterAll(() => connections.forEach((connection) => connection.disconnect()));

  it("leaves the task in the dispatcher's pending list only; after reconnecting, the dispatcher finds and runs it", async () => {
    const admin = redis();
    connections.push(admin);
    const functionId = await fx.client.register((x: number) => x * 3);
    expect(await fx.client.run((x: number) => x, 1)).toBe(1);
    const [consumer] = (await admin.keys("faas:dispatcher:*")).map((key) => key.slice("faas:dispatcher:".length));
    expect(consumer, "the dispatcher's liveness key").toBeDefined();

    // While the dispatcher is stopped, Redis drops its connections (and its blocked read), and
    // its next read is made for it with the reply going nowhere: what a read does when its
    // connection drops before the reply arrives.
    fx.cluster.pause("dispatcher");
    let taskId: string;
    try {
      await admin.client("KILL", "TYPE", "normal", "SKIPME", "yes");
      taskId = await waitFor(() => fx.client.execute(functionId, 14), { what: "the API to accept a task after its Redis connection was dropped" });
      const blocking = redis();
      connections.push(blocking);
      const delivered = await new TaskQueue(keysFor(), blocking, admin, consumer).take({ total: 10, byRuntime: { javascript: 10 } }, 100, true);
      expect(delivered.map((entry) => entry.taskId)).toContain(taskId);
    } finally {
      fx.cluster.resume("dispatcher");
    }
    expect(await fx.client.valueOf(taskId, 20)).toBe(42);
    expect((await fx.client.task(taskId)).attempts).toBe(1);
  });
});

describe("Ctrl-C on a local dispatcher while a task runs", () => {
  const fx = useCluster({ executors: 1, startDispatcher: false });

  it("the task completes: Ctrl-C reaches the dispatcher's process group, not its executor host, so the graceful stop lets the task finish", async () => {
    // A dispatcher started as from a terminal: its own process group, which Ctrl-C signals whole.
    const dispatcher = execa(process.execPath, [cliPath, "dispatcher", "-m", "local", "-w", "1", "--redis", fx.cluster.redisUrl], {
      detached: true, reject: false, all: true, buffer: true,
      // Should this test die before its finally, the dispatcher sees it gone and exits.
      env: { FAAS_PARENT_PID: String(process.pid) },
    });
    try {
      let output = "";
      dispatcher.all!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      await waitFor(() => output.includes('"event":"ready"'), { what: "the dispatcher's ready line" });
      const functionId = await fx.client.register(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return 7;
      });
      const taskId = await fx.client.execute(functionId);
      await waitForStatus(fx.client, taskId, "RUNNING");
      process.kill(-dispatcher.pid!, "SIGINT");
      const exit = await dispatcher;
      expect(exit.exitCode, output).toBe(0);
      expect(await fx.client.result(taskId)).toMatchObject({ status: "COMPLETED", value: 7 });
    } finally {
      try {
        process.kill(-dispatcher.pid!, "SIGKILL");
      } catch {
        /* the group is gone */
      }
    }
  });
});
