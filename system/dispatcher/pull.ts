/**
 * Pull mode: a worker asks for as many tasks as it has free executors and is sent at most
 * that many; the dispatcher holds the request until tasks arrive (nothing polls). Requests
 * are served oldest first.
 */
import { pickBest, type SchedulingPolicy } from "./policy.js";

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
