/**
 * The messages between an ExecutorPool (pool.ts) and its executor host process (host.ts),
 * carried by Node's IPC channel with `serialization: "advanced"` (V8's structured clone: the
 * task's strings cross as they are, without JSON escaping).
 *
 *   pool -> host   run          one task; the host answers it exactly once with `outcome`
 *   host -> pool   ready        the threads exist and `run` messages are being listened to
 *   host -> pool   outcome      a task's terminal status and serialized result or error
 *   host -> pool   over-budget  the process is past its memory budget: the pool replaces it
 *
 * The host's options travel as its single command-line argument (JSON), so it needs no
 * environment at all.
 */
import type { ExecutorOutcome, ExecutorTask } from "./contract.js";

export interface HostOptions {
  /** The pool's name, which the executors' names start with. */
  name: string;
  executors: number;
  /** Heap limit of each executor thread, in MiB. */
  memoryMb: number;
  /** The longest serialized result a task may produce, in bytes. */
  maxResultBytes: number;
  /** The resident memory the whole host process may use, in MiB (array buffers count only here). */
  memoryBudgetMb: number;
}

export interface RunMessage {
  type: "run";
  id: number;
  task: ExecutorTask;
  deadlineMs: number;
}

export type ToHost = RunMessage;

export type FromHost =
  | { type: "ready" }
  | ({ type: "outcome"; id: number } & ExecutorOutcome)
  | { type: "over-budget"; rssMb: number };
