/**
 * The steps of a task's life that every dispatcher takes, written once for local.ts and
 * remote.ts: claim it (an executor starts it), record its result, and fail it when its
 * function does not exist. Each step is one store transition, with its metric and its log
 * line. WorkerLost is claimTask's: a claim past max attempts fails the task instead.
 *
 * The steps throw what the store throws (a Redis error): each dispatcher decides what to do
 * then (the local one runs the task again; a remote one waits for the worker to resend).
 */
import type { ExecutorOutcome } from "../executor/contract.js";
import type { Logger } from "../log.js";
import type { ClaimResult, FinishTimes, QueueEntry } from "../store/replies.js";
import type { RuntimeErrors, TaskStore } from "../store/store.js";
import type { Runtime } from "../runtimes.js";
import { serializedTaskError, taskErrorForEach } from "../task.js";
import type { DispatcherMetrics } from "./metrics.js";

export class TaskLifecycle {
  private readonly workerLost: RuntimeErrors;

  constructor(
    private readonly store: TaskStore,
    private readonly metrics: DispatcherMetrics,
    private readonly log: Logger,
    private readonly maxAttempts: number,
  ) {
    this.workerLost = workerLostError(maxAttempts);
  }

  /**
   * claimTask on behalf of `claimant` (the worker that starts it, or the dispatcher that runs
   * it). A task that is gone has its queue entry dropped, when this dispatcher read it.
   */
  async claim(entry: QueueEntry, claimant: string): Promise<ClaimResult> {
    const claim = await this.store.claimTask(entry.taskId, claimant, this.maxAttempts, this.workerLost);
    if (claim.claimed) {
      this.metrics.attempted();
      this.log.debug({ taskId: entry.taskId, workerId: claimant }, "task started");
    } else if (claim.reason === "attempts-exhausted") {
      this.metrics.failedWithout("WorkerLost");
      this.log.warn({ taskId: entry.taskId, workerId: claimant }, "task failed with WorkerLost");
    } else if (claim.reason === "missing" && entry.entryId !== undefined) {
      await this.store.dropEntry(entry.entryId);
    }
    return claim;
  }

  /**
   * finishTask with an executor's outcome, reported by `from` (a worker, or the dispatcher
   * itself); `dispatchedAt` starts its latency when the task record has no creation time.
   * The first result wins: a later one is discarded, and said so (null).
   */
  async recordResult(taskId: string, outcome: ExecutorOutcome, from: string, dispatchedAt?: number): Promise<FinishTimes | null> {
    const recorded = await this.store.finishTask({ taskId, ...outcome });
    if (recorded) {
      this.metrics.finished(outcome.status, outcome.result, recorded, dispatchedAt);
      this.log.debug({ taskId, workerId: from, status: outcome.status, executor: outcome.executor }, "task finished");
    } else {
      this.log.info({ taskId, workerId: from }, "late result discarded: the task already had one");
    }
    return recorded;
  }

  /** finishTask with ExecutorCrashed: the task's function does not exist, so nothing can run it (`recorder` names who found out). */
  async failMissingFunction(taskId: string, functionId: string, recorder: string, runtime: Runtime): Promise<void> {
    const recorded = await this.store.finishTask({
      taskId, status: "FAILED", executor: recorder, result: serializedTaskError("ExecutorCrashed", `function ${functionId} does not exist`, runtime),
    });
    if (recorded) {
      this.metrics.failedWithout("ExecutorCrashed");
      this.log.warn({ taskId, functionId, workerId: recorder }, "task failed: its function does not exist");
    }
  }
}

/** The WorkerLost error a task gets after `maxAttempts` starts (a TaskLifecycle serializes it once per runtime: both go with every claim, and claimTask picks the task's). */
export function workerLostError(maxAttempts: number): RuntimeErrors {
  return taskErrorForEach("WorkerLost", `the task was started ${maxAttempts} times and each time its worker or dispatcher was lost`);
}
