/**
 * Reading tasks' outcomes, waiting for the unfinished ones if asked: the one way GET /result,
 * POST /results and POST /execute_function?wait wait. Each wait is registered before the first read, so a task that
 * finishes in between still wakes the request; a task announced with its outcome is not read
 * again, one announced by its id alone (a large result) is read once more. A wait ends when
 * every task has finished, when the time is up, or when the client goes away.
 */
import type { EventEmitter } from "node:events";
import type { TaskStore } from "../store/store.js";
import { isTerminal, type TaskStatus } from "../task.js";
import { ApiError, taskNotFound } from "./errors.js";
import { MAX_WAIT_SECONDS } from "./limits.js";
import type { FinishedTasks } from "./finished-tasks.js";

export interface Outcome {
  status: TaskStatus;
  /** The serialized result or error once the task is finished, else null. */
  result: string | null;
}

export interface OutcomeSources {
  store: TaskStore;
  finished: FinishedTasks;
}

/**
 * The outcomes of `taskIds`, in order, after waiting up to `waitMs` for those not finished
 * (0: no wait); throws TASK_NOT_FOUND for the first unknown task. `response` is the raw
 * response: when it closes (the client went away), the waits end.
 */
export async function readOutcomes({ store, finished }: OutcomeSources, taskIds: readonly string[], waitMs: number, response: EventEmitter): Promise<Outcome[]> {
  const waiters = waitMs > 0 ? taskIds.map((taskId) => finished.wait(taskId, waitMs)) : [];
  const cancel = () => {
    for (const waiter of waiters) waiter.cancel();
  };
  if (waiters.length > 0) response.once("close", cancel);
  try {
    const outcomes = taskIds.length === 1 ? [await store.getOutcome(taskIds[0])] : await store.getOutcomes(taskIds);
    allKnown(outcomes, taskIds);
    await Promise.all(waiters.map(async (waiter, index) => {
      if (isTerminal(outcomes[index]!.status)) return waiter.cancel();
      const published = await waiter.finished;
      outcomes[index] = published ?? (await store.getOutcome(taskIds[index]));
    }));
    // A task may have expired while it was waited for.
    return allKnown(outcomes, taskIds);
  } finally {
    cancel();
    response.off("close", cancel);
  }
}

/** The outcomes, once none is missing; TASK_NOT_FOUND for the first that is. */
function allKnown(outcomes: (Outcome | null)[], taskIds: readonly string[]): Outcome[] {
  const unknown = outcomes.indexOf(null);
  if (unknown >= 0) throw taskNotFound(taskIds[unknown]);
  return outcomes as Outcome[];
}

/** A `?wait=` query (seconds, in decimal; the schema checked its form) in ms; 400 past the most a request may wait. */
export function waitMsOf(wait: string | undefined): number {
  const waitMs = Math.round(Number(wait ?? 0) * 1000);
  if (!(waitMs <= MAX_WAIT_SECONDS * 1000)) throw new ApiError("BAD_REQUEST", `invalid request: wait must be at most ${MAX_WAIT_SECONDS} seconds`);
  return waitMs;
}

/** 413 RESPONSE_TOO_LARGE when the results would take more than one answer may carry. */
export function checkResponseSize(outcomes: readonly Outcome[], maxResponseBytes: number): void {
  let size = 0;
  for (const { result } of outcomes) size += result === null ? 0 : Buffer.byteLength(result);
  if (size > maxResponseBytes) {
    throw new ApiError(
      "RESPONSE_TOO_LARGE",
      `the results asked for take ${size} bytes, over the ${maxResponseBytes} one answer may carry (--max-response-bytes); ask for fewer tasks at a time`,
    );
  }
}
