/**
 * Push mode: workers register their capacity and the dispatcher sends each task to the
 * worker with the most free executors, never beyond its capacity, so load spreads evenly.
 */
import { pickBest, type SchedulingPolicy } from "./policy.js";

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
