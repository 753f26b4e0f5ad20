/**
 * When a worker asks its dispatcher for work, by mode.
 *
 * - pull: the worker says how many executors it has idle, when it is welcomed and each time a
 *   task finishes; an idle worker sends nothing but heartbeats. The count is absolute (the
 *   dispatcher subtracts the tasks already on their way), so a repeated or late request
 *   cannot make the dispatcher send more than the worker can run.
 * - push: the worker never asks: the dispatcher sends it tasks up to the capacity it registered.
 */
import type { WorkerMode } from "../protocol/messages.js";

export interface Demand {
  /** Registered (again): the dispatcher has forgotten any earlier request. */
  welcomed(idle: number): void;
  /** A task finished; `idle` executors are idle now. */
  finished(idle: number): void;
}

export function pullDemand(request: (idle: number) => void): Demand {
  const ask = (idle: number) => {
    if (idle > 0) request(idle);
  };
  return { welcomed: ask, finished: ask };
}

export const pushDemand: Demand = {
  welcomed() {},
  finished() {},
};

/** The demand of a worker of this mode; `request` sends a pull request. */
export function demandFor(mode: WorkerMode, request: (idle: number) => void): Demand {
  return mode === "pull" ? pullDemand(request) : pushDemand;
}
