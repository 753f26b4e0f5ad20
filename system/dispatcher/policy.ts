/**
 * Who gets the next task, in a remote dispatcher: the scheduling policy of each worker mode.
 *
 * - pull: a worker asks for as many tasks as it has free executors and is sent at most that
 *   many; the dispatcher holds the request until tasks arrive (nothing polls). Requests are
 *   served oldest first.
 * - push: workers register their capacity and each task goes to the worker with the most free
 *   executors, never beyond its capacity, so load spreads evenly.
 *
 * Pure: a policy reads and updates the slots it is given, nothing else (test/unit/protocol.test.ts).
 */
import type { WorkerMode } from "../protocol/messages.js";

/** What a policy sees of a connected worker. */
export interface WorkerSlot {
  readonly id: string;
  capacity: number;
  /** Tasks sent to it and not yet finished. */
  assigned: number;
  /** Tasks it asked for and has not been sent yet (pull). */
  credits: number;
  /** When it last asked for work or was given a task (ms), for fair ties. */
  lastServedAt: number;
  /** It said bye: send it nothing more. */
  leaving: boolean;
}

export interface SchedulingPolicy {
  /** How many more tasks this worker may be given now. */
  free(worker: WorkerSlot): number;
  /** The worker the next task goes to, among those with free() > 0. */
  pick<W extends WorkerSlot>(workers: Iterable<W>): W | undefined;
  /** Records that a task was given to the worker. */
  assigned(worker: WorkerSlot): void;
  /** Undoes `assigned` for a task the worker never got (it was finished meanwhile, or lost on the way). */
  released(worker: WorkerSlot): void;
}

/** The worker with the highest score among those that may take a task; ties go to the least recently served. */
function pickBest<W extends WorkerSlot>(workers: Iterable<W>, policy: SchedulingPolicy, score: (worker: W) => number): W | undefined {
  let best: W | undefined;
  for (const worker of workers) {
    if (worker.leaving || policy.free(worker) <= 0) continue;
    if (!best || score(worker) > score(best) || (score(worker) === score(best) && worker.lastServedAt < best.lastServedAt)) best = worker;
  }
  return best;
}

export const pullPolicy: SchedulingPolicy = {
  free: (worker) => worker.credits,
  pick(workers) {
    // Every candidate has credits: the least recently served (the oldest request) wins.
    return pickBest(workers, this, () => 0);
  },
  assigned(worker) {
    worker.credits--;
    worker.lastServedAt = Date.now();
  },
  released(worker) {
    // The worker still counts on that task: its request stays open.
    worker.credits++;
  },
};

export const pushPolicy: SchedulingPolicy = {
  free: (worker) => worker.capacity - worker.assigned,
  pick(workers) {
    return pickBest(workers, this, (worker) => worker.capacity - worker.assigned);
  },
  assigned(worker) {
    worker.lastServedAt = Date.now();
  },
  released() {
    // Capacity is counted from the assignments themselves: nothing to undo.
  },
};

export const POLICIES: Record<WorkerMode, SchedulingPolicy> = { pull: pullPolicy, push: pushPolicy };
