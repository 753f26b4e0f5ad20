/** When a worker asks its dispatcher for work: pull.ts asks, push.ts never does. */
export interface Demand {
  /** Registered (again): the dispatcher has forgotten any earlier request. */
  welcomed(free: number): void;
  /** A task arrived. */
  received(): void;
  /** A task finished; `free` executors are idle now. */
  finished(free: number): void;
}
