/**
 * What an executor is given and what it gives back, defined once for every layer that
 * carries them: the thread (thread.ts), the thread pool (threads.ts), the executor host and
 * its messages (host.ts, host-thread.ts, host-protocol.ts, host-process.ts), the pool (pool.ts), and the
 * dispatchers and workers that record the outcome.
 */
import type { Runtime } from "../runtimes.js";
import type { TerminalStatus } from "../task.js";

/** The longest serialized result (or thrown error) of a task, unless set otherwise. */
export const DEFAULT_MAX_RESULT_BYTES = 16 * 1024 * 1024;

export interface ExecutorTask {
  functionId: string;
  /**
   * The function as registered: JavaScript source; for Python, base64 of its dill pickle (the
   * MPCSFaaS format; `isPicklePayload` tells) or Python source defining one function.
   */
  source: string;
  /**
   * The arguments: JavaScript, the faaslab codec's serialized array; Python, base64 of the
   * dill pickle of `((args...), {kwargs})`.
   */
  args: string;
  /** Default "javascript". */
  runtime?: Runtime;
}

/**
 * The messages of the errors a task gets from what keeps its executor rather than from its
 * function (a deadline, a heap limit, a death), worded once for every pool.
 */
export const executorFailure = {
  deadline: (deadlineMs: number) => `the task ran past its deadline of ${deadlineMs} ms and was stopped`,
  outOfMemory: (memoryMb: number) => `the function ran out of the executor's memory limit of ${memoryMb} MiB`,
  died: (why: string) => `the executor died while running the task: ${why}`,
};

/** A task's terminal outcome, as an executor produced it. */
export interface ExecutorOutcome {
  status: TerminalStatus;
  /**
   * The serialized result (COMPLETED) or error (FAILED): JavaScript, faaslab's codec; Python,
   * base64 of the dill pickle of the return value or the exception (an error faaslab raised is
   * a built-in exception: codec/pickle.ts).
   */
  result: string;
  /**
   * Which executor: `<pool name>/thread-<n>` for a thread that answered, the pool's name alone
   * when none did (its deadline passed, it ran out of memory, its host died).
   */
  executor: string;
}

/** What a pool needs to run Python functions (python-pool.ts): the directories of modules functions pickled by reference need, and the interpreter (with dill). */
export interface PythonSettings {
  pythonPath: string[];
  python?: string;
}
