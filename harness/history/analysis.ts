/** What a history says about each task and over time: the shared ground of checkers and reports. */
import { isTerminal } from "../../system/task.js";
import type { EventOf, Expected, HistoryEvent } from "./history.js";
import { percentileOfSorted } from "../percentile.js";

export interface TaskView {
  taskId: string;
  kind: string;
  args: string;
  expected: Expected;
  /** When the execute request was sent, and when it was answered (accepted). */
  invokedAt: number;
  acceptedAt: number;
  statuses: EventOf<"status">[];
  /** The first terminal status seen, and when. */
  terminal?: EventOf<"status">;
  /** The result of the first terminal observation that carried one (a status-only read does not). */
  result?: string;
}

export interface Fault {
  fault: number;
  description: string;
  /** What it hit (components or links); undefined in histories that did not record it. */
  targets?: string[];
  /** The processes it killed with SIGKILL. */
  crashed: string[];
  /** When the schedule had it (ms after the workload's start). */
  planned?: number;
  /** Why it could not happen: a skipped fault is shown, and excuses nothing. */
  skipped?: string;
  start: number;
  /** When it ended (healed); undefined if the history stops first. */
  end?: number;
}

/** A submission the API refused (fail) or left without an answer (info). */
export interface ClientError {
  invokedAt: number;
  completedAt: number;
  outcome: "fail" | "info";
  error: string;
}

/** Something that went wrong on the harness's side (a restart that failed). */
export interface Problem {
  t: number;
  source: "nemesis" | "harness";
  fault?: number;
  description: string;
}

export interface Analysis {
  tasks: Map<string, TaskView>;
  clientErrors: ClientError[];
  invoked: number;
  accepted: number;
  refused: number;
  unknown: number;
  /** Every fault of the schedule, skipped ones too (see `injected`). */
  faults: Fault[];
  problems: Problem[];
  /** The workload's phases: [start, end] in ms. */
  workload: { start: number; end: number };
  /** The cluster's executors in all, when the history says (a `cluster` event). */
  executors?: number;
}

export function analyse(history: readonly HistoryEvent[]): Analysis {
  const invokes = new Map<number, EventOf<"invoke">>();
  const tasks = new Map<string, TaskView>();
  const faults = new Map<number, Fault>();
  const clientErrors: ClientError[] = [];
  const problems: Problem[] = [];
  let refused = 0;
  let unknown = 0;
  let workloadStart = Number.POSITIVE_INFINITY;
  let workloadEnd = 0;
  let executors: number | undefined;
  for (const event of history) {
    switch (event.type) {
      case "invoke":
        invokes.set(event.op, event);
        break;
      case "complete": {
        if (event.outcome === "fail") refused++;
        if (event.outcome === "info") unknown++;
        const invoke = invokes.get(event.op);
        if (event.outcome !== "ok") {
          clientErrors.push({ invokedAt: invoke?.t ?? event.t, completedAt: event.t, outcome: event.outcome, error: event.error ?? "" });
        }
        if (event.outcome === "ok" && event.taskId && invoke) {
          tasks.set(event.taskId, {
            taskId: event.taskId, kind: invoke.kind, args: invoke.args, expected: invoke.expected,
            invokedAt: invoke.t, acceptedAt: event.t, statuses: [],
          });
        }
        break;
      }
      case "status": {
        const task = tasks.get(event.taskId);
        if (!task) break;
        task.statuses.push(event);
        if (!task.terminal && isTerminal(event.status)) task.terminal = event;
        if (task.result === undefined && isTerminal(event.status) && typeof event.result === "string") task.result = event.result;
        break;
      }
      case "fault":
        if (event.phase === "start") {
          faults.set(event.fault, {
            fault: event.fault, description: event.description, targets: event.targets, crashed: event.crashed ?? [], planned: event.planned, skipped: event.skipped, start: event.t,
          });
        }
        else {
          const fault = faults.get(event.fault);
          if (fault) fault.end = event.t;
        }
        break;
      case "phase":
        if (event.phase === "start") workloadStart = Math.min(workloadStart, event.t);
        else workloadEnd = Math.max(workloadEnd, event.t);
        break;
      case "problem":
        problems.push({ t: event.t, source: event.source, fault: event.fault, description: event.description });
        break;
      case "cluster":
        executors = event.executors;
        break;
    }
  }
  if (!Number.isFinite(workloadStart)) workloadStart = 0;
  return {
    tasks, clientErrors, invoked: invokes.size, accepted: tasks.size, refused, unknown,
    faults: [...faults.values()].sort((a, b) => a.start - b.start), problems,
    workload: { start: workloadStart, end: Math.max(workloadEnd, workloadStart) },
    ...(executors === undefined ? {} : { executors }),
  };
}

/** The faults that happened: the skipped ones excuse no error and need no recovery. */
export function injected(analysis: Analysis): Fault[] {
  return analysis.faults.filter((fault) => fault.skipped === undefined);
}

/** The largest of `values` (undefined when there are none), without spreading them into a call. */
export function maximum(values: Iterable<number>): number | undefined {
  let max: number | undefined;
  for (const value of values) if (max === undefined || value > max) max = value;
  return max;
}

/** The distinct terminal results a task was seen with (only observations that carry one). */
export function terminalResults(task: TaskView): Set<string> {
  const seen = new Set<string>();
  for (const status of task.statuses) {
    if (isTerminal(status.status) && typeof status.result === "string") seen.add(`${status.status} ${status.result}`);
  }
  return seen;
}

/** Latency of a finished task: from sending the execute request to first seeing its result. */
export function latencyOf(task: TaskView): number | undefined {
  return task.terminal ? task.terminal.t - task.invokedAt : undefined;
}

export interface Summary {
  invoked: number;
  accepted: number;
  refused: number;
  unknown: number;
  completed: number;
  failed: number;
  /** Accepted and never seen terminal. */
  lost: number;
  /** Seen with more than one terminal result. */
  duplicates: number;
  /** Started more than once (a lost worker or dispatcher): at-least-once execution at work. */
  rerun: number;
  latency: { p50: number; p95: number; p99: number; max: number };
  /** Terminal tasks per second over the workload. */
  throughput: number;
  durationMs: number;
}

export function summarize(analysis: Analysis): Summary {
  let completed = 0;
  let failed = 0;
  let lost = 0;
  let duplicates = 0;
  let rerun = 0;
  const latencies: number[] = [];
  for (const task of analysis.tasks.values()) {
    if (terminalResults(task).size > 1) duplicates++;
    if (task.statuses.some((status) => (status.attempts ?? 0) > 1)) rerun++;
    if (!task.terminal) {
      lost++;
      continue;
    }
    if (task.terminal.status === "COMPLETED") completed++;
    else failed++;
    latencies.push(latencyOf(task)!);
  }
  latencies.sort((a, b) => a - b);
  const durationMs = analysis.workload.end - analysis.workload.start;
  return {
    invoked: analysis.invoked, accepted: analysis.accepted, refused: analysis.refused, unknown: analysis.unknown,
    completed, failed, lost, duplicates, rerun,
    latency: { p50: percentileOfSorted(latencies, 50), p95: percentileOfSorted(latencies, 95), p99: percentileOfSorted(latencies, 99), max: maximum(latencies) ?? Number.NaN },
    throughput: durationMs > 0 ? ((completed + failed) * 1000) / durationMs : 0,
    durationMs,
  };
}
