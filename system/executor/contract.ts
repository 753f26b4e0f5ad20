/**
 * What an executor is given and what it gives back, defined once for every layer that
 * carries them: the thread (thread.ts), the thread pool (threads.ts), the executor host and
 * its messages (host.ts, host-protocol.ts, host-process.ts), the pool (pool.ts), and the
 * dispatchers and workers that record the outcome.
 */
import type { TerminalStatus } from "../task.js";

/** The longest serialized result (or thrown error) of a task, unless set otherwise. */
export const DEFAULT_MAX_RESULT_BYTES = 16 * 1024 * 1024;

export interface ExecutorTask {
  functionId: string;
  source: string;
  /** The serialized argument array. */
  args: string;
}

/** A task's terminal outcome, as an executor produced it. */
export interface ExecutorOutcome {
  status: TerminalStatus;
  /** The serialized result (COMPLETED) or error (FAILED). */
  result: string;
  /**
   * Which executor: `<pool name>/thread-<n>` for a thread that answered, the pool's name alone
   * when none did (its deadline passed, it ran out of memory, its host died).
   */
  executor: string;
}
