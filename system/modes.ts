/**
 * How a dispatcher runs tasks, named once for the CLI, the launcher, the status snapshot and
 * the harness: on its own executors (local), or on worker processes linked to it over ZeroMQ
 * that ask for tasks (pull) or are sent them (push).
 */
export const DISPATCHER_MODES = ["local", "pull", "push"] as const;
export type DispatcherMode = (typeof DISPATCHER_MODES)[number];

/** The modes that have worker processes (and so worker links, tokens and CURVE keys). */
export const WORKER_MODES = ["pull", "push"] as const satisfies readonly DispatcherMode[];
export type WorkerMode = (typeof WORKER_MODES)[number];

export function isDispatcherMode(value: unknown): value is DispatcherMode {
  return (DISPATCHER_MODES as readonly unknown[]).includes(value);
}
