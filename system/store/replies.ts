/**
 * What Redis answers the task store and the queue, decoded in one place: the shapes the rest
 * of faaslab sees, and the functions that make them from script replies and plain reads.
 */
import { isRuntime, type Runtime } from "../runtimes.js";
import { isTerminal, type TaskRecord, type TaskStatus } from "../task.js";
import { scriptError, ScriptCode, type ScriptContext } from "./codes.js";

/** What a dispatcher needs to hand a task to a worker. */
export interface DispatchInfo {
  status: TaskStatus;
  functionId: string;
  args: string;
  deadlineMs: number | null;
  attempts: number;
  /** Its function's runtime, recorded with the task at submission. */
  runtime: Runtime;
}

/** A queue entry, as a dispatcher holds it while the task is handed on. */
export interface QueueEntry {
  taskId: string;
  /**
   * The stream entry, when this dispatcher read it from the queue: what drops an entry whose
   * task is gone. The transitions do not need it: they find it in the task record.
   */
  entryId?: string;
  /** The task as it was when the entry was read, if it was read with it (`take`). */
  task?: DispatchInfo | null;
  /** The task's runtime, once known (read with it, or learnt when it was first handed on). */
  runtime?: Runtime;
}

export type ClaimResult =
  | { claimed: true; functionId: string; args: string; deadlineMs: number | null; attempts: number; runtime: Runtime }
  | { claimed: false; reason: "terminal" | "missing" | "attempts-exhausted" };

/** When a task whose result was just recorded was created, started and finished (ms, Redis's clock). */
export interface FinishTimes {
  createdAt: number | null;
  startedAt: number | null;
  finishedAt: number;
}

export interface TaskOutcome {
  status: TaskStatus;
  /** The result or error once terminal; null before. */
  result: string | null;
}

/** The fields of a task that dispatching reads, in the order `dispatchInfo` takes them (takeTasks.lua reads the same). */
export const DISPATCH_FIELDS = ["status", "function_id", "args", "deadline_ms", "attempts", "runtime"] as const;

const numberOrNull = (value: string | null | undefined): number | null => (value === null || value === undefined || value === "" ? null : Number(value));

/** DISPATCH_FIELDS' values (null or "" for a missing one); null for a task that does not exist. */
export function dispatchInfo([status, functionId, args, deadline, attempts, runtime]: (string | null)[]): DispatchInfo | null {
  if (!status || functionId === null || args === null) return null;
  return {
    status: status as TaskStatus, functionId, args, deadlineMs: numberOrNull(deadline), attempts: Number(attempts || 0),
    runtime: isRuntime(runtime) ? runtime : "javascript",
  };
}

/** submitTask, submitTasks: true once stored; false when the function does not exist; throws FunctionBusyError past its bound. */
export function submitted(reply: unknown, context: ScriptContext): boolean {
  const code = Number(reply);
  if (code >= 0) return true; // created_at
  if (code === ScriptCode.FunctionMissing) return false;
  throw scriptError(code, context);
}

export function claimResult(reply: unknown, context: ScriptContext): ClaimResult {
  const [code, ...fields] = reply as [number, ...string[]];
  switch (code) {
    case ScriptCode.Ok: {
      const [functionId, args, deadline, attempts, runtime] = fields;
      return { claimed: true, functionId, args, deadlineMs: numberOrNull(deadline), attempts: Number(attempts), runtime: isRuntime(runtime) ? runtime : "javascript" };
    }
    case ScriptCode.TaskFinished: return { claimed: false, reason: "terminal" };
    case ScriptCode.TaskMissing: return { claimed: false, reason: "missing" };
    case ScriptCode.AttemptsExhausted: return { claimed: false, reason: "attempts-exhausted" };
    default: throw scriptError(code, context);
  }
}

/** finishTask: the task's times when this result was recorded; null when it had one already (or is gone). */
export function finishTimes(reply: unknown, context: ScriptContext): FinishTimes | null {
  const [code, createdAt, startedAt, finishedAt] = reply as [number, string, string, number];
  switch (code) {
    case ScriptCode.Ok: return { createdAt: numberOrNull(createdAt), startedAt: numberOrNull(startedAt), finishedAt: Number(finishedAt) };
    case ScriptCode.TaskFinished:
    case ScriptCode.TaskMissing: return null;
    default: throw scriptError(code, context);
  }
}

/** takeTasks: per entry the entry id and the task id, then (`withTasks`) the DISPATCH_FIELDS. */
export function takenEntries(flat: string[], withTasks: boolean): QueueEntry[] {
  const entries: QueueEntry[] = [];
  const width = withTasks ? 2 + DISPATCH_FIELDS.length : 2;
  for (let i = 0; i + width - 1 < flat.length; i += width) {
    if (!withTasks) {
      entries.push({ entryId: flat[i], taskId: flat[i + 1] });
      continue;
    }
    const task = dispatchInfo(flat.slice(i + 2, i + width));
    entries.push({ entryId: flat[i], taskId: flat[i + 1], task, ...(task ? { runtime: task.runtime } : {}) });
  }
  return entries;
}

/** takeOverTasks: entry id, task id, entry id, task id, ... */
export function movedEntries(flat: string[]): QueueEntry[] {
  const entries: QueueEntry[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ entryId: flat[i], taskId: flat[i + 1] });
  return entries;
}

export type StreamReply = [stream: string, entries: [id: string, fields: string[]][]][] | null;

/** An XREADGROUP reply's entries (an entry deleted meanwhile comes without fields and is left out). */
export function streamEntries(reply: StreamReply): QueueEntry[] {
  if (!reply) return [];
  const entries: QueueEntry[] = [];
  for (const [, items] of reply) {
    for (const [entryId, fields] of items) {
      const taskIndex = fields ? fields.indexOf("task") : -1;
      if (taskIndex >= 0) entries.push({ entryId, taskId: fields[taskIndex + 1] });
    }
  }
  return entries;
}

/** HMGET status, result: null for an unknown task; the result only once terminal. */
export function taskOutcome([status, result]: (string | null)[]): TaskOutcome | null {
  if (status === null) return null;
  return { status: status as TaskStatus, result: isTerminal(status) ? result : null };
}

/** HGETALL of a task: its record (null for an unknown task). Its queue entry's id stays in Redis. */
export function taskRecord(taskId: string, hash: Record<string, string>): TaskRecord | null {
  if (!hash.status) return null;
  return {
    task_id: taskId,
    function_id: hash.function_id,
    status: hash.status as TaskStatus,
    result: hash.result ?? null,
    created_at: Number(hash.created_at),
    started_at: numberOrNull(hash.started_at),
    finished_at: numberOrNull(hash.finished_at),
    attempts: Number(hash.attempts ?? 0),
    deadline_ms: numberOrNull(hash.deadline_ms),
    worker: hash.worker ?? null,
    executor: hash.executor ?? null,
  };
}
