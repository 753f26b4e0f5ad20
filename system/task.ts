/** The task contract shared by the API, the store, the dispatchers and the SDK. */
import { serialize } from "./codec/index.js";
import { pythonTaskError } from "./codec/pickle.js";
import type { Runtime } from "./runtimes.js";

export const TASK_STATUSES = ["QUEUED", "RUNNING", "COMPLETED", "FAILED"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type TerminalStatus = "COMPLETED" | "FAILED";

/** The longest deadline a task may have: one day (the API, the CLI and the protocol share it). */
export const MAX_DEADLINE_MS = 24 * 3600 * 1000;

export function isTerminal(status: string | null | undefined): status is TerminalStatus {
  return status === "COMPLETED" || status === "FAILED";
}

/** A task as stored in Redis (timestamps in ms since the epoch, by Redis's clock). */
export interface TaskRecord {
  task_id: string;
  function_id: string;
  status: TaskStatus;
  /** Serialized return value (COMPLETED) or serialized error (FAILED); null before. */
  result: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  attempts: number;
  /** Per-task deadline given at submission, if any (the dispatcher's default applies otherwise). */
  deadline_ms: number | null;
  /** The dispatcher or worker that last claimed the task. */
  worker: string | null;
  /** The executor that produced the result. */
  executor: string | null;
}

/** The names of the errors faaslab itself gives a FAILED task (the others are what the function threw). */
export const TaskErrors = {
  /** The task ran past its deadline and its executor was stopped. */
  DeadlineExceeded: "DeadlineExceeded",
  /** The executor ran out of its memory limit. */
  ResourceLimitExceeded: "ResourceLimitExceeded",
  /** The task's worker was lost as many times as the dispatcher allows attempts. */
  WorkerLost: "WorkerLost",
  /** The result (or the arguments) cannot be carried by the codec. */
  SerializationError: "SerializationError",
  /** The executor died for another reason while running the task. */
  ExecutorCrashed: "ExecutorCrashed",
  /** The serialized result (or thrown error) was over the executor's result size limit. */
  ResultTooLarge: "ResultTooLarge",
  /** The executor refused the function's source (it does not compile, or uses import()): the API refuses most such sources at registration. */
  InvalidFunctionError: "InvalidFunctionError",
  /** A Python function pickled by reference whose module the executor cannot import (see --python-path). */
  FunctionNotFound: "FunctionNotFound",
} as const;
export type TaskErrorName = keyof typeof TaskErrors;

/** The same error for a task of each runtime, for steps that do not know the task's (claimTask's WorkerLost). */
export function taskErrorForEach(name: TaskErrorName, message: string): Record<Runtime, string> {
  return { javascript: serializedTaskError(name, message), python: serializedTaskError(name, message, "python") };
}

/**
 * The serialized error of a task that faaslab failed (no stack: it is not the function's), in
 * the task's runtime's format: faaslab's codec, or for Python a pickled built-in exception
 * its clients can `deserialize` (codec/pickle.ts).
 */
export function serializedTaskError(name: TaskErrorName, message: string, runtime: Runtime = "javascript"): string {
  if (runtime === "python") return pythonTaskError(name, message);
  const error = new Error(message);
  error.name = name;
  delete (error as { stack?: string }).stack;
  return serialize(error);
}
