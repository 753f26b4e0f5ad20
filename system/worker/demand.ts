/** When a worker asks its dispatcher for work: pull.ts asks, push.ts never does. */
export interface Demand {
  /** Registered (again): the dispatcher has forgotten any earlier request. */
  welcomed(idle: number): void;
  /** A task finished; `idle` executors are idle now. */
  finished(idle: number): void;
}
