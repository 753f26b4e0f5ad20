/** How a remote dispatcher chooses a worker for the next task: pull.ts and push.ts. */

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
export function pickBest<W extends WorkerSlot>(workers: Iterable<W>, policy: SchedulingPolicy, score: (worker: W) => number): W | undefined {
  let best: W | undefined;
  for (const worker of workers) {
    if (worker.leaving || policy.free(worker) <= 0) continue;
    if (!best || score(worker) > score(best) || (score(worker) === score(best) && worker.lastServedAt < best.lastServedAt)) best = worker;
  }
  return best;
}
