/** The task transitions, each one Lua script, against a real redis-server. */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { serialize } from "../../system/codec/index.js";
import { TaskQueue } from "../../system/store/queue.js";
import { FunctionBusyError, TaskStore } from "../../system/store/store.js";
import { serializedTaskError, taskErrorForEach } from "../../system/task.js";
import { useRedis } from "../support/redis.js";
import { waitFor } from "../../harness/wait.js";
import { ClusterReader } from "../../system/status/read.js";
import { RECENT_FAILURES } from "../../system/store/keys.js";

const redis = useRedis();
const workerLost = taskErrorForEach("WorkerLost", "lost");
/** What GET /cluster shows, read by a new reader (which remembers nothing of earlier reads). */
const snapshotOf = (store: TaskStore) => new ClusterReader(store.redis, store.keys).read();

/** What finishTask answers when its result is the one recorded. */
const recorded = { createdAt: expect.any(Number), startedAt: expect.any(Number), finishedAt: expect.any(Number) };
/** How many tasks of a function are accepted and not yet finished, as the transition scripts count them. */
const unfinishedOf = async (store: TaskStore, functionId: string) => Number((await store.redis.get(store.keys.unfinished(functionId))) ?? 0);

/** Room for `n` tasks of any runtime. */
const room = (n: number) => ({ total: n, byRuntime: { javascript: n, python: n } });

/** A store and queue under a prefix of their own, so the tests do not see each other's tasks. */
async function setup(consumer = "d1") {
  const prefix = `t-${randomUUID().slice(0, 8)}:`;
  const store = new TaskStore(redis.connect(), { prefix });
  const queue = new TaskQueue(store.keys, redis.connect(), store.redis, consumer);
  await queue.ensureGroup();
  const functionId = await store.registerFunction("add", "(a, b) => a + b");
  return { store, queue, functionId, prefix };
}

