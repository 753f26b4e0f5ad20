/**
 * The local dispatcher: reads tasks from the queue and runs them on its own executor pool,
 * never running more tasks than it has executors. It reads a few tasks ahead (as many as it
 * has executors), still QUEUED, so that a freed executor's next task needs one round trip
 * (its claim, sent with the previous task's result) rather than two (a read, then a claim).
 * It reads them with their records, so a task starts on its executor while it is claimed.
 */
import { randomUUID } from "node:crypto";
import type { DispatcherSnapshot } from "../status/snapshot.js";
import type { ExecutorOutcome } from "../executor/contract.js";
import type { PythonSettings } from "../executor/contract.js";
import { ExecutorPool, type Isolation } from "../executor/pool.js";
import type { Logger } from "../log.js";
import type { QueueEntry } from "../store/replies.js";
import type { TaskStore } from "../store/store.js";
import { openFeeder, type QueueFeeder } from "./feeder.js";
import { TaskLifecycle } from "./lifecycle.js";
import { noDispatcherMetrics, type DispatcherMetrics } from "./metrics.js";
import type { DispatcherOptions } from "./options.js";

export interface LocalDispatcherOptions extends DispatcherOptions {
  executors: number;
  executorMemoryMb: number;
  /** Largest serialized result of a task (default: the pool's). */
  maxResultBytes?: number;
  /** Where the executor threads run (default: the executor host process). */
  isolation?: Isolation;
  /** Run Python functions too (absent: JavaScript only). */
  python?: PythonSettings;
}

export class LocalDispatcher {
  readonly id = `local-${randomUUID().slice(0, 8)}`;
  private readonly startedAt = Date.now();
  private readonly store: TaskStore;
  private readonly feeder: QueueFeeder;
  private readonly disconnect: () => void;
  private readonly pool: ExecutorPool;
  private readonly lifecycle: TaskLifecycle;
  /** Tasks being claimed or on an executor, by task id (a task handed on twice runs once here). */
  private readonly inflight = new Map<string, Promise<void>>();
  /** Tasks read ahead, still QUEUED, in the order they go to a freed executor (by task id). */
  private readonly readAhead = new Map<string, QueueEntry>();
  private stopped = false;
  /** Results being written after their executor was freed (what stop() still waits for). */
  private readonly finishing = new Set<Promise<unknown>>();

  constructor(private readonly options: LocalDispatcherOptions, private readonly log: Logger, private readonly metrics: DispatcherMetrics = noDispatcherMetrics) {
    this.pool = new ExecutorPool({ executors: options.executors, memoryMb: options.executorMemoryMb, maxResultBytes: options.maxResultBytes, isolation: options.isolation, python: options.python, name: this.id });
    ({ store: this.store, feeder: this.feeder, disconnect: this.disconnect } = openFeeder(options, this.id, {
      capacity: () => {
        const room = 2 * this.options.executors - this.inflight.size - this.readAhead.size;
        return { total: room, byRuntime: Object.fromEntries(this.pool.runtimes().map((runtime) => [runtime, room])) };
      },
      dispatch: (entry) => {
        if (this.holds(entry.taskId)) return;
        if (this.inflight.size < this.options.executors) this.track(entry.taskId, this.handle(entry));
        else this.readAhead.set(entry.taskId, entry);
      },
      holds: (taskId) => this.holds(taskId),
      readsTasks: true,
      snapshot: () => this.snapshot(),
    }, 0, log, () => metrics.redisError()));
    this.lifecycle = new TaskLifecycle(this.store, metrics, log, options.maxAttempts);
    metrics.observe({
      queueDepth: () => this.store.queuedTasks(),
      running: () => this.inflight.size,
    });
  }

  async start(): Promise<void> {
    await this.feeder.start();
  }

  /** What `GET /cluster` shows of this dispatcher: its own pool is its one worker. */
  snapshot(): DispatcherSnapshot {
    const now = Date.now();
    return {
      id: this.id, mode: "local", startedAt: this.startedAt, publishedAt: now,
      heartbeatMs: this.options.heartbeatMs, heartbeatTolerance: this.options.heartbeatTolerance,
      workers: [{ id: this.id, capacity: this.options.executors, busy: this.inflight.size, lastHeartbeatAt: now, runtimes: this.pool.runtimes() }],
    };
  }

