/**
 * The local dispatcher: reads tasks from the queue and runs them on its own executor pool,
 * never holding more tasks than it has free executors.
 */
import { randomUUID } from "node:crypto";
import type { DispatcherSnapshot } from "../cluster/snapshot.js";
import { ExecutorPool, type Isolation } from "../executor/pool.js";
import type { Logger } from "../log.js";
import type { QueueEntry } from "../store/replies.js";
import type { TaskStore } from "../store/store.js";
import { serializedTaskError } from "../task.js";
import { openFeeder, type QueueFeeder } from "./feeder.js";
import { noDispatcherMetrics, type DispatcherMetrics } from "./metrics.js";
import type { DispatcherOptions } from "./options.js";

export interface LocalDispatcherOptions extends DispatcherOptions {
  executors: number;
  executorMemoryMb: number;
  /** Largest serialized result of a task (default: the pool's). */
  maxResultBytes?: number;
  /** Where the executor threads run (default: the executor host process). */
  isolation?: Isolation;
}

export class LocalDispatcher {
  readonly id = `local-${randomUUID().slice(0, 8)}`;
  private readonly startedAt = Date.now();
  private readonly store: TaskStore;
  private readonly feeder: QueueFeeder;
  private readonly disconnect: () => void;
  private readonly pool: ExecutorPool;
  /** Tasks on an executor, by task id (what capacity counts; a task handed on twice runs once here). */
  private readonly inflight = new Map<string, Promise<void>>();
  /** Results being written after their executor was freed (what stop() still waits for). */
  private readonly finishing = new Set<Promise<unknown>>();

  constructor(private readonly options: LocalDispatcherOptions, private readonly log: Logger, private readonly metrics: DispatcherMetrics = noDispatcherMetrics) {
    this.pool = new ExecutorPool({ executors: options.executors, memoryMb: options.executorMemoryMb, maxResultBytes: options.maxResultBytes, isolation: options.isolation, name: this.id });
    ({ store: this.store, feeder: this.feeder, disconnect: this.disconnect } = openFeeder(options, this.id, {
      capacity: () => this.options.executors - this.inflight.size,
      dispatch: (entry) => {
        if (!this.inflight.has(entry.taskId)) this.track(entry.taskId, this.handle(entry));
      },
      holds: (taskId) => this.inflight.has(taskId),
      snapshot: () => this.snapshot(),
    }, 0, log, () => metrics.redisError()));
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
      workers: [{ id: this.id, capacity: this.options.executors, busy: this.inflight.size, lastHeartbeatAt: now }],
    };
  }

  /** Stops taking tasks, lets running ones finish for up to `graceMs`, then closes. */
  async stop(graceMs = 10_000): Promise<void> {
    await this.feeder.stop();
    await Promise.race([Promise.allSettled([...this.inflight.values()]), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    await Promise.allSettled([...this.finishing]);
    await this.pool.close();
    this.disconnect();
  }

  private track(taskId: string, work: Promise<void>): void {
    this.inflight.set(taskId, work);
    void work.finally(() => {
      this.inflight.delete(taskId);
      this.feeder.wake();
    });
  }

  private async handle(entry: QueueEntry): Promise<void> {
    const { taskId } = entry;
    try {
      const claimedAt = Date.now();
      const claim = await this.store.claimTask(taskId, this.id, this.options.maxAttempts, workerLostError(this.options.maxAttempts));
      if (!claim.claimed) {
        if (claim.reason === "missing" && entry.entryId !== undefined) await this.store.dropEntry(entry.entryId);
        if (claim.reason === "attempts-exhausted") {
          this.metrics.failedWithout("WorkerLost");
          this.log.warn({ taskId, workerId: this.id }, "task failed with WorkerLost");
        }
        return;
      }
      this.metrics.attempted();
      this.log.debug({ taskId, workerId: this.id }, "task started");
      const source = await this.store.getFunctionSource(claim.functionId);
      const outcome = source === null
        ? { status: "FAILED" as const, result: serializedTaskError("ExecutorCrashed", `function ${claim.functionId} does not exist`), executor: this.id }
        : await this.pool.run({ functionId: claim.functionId, source, args: claim.args }, claim.deadlineMs ?? this.options.taskDeadlineMs);
      // The executor is free: its slot goes to the next task while this result is written.
      const finishing = this.finish(entry, outcome, claimedAt);
      this.finishing.add(finishing);
      void finishing.finally(() => this.finishing.delete(finishing));
    } catch (error) {
      // A Redis error (not an outage: commands wait through those): try the task again shortly.
      this.log.error({ taskId, err: error }, "task handling failed; it will be tried again");
      this.metrics.redisError();
      this.metrics.requeued(1);
      this.feeder.putBack([entry], this.options.heartbeatMs);
    }
  }

  private async finish(entry: QueueEntry, outcome: { status: "COMPLETED" | "FAILED"; result: string; executor: string }, claimedAt: number): Promise<void> {
    const { taskId } = entry;
    try {
      const recorded = await this.store.finishTask({ taskId, ...outcome });
      if (recorded) {
        this.metrics.finished(outcome.status, outcome.result, recorded, claimedAt);
        this.log.debug({ taskId, workerId: this.id, status: outcome.status, executor: outcome.executor }, "task finished");
      } else {
        this.log.info({ taskId, workerId: this.id }, "late result discarded: the task already had one");
      }
    } catch (error) {
      // The task stays RUNNING and in this dispatcher's pending list: run it again shortly.
      this.log.error({ taskId, err: error }, "could not record the result; the task will be run again");
      this.metrics.redisError();
      this.metrics.requeued(1);
      this.feeder.putBack([entry], this.options.heartbeatMs);
    }
  }
}

const workerLostErrors = new Map<number, string>();

/** The WorkerLost error a task gets after `maxAttempts` starts (serialized once: it goes with every claim). */
export function workerLostError(maxAttempts: number): string {
  let error = workerLostErrors.get(maxAttempts);
  if (error === undefined) {
    error = serializedTaskError("WorkerLost", `the task was started ${maxAttempts} times and each time its worker or dispatcher was lost`);
    workerLostErrors.set(maxAttempts, error);
  }
  return error;
}