describe("task store", () => {
  it("submitTask stores a QUEUED task with its timestamps and queues it; tasks queued before the group exists are delivered", async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}:`;
    const store = new TaskStore(redis.connect(), { prefix });
    const functionId = await store.registerFunction("add", "(a, b) => a + b");
    const taskId = (await store.submitTask(functionId, serialize([1, 2]), 500))!;
    const task = await store.getTask(taskId);
    expect(task).toMatchObject({ status: "QUEUED", function_id: functionId, attempts: 0, deadline_ms: 500, result: null, started_at: null });
    expect(task!.created_at).toBeGreaterThan(Date.now() - 60_000);

    const queue = new TaskQueue(store.keys, redis.connect(), store.redis, "late-dispatcher");
    await queue.ensureGroup();
    expect(await queue.take(room(10), 100, false)).toEqual([{ entryId: expect.any(String), taskId }]);
  });

  it("takeTasks serves the functions with waiting tasks in turn: a task waits behind its own function's backlog, not another's", async () => {
    const { store, queue, functionId: batch } = await setup();
    const other = await store.registerFunction("other", "() => 1");
    const third = await store.registerFunction("third", "() => 3");
    const batchTasks = (await store.submitTasks(batch, Array.from({ length: 1000 }, (_, i) => serialize([i, i]))))!;
    const [lone] = (await store.submitTasks(other, [serialize([])]))!;
    const thirdTasks = (await store.submitTasks(third, [serialize([]), serialize([])]))!;
    // Taken one at a time, as an idle dispatcher with one free executor does.
    const order: string[] = [];
    for (let i = 0; i < 6; i++) order.push(...(await queue.take(room(1), 50, false)).map((entry) => entry.taskId));
    expect(order).toEqual([batchTasks[0], lone, thirdTasks[0], batchTasks[1], thirdTasks[1], batchTasks[2]]);
    // Within a function, first in first out; a function with nothing left leaves the ring.
    const rest = await queue.take(room(2000), 50, true);
    expect(rest.map((entry) => entry.taskId)).toEqual(batchTasks.slice(3));
    expect(rest[0].task).toMatchObject({ status: "QUEUED", functionId: batch, args: serialize([3, 3]) });
    expect(await store.redis.exists(store.keys.ready("javascript"), store.keys.waiting(batch), store.keys.waiting(other), store.keys.waiting(third))).toBe(0);
    // Every task taken is an entry delivered to this dispatcher, and the task knows its entry.
    expect((await queue.readOwnPending()).length).toBe(1003);
    expect(await store.redis.hget(store.keys.task(lone), "entry_id")).toMatch(/^\d+-\d+$/);
  });

  it("a function's runtime goes with its tasks: a Python task is taken only with room for Python, and its WorkerLost is a pickled built-in exception", async () => {
    const { store, queue, functionId: js } = await setup();
    const py = await store.registerFunction("double", "ZmFrZQ==", "python");
    expect(await store.getFunction(py)).toEqual({ source: "ZmFrZQ==", runtime: "python" });
    expect(await store.getFunction(js)).toEqual({ source: "(a, b) => a + b", runtime: "javascript" });
    const [pyTask] = (await store.submitTasks(py, ["cGF5bG9hZA=="]))!;
    const jsTask = (await store.submitTask(js, serialize([1, 2])))!;
    expect(await store.redis.lrange(store.keys.ready("python"), 0, -1)).toEqual([py]);
    // No room for Python: only the JavaScript task is taken; the Python one stays QUEUED in Redis.
    const jsOnly = await queue.take({ total: 5, byRuntime: { javascript: 5 } }, 20, true);
    expect(jsOnly.map((entry) => [entry.taskId, entry.runtime])).toEqual([[jsTask, "javascript"]]);
    expect(await queue.take({ total: 5, byRuntime: { javascript: 5 } }, 20, true)).toEqual([]);
    const [taken] = await queue.take({ total: 5, byRuntime: { javascript: 5, python: 1 } }, 20, true);
    expect(taken).toMatchObject({ taskId: pyTask, runtime: "python", task: { functionId: py, args: "cGF5bG9hZA==", runtime: "python" } });
    expect(await store.claimTask(pyTask, "d1", 1, workerLost)).toMatchObject({ claimed: true, runtime: "python" });
    expect(await store.claimTask(pyTask, "d1", 1, workerLost)).toEqual({ claimed: false, reason: "attempts-exhausted" });
    expect(await store.getTask(pyTask)).toMatchObject({ status: "FAILED", result: workerLost.python });
  });

  it("the runtimes take turns as the functions do, within each runtime's room and the total", async () => {
    const { store, queue, functionId: js } = await setup();
    const py = await store.registerFunction("double", "ZmFrZQ==", "python");
    const jsTasks = (await store.submitTasks(js, Array.from({ length: 4 }, () => serialize([1, 2]))))!;
    const pyTasks = (await store.submitTasks(py, Array.from({ length: 4 }, () => "cGF5bG9hZA==")))!;
    const taken = await queue.take({ total: 3, byRuntime: { javascript: 3, python: 3 } }, 20, false);
    expect(taken.map((entry) => entry.taskId)).toEqual([jsTasks[0], pyTasks[0], jsTasks[1]]);
    const pythonCapped = await queue.take({ total: 4, byRuntime: { javascript: 4, python: 1 } }, 20, false);
    expect(pythonCapped.map((entry) => entry.taskId)).toEqual([jsTasks[2], pyTasks[1], jsTasks[3]]);
  });

  it("a take waits for a task to be submitted, and returns nothing once its wait ends", async () => {
    const { store, queue, functionId } = await setup();
    expect(await queue.take(room(5), 50, false)).toEqual([]);
    const waiting = queue.take(room(5), 10_000, false);
    const taskId = (await store.submitTask(functionId, serialize([1, 2])))!;
    expect((await waiting).map((entry) => entry.taskId)).toEqual([taskId]);
  });

  it("submitTask refuses an unknown function and stores nothing", async () => {
    const { store, queue } = await setup();
    expect(await store.submitTask(randomUUID(), serialize([]))).toBeNull();
    expect(await queue.take(room(10), 50, false)).toEqual([]);
  });

  it("claimTask: QUEUED -> RUNNING, counting attempts and naming the worker", async () => {
    const { store, queue, functionId } = await setup();
    const taskId = (await store.submitTask(functionId, serialize([1, 2])))!;
    await queue.take(room(1), 100, false);
    const claim = await store.claimTask(taskId, "d1", 3, workerLost);
    expect(claim).toEqual({ claimed: true, functionId, args: serialize([1, 2]), deadlineMs: null, attempts: 1, runtime: "javascript" });
    expect(await store.getTask(taskId)).toMatchObject({ status: "RUNNING", attempts: 1, worker: "d1" });
  });

  it("finishTask records the result once; a second (late) result is discarded", async () => {
    const { store, queue, functionId } = await setup();
    const taskId = (await store.submitTask(functionId, serialize([1, 2])))!;
    await queue.take(room(1), 100, false);
    await store.claimTask(taskId, "d1", 3, workerLost);
    expect(await store.finishTask({ taskId, status: "COMPLETED", result: serialize(3), executor: "d1/thread-1" })).toEqual(recorded);
    expect(await store.finishTask({ taskId, status: "FAILED", result: serialize(new Error("late")), executor: "d2/thread-1" })).toBeNull();
    const task = await store.getTask(taskId);
    expect(task).toMatchObject({ status: "COMPLETED", result: serialize(3), executor: "d1/thread-1" });
    expect(task!.finished_at).toBeGreaterThanOrEqual(task!.started_at!);
    expect(await store.getOutcome(taskId)).toEqual({ status: "COMPLETED", result: serialize(3) });
  });

  it("a finished task leaves the queue: nothing is pending afterwards", async () => {
    const { store, queue, functionId } = await setup();
    const taskId = (await store.submitTask(functionId, serialize([])))!;
    await queue.take(room(1), 100, false);
    await store.claimTask(taskId, "d1", 3, workerLost);
    await store.finishTask({ taskId, status: "FAILED", result: serialize(new Error("x")), executor: "d1" });
    expect(await store.redis.xlen(store.keys.queue)).toBe(0);
    const [, , , pending] = (await store.redis.xpending(store.keys.queue, store.keys.group)) as unknown[];
    expect(pending).toBeNull();
  });

  it("a task keeps its queue entry's id: claims and results name the task alone, and a finished task's entry is gone", async () => {
    const { store, queue, functionId } = await setup();
    const [taskId] = (await store.submitTasks(functionId, [serialize([1, 2])]))!;
    const [entry] = await queue.take(room(1), 100, false);
    expect(await store.redis.hget(store.keys.task(taskId), "entry_id")).toBe(entry.entryId);
    // The record the API shows does not carry it: it is the store's business.
    expect(await store.getTask(taskId)).not.toHaveProperty("entry_id");
    await store.claimTask(taskId, "d1", 3, workerLost);
    await store.finishTask({ taskId, status: "COMPLETED", result: serialize(3), executor: "d1" });
    expect(await store.redis.xlen(store.keys.queue)).toBe(0);
  });

  it("claimTask of a task that is gone says so; its entry is dropped by the id its dispatcher read", async () => {
    const { store, queue, functionId } = await setup();
    const taskId = (await store.submitTask(functionId, serialize([])))!;
    const [entry] = await queue.take(room(1), 100, false);
    await store.redis.del(store.keys.task(taskId));
    expect(await store.claimTask(taskId, "d1", 3, workerLost)).toEqual({ claimed: false, reason: "missing" });
    expect(await store.finishTask({ taskId, status: "COMPLETED", result: serialize(1), executor: "d1" })).toBeNull();
    await store.dropEntry(entry.entryId!);
    expect(await store.redis.xlen(store.keys.queue)).toBe(0);
    expect(await queue.readOwnPending()).toEqual([]);
  });

  it("claimTask of a terminal task drops the entry and leaves the task as it was", async () => {
    const { store, queue, functionId } = await setup();
    const taskId = (await store.submitTask(functionId, serialize([])))!;
    await queue.take(room(1), 100, false);
    await store.claimTask(taskId, "d1", 3, workerLost);
    await store.finishTask({ taskId, status: "COMPLETED", result: serialize(1), executor: "d1" });
    expect(await store.claimTask(taskId, "d2", 3, workerLost)).toEqual({ claimed: false, reason: "terminal" });
    expect(await store.getTask(taskId)).toMatchObject({ status: "COMPLETED", attempts: 1, worker: "d1" });
  });

  it("a RUNNING task whose dispatcher died is taken over by another and re-run, never moving backwards", async () => {
    const { store, queue, functionId } = await setup("dead");
    const taskId = (await store.submitTask(functionId, serialize([])))!;
    const [entry] = await queue.take(room(1), 100, false);
    await store.claimTask(taskId, "dead", 3, workerLost);
    // "dead" never refreshed a liveness key; "alive" has one.
    const alive = new TaskQueue(store.keys, redis.connect(), store.redis, "alive");
    await alive.heartbeat(10_000);
    expect(await alive.reclaimFromDeadConsumers()).toEqual([{ entryId: entry.entryId, taskId }]);
    expect(await store.claimTask(taskId, "alive", 3, workerLost)).toMatchObject({ claimed: true, attempts: 2 });
    expect(await store.getTask(taskId)).toMatchObject({ status: "RUNNING", attempts: 2, worker: "alive" });
  });

  it("a live dispatcher's tasks are not taken over", async () => {
    const { store, queue, functionId } = await setup("busy");
    await queue.heartbeat(10_000);
    const taskId = (await store.submitTask(functionId, serialize([])))!;
    await queue.take(room(1), 100, false);
    await store.claimTask(taskId, "busy", 3, workerLost);
    const other = new TaskQueue(store.keys, redis.connect(), store.redis, "other");
    expect(await other.reclaimFromDeadConsumers()).toEqual([]);
  });

  it("claimTask fails a task with WorkerLost once it was started max-attempts times", async () => {
    const { store, queue, functionId } = await setup();
    const taskId = (await store.submitTask(functionId, serialize([])))!;
    await queue.take(room(1), 100, false);
    for (let attempt = 1; attempt <= 2; attempt++) {
      expect(await store.claimTask(taskId, "d1", 2, workerLost)).toMatchObject({ claimed: true, attempts: attempt });
    }
    expect(await store.claimTask(taskId, "d1", 2, workerLost)).toEqual({ claimed: false, reason: "attempts-exhausted" });
    expect(await store.getTask(taskId)).toMatchObject({ status: "FAILED", result: workerLost.javascript, attempts: 2 });
  });

  it("a function's unfinished count goes up on submit and down on each first terminal transition; past its bound, submissions throw and store nothing", async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}:`;
    const store = new TaskStore(redis.connect(), { prefix, maxUnfinishedPerFunction: 3 });
    const queue = new TaskQueue(store.keys, redis.connect(), store.redis, "d1");
    await queue.ensureGroup();
    const functionId = await store.registerFunction("add", "(a, b) => a + b");
    const [first, second] = (await store.submitTasks(functionId, [serialize([1, 2]), serialize([3, 4])]))!;
    await store.submitTask(functionId, serialize([5, 6]));
    expect(await unfinishedOf(store, functionId)).toBe(3);
    await expect(store.submitTask(functionId, serialize([7, 8]))).rejects.toBeInstanceOf(FunctionBusyError);
    await expect(store.submitTasks(functionId, [serialize([9, 9])])).rejects.toBeInstanceOf(FunctionBusyError);
    expect(await queue.take(room(10), 100, false)).toHaveLength(3);

    const entries = await queue.take(room(10), 50, false);
    expect(entries).toEqual([]);
    await store.claimTask(first, "d1", 3, workerLost);
    expect(await store.finishTask({ taskId: first, status: "COMPLETED", result: serialize(3), executor: "d1" })).toEqual(recorded);
    // A late second result does not count down twice.
    expect(await store.finishTask({ taskId: first, status: "FAILED", result: serialize(new Error("late")), executor: "d2" })).toBeNull();
    expect(await unfinishedOf(store, functionId)).toBe(2);
    // claimTask's WorkerLost is a terminal transition too (max attempts 0: fails at once).
    expect(await store.claimTask(second, "d1", 0, workerLost)).toEqual({ claimed: false, reason: "attempts-exhausted" });
    expect(await unfinishedOf(store, functionId)).toBe(1);
    expect(await store.submitTask(functionId, serialize([7, 8]))).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("submitTask run twice with the same task id (a resend after a lost reply) stores and counts the task once", async () => {
    const { store, functionId } = await setup();
    const taskId = randomUUID();
    const run = () => (store.redis as unknown as Record<string, (...args: (string | number)[]) => Promise<number>>).submitTask(
      store.keys.function(functionId), store.keys.task(taskId), store.keys.waiting(functionId), store.keys.unfinished(functionId), store.keys.counts,
      taskId, functionId, serialize([1, 2]), "", 0, store.keys.readyPrefix, store.keys.submitted,
    );
    const created = await run();
    expect(await run()).toBe(created);
    expect(await unfinishedOf(store, functionId)).toBe(1);
    expect(await store.redis.lrange(store.keys.waiting(functionId), 0, -1)).toEqual([taskId]);
    expect(await store.redis.lrange(store.keys.ready("javascript"), 0, -1)).toEqual([functionId]);
    expect((await snapshotOf(store)).tasks.QUEUED).toBe(1);
  });

  it("the task counts by state move with every transition, once per task, and failures are listed newest first", async () => {
    const { store, queue, functionId } = await setup();
    const counts = async () => (await snapshotOf(store)).tasks;
    const [first, second] = (await store.submitTasks(functionId, [serialize([1, 2]), serialize([3, 4])]))!;
    const third = (await store.submitTask(functionId, serialize([5, 6])))!;
    expect(await counts()).toEqual({ QUEUED: 3, RUNNING: 0, COMPLETED: 0, FAILED: 0 });
    expect(await queue.take(room(10), 100, false)).toHaveLength(3);

    await store.claimTask(first, "d1", 3, workerLost);
    expect(await counts()).toEqual({ QUEUED: 2, RUNNING: 1, COMPLETED: 0, FAILED: 0 });
    // A re-run (claimed again after its worker was lost) stays one RUNNING task.
    await store.claimTask(first, "d2", 3, workerLost);
    expect(await counts()).toEqual({ QUEUED: 2, RUNNING: 1, COMPLETED: 0, FAILED: 0 });
    await store.finishTask({ taskId: first, status: "COMPLETED", result: serialize(3), executor: "d2" });
    // A late result changes nothing.
    await store.finishTask({ taskId: first, status: "FAILED", result: serialize(new Error("late")), executor: "d1" });
    expect(await counts()).toEqual({ QUEUED: 2, RUNNING: 0, COMPLETED: 1, FAILED: 0 });
    // WorkerLost straight from QUEUED (max attempts 0), and a failure recorded without a claim.
    await store.claimTask(second, "d1", 0, workerLost);
    await store.finishTask({ taskId: third, status: "FAILED", result: serializedTaskError("ExecutorCrashed", "gone"), executor: "d1" });
    expect(await counts()).toEqual({ QUEUED: 0, RUNNING: 0, COMPLETED: 1, FAILED: 2 });

    const snapshot = await snapshotOf(store);
    expect(snapshot.queueDepth).toBe(0);
    expect(snapshot.recentFailures).toEqual([
      { taskId: third, functionId, functionName: "add", at: expect.any(Number), worker: "d1", error: { name: "ExecutorCrashed", message: "gone" } },
      { taskId: second, functionId, functionName: "add", at: expect.any(Number), worker: "d1", error: { name: "WorkerLost", message: "lost" } },
    ]);
  });

  it("recent failures keep the latest ones; an error too large for the list is read from its task and cut for display", async () => {
    const { store, queue, functionId } = await setup();
    const fail = async (message: string) => {
      const taskId = (await store.submitTask(functionId, serialize([])))!;
      await queue.take(room(1), 100, false);
      await store.finishTask({ taskId, status: "FAILED", result: serialize(new RangeError(message)), executor: "w" });
      return taskId;
    };
    for (let i = 0; i < RECENT_FAILURES + 5; i++) await fail(`failure ${i}`);
    expect(await store.redis.llen(store.keys.failures)).toBe(RECENT_FAILURES);
    const large = await fail("x".repeat(10_000));
    const [newest, next] = (await snapshotOf(store)).recentFailures;
    expect(newest.taskId).toBe(large);
    expect(newest.error!.name).toBe("RangeError");
    expect(newest.error!.message).toBe(`${"x".repeat(500)}…`);
    expect(next.error).toEqual({ name: "RangeError", message: `failure ${RECENT_FAILURES + 4}` });
    // A reader decodes a failure once: after the task has expired, it still shows what it read.
    const reader = new ClusterReader(store.redis, store.keys);
    expect((await reader.read()).recentFailures[0].error!.name).toBe("RangeError");
    await store.redis.del(store.keys.task(large));
    expect((await reader.read()).recentFailures[0].error!.name).toBe("RangeError");
    // A reader that never saw it finds the error gone with its task: the failure is still listed.
    expect((await snapshotOf(store)).recentFailures[0]).toMatchObject({ taskId: large, error: null });
  });

  it("WorkerLost from RUNNING (started max-attempts times, each time lost) moves the task from RUNNING to FAILED", async () => {
    const { store, queue, functionId } = await setup();
    const taskId = (await store.submitTask(functionId, serialize([])))!;
    await queue.take(room(1), 100, false);
    await store.claimTask(taskId, "w1", 2, workerLost);
    await store.claimTask(taskId, "w2", 2, workerLost);
    expect((await snapshotOf(store)).tasks).toEqual({ QUEUED: 0, RUNNING: 1, COMPLETED: 0, FAILED: 0 });
    expect(await store.claimTask(taskId, "w3", 2, workerLost)).toEqual({ claimed: false, reason: "attempts-exhausted" });
    const snapshot = await snapshotOf(store);
    expect(snapshot.tasks).toEqual({ QUEUED: 0, RUNNING: 0, COMPLETED: 0, FAILED: 1 });
    expect(snapshot.recentFailures[0]).toMatchObject({ taskId, worker: "w3", error: { name: "WorkerLost" } });
  });

  it("recountTasks sets the counts from the tasks, repairing counts that drifted (tasks made without them)", async () => {
    const { store, queue, functionId } = await setup();
    const [a, b] = (await store.submitTasks(functionId, [serialize([1, 2]), serialize([3, 4]), serialize([5, 6])]))!;
    await queue.take(room(10), 100, false);
    await store.claimTask(a, "d1", 3, workerLost);
    await store.claimTask(b, "d1", 3, workerLost);
    await store.finishTask({ taskId: b, status: "COMPLETED", result: serialize(7), executor: "d1" });
    await store.redis.hset(store.keys.counts, { QUEUED: 40, RUNNING: 0, COMPLETED: 2 }); // as an older faaslab would leave them
    expect(await store.recountTasks()).toEqual({ QUEUED: 1, RUNNING: 1, COMPLETED: 1, FAILED: 0 });
    expect((await snapshotOf(store)).tasks).toEqual({ QUEUED: 1, RUNNING: 1, COMPLETED: 1, FAILED: 0 });
  });

  it("a liveness key that does not hold a valid snapshot (an older dispatcher, garbage) is left out of the snapshot", async () => {
    const { store } = await setup();
    const valid = { id: "ok", mode: "push", startedAt: 1, publishedAt: 2, heartbeatMs: 500, heartbeatTolerance: 3, workers: [{ id: "w", capacity: 2, busy: 0, lastHeartbeatAt: 2 }] };
    const values: Record<string, string> = {
      ok: JSON.stringify(valid),
      old: String(Date.now()),
      garbage: "{not json",
      "no-id": JSON.stringify({ ...valid, id: 5 }),
      "bad-mode": JSON.stringify({ ...valid, mode: "turbo" }),
      "bad-worker": JSON.stringify({ ...valid, workers: [{ id: "w", capacity: "2" }] }),
    };
    for (const [id, value] of Object.entries(values)) await new TaskQueue(store.keys, redis.connect(), store.redis, id).heartbeat(60_000, value);
    const snapshot = await snapshotOf(store);
    expect(snapshot.dispatchers.map((dispatcher) => dispatcher.id)).toEqual(["ok"]);
    expect(snapshot.workers).toEqual([{ id: "w", capacity: 2, busy: 0, lastHeartbeatAt: 2, dispatcherId: "ok" }]);
  });

  it("a dispatcher's heartbeat publishes its snapshot with its liveness: shown while live, gone when it leaves or expires", async () => {
    const { store } = await setup();
    const published = (id: string, mode: "local" | "push") => JSON.stringify({
      id, mode, startedAt: 1, publishedAt: 2, heartbeatMs: 500, heartbeatTolerance: 3, workers: [{ id: `${id}-w`, capacity: 4, busy: 1, lastHeartbeatAt: 2 }],
    });
    const a = new TaskQueue(store.keys, redis.connect(), store.redis, "a");
    const b = new TaskQueue(store.keys, redis.connect(), store.redis, "b");
    expect((await snapshotOf(store)).mode).toBeNull();
    await a.heartbeat(60_000, published("a", "push"));
    await b.heartbeat(60_000, published("b", "local"));
    const both = await snapshotOf(store);
    expect(both.mode).toBe("mixed");
    expect(both.workers.map((worker) => [worker.id, worker.dispatcherId])).toEqual([["a-w", "a"], ["b-w", "b"]]);
    expect([both.capacity, both.busy]).toEqual([8, 2]);
    await b.leave();
    expect((await snapshotOf(store)).mode).toBe("push");
    expect(await store.redis.zrange(store.keys.dispatchers, 0, -1)).toEqual(["a"]);
    // Killed: its liveness key expires, and the snapshot with it.
    await a.heartbeat(50, published("a", "push"));
    await waitFor(async () => (await snapshotOf(store)).dispatchers.length === 0, { what: "the expired dispatcher to leave the snapshot", timeoutMs: 5000 });
  });

  it("every terminal transition is announced on the finished channel", async () => {
    const { store, queue, functionId } = await setup();
    const subscriber = redis.connect();
    const heard: string[] = [];
    subscriber.on("message", (_channel: string, id: string) => heard.push(id));
    await subscriber.subscribe(store.keys.finishedChannel);
    const taskId = (await store.submitTask(functionId, serialize([])))!;
    await queue.take(room(1), 100, false);
    await store.claimTask(taskId, "d1", 3, workerLost);
    await store.finishTask({ taskId, status: "COMPLETED", result: serialize(1), executor: "d1" });
    await store.redis.ping(); // the publish happened before this reply; the message may trail it on the other connection
    await subscriber.ping();
    // With its outcome, so that waiting requests need not read the task again.
    expect(heard).toEqual([`${taskId}|COMPLETED|${serialize(1)}`]);
  });
});