  /** Stops taking tasks, lets running ones finish for up to `graceMs`, then closes. */
  async stop(graceMs = 10_000): Promise<void> {
    // What was read ahead never started: it stays in this dispatcher's pending list, for the next one.
    this.stopped = true;
    this.readAhead.clear();
    await this.feeder.stop();
    await Promise.race([Promise.allSettled([...this.inflight.values()]), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    await Promise.allSettled([...this.finishing]);
    await this.pool.close();
    this.disconnect();
  }

  private holds(taskId: string): boolean {
    return this.inflight.has(taskId) || this.readAhead.has(taskId);
  }

  private track(taskId: string, work: Promise<void>): void {
    this.inflight.set(taskId, work);
    void work.finally(() => {
      this.inflight.delete(taskId);
      this.startReadAhead();
      this.feeder.wake();
    });
  }

  /** A freed executor takes the oldest task read ahead. */
  private startReadAhead(): void {
    if (this.stopped) return;
    for (const [taskId, entry] of this.readAhead) {
      if (this.inflight.size >= this.options.executors) return;
      this.readAhead.delete(taskId);
      this.track(taskId, this.handle(entry));
    }
  }

  private async handle(entry: QueueEntry): Promise<void> {
    const { taskId } = entry;
    const claimedAt = Date.now();
    // A task read with its record starts on the executor while it is claimed, as a worker's
    // does (remote.ts): the claim's round trip overlaps the run. User code cannot act outside
    // its sandbox, so a run whose claim then fails is only discarded; it keeps its executor
    // until it ends, so no more tasks are RUNNING than there are executors.
    const claiming = this.lifecycle.claim(entry, this.id);
    claiming.catch(() => {}); // awaited below; a rejection is handled there
    const early = await this.startEarly(entry);
    try {
      const claim = await claiming;
      if (!claim.claimed) return void (await early);
      let outcome = await early;
      if (outcome === undefined) {
        const fn = await this.store.getFunction(claim.functionId);
        if (fn === null) {
          await this.lifecycle.failMissingFunction(taskId, claim.functionId, this.id, claim.runtime);
          return;
        }
        outcome = await this.pool.run({ functionId: claim.functionId, source: fn.source, args: claim.args, runtime: fn.runtime }, claim.deadlineMs ?? this.options.taskDeadlineMs);
      }
      // The executor is free: its slot goes to the next task while this result is written.
      const finishing = this.finish(entry, outcome, claimedAt);
      this.finishing.add(finishing);
      void finishing.finally(() => this.finishing.delete(finishing));
    } catch (error) {
      // A Redis error (not an outage: commands wait through those): try the task again shortly.
      await early;
      this.log.error({ taskId, err: error }, "task handling failed; it will be tried again");
      this.retryLater(entry);
    }
  }

  /** The run of a task read with its record (still unfinished, its function known), started now; undefined otherwise. */
  private async startEarly(entry: QueueEntry): Promise<ExecutorOutcome | undefined> {
    const task = entry.task;
    if (!task || task.status === "COMPLETED" || task.status === "FAILED") return undefined;
    let fn;
    try {
      fn = await this.store.getFunction(task.functionId);
    } catch {
      return undefined; // the claim meets the same Redis error
    }
    if (fn === null) return undefined;
    return this.pool.run({ functionId: task.functionId, source: fn.source, args: task.args, runtime: fn.runtime }, task.deadlineMs ?? this.options.taskDeadlineMs);
  }

  private async finish(entry: QueueEntry, outcome: ExecutorOutcome, claimedAt: number): Promise<void> {
    try {
      await this.lifecycle.recordResult(entry.taskId, outcome, this.id, claimedAt);
    } catch (error) {
      // The task stays RUNNING and in this dispatcher's pending list: run it again shortly.
      this.log.error({ taskId: entry.taskId, err: error }, "could not record the result; the task will be run again");
      this.retryLater(entry);
    }
  }

  /** After a Redis error: the entry goes back to the feeder, to be handed on again a heartbeat later. */
  private retryLater(entry: QueueEntry): void {
    this.metrics.redisError();
    this.metrics.redispatched(1);
    this.feeder.putBack([entry], this.options.heartbeatMs);
  }
}
