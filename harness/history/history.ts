/**
 * The history of a run, as Jepsen keeps it: every client operation twice (its invocation,
 * then its completion: ok, fail, or info when the outcome is unknown), every status anyone
 * observed, and the start and end of every fault. Checkers are pure functions of it; it is
 * saved as JSON lines beside the report.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import type { TaskStatus } from "../../system/task.js";

/** What the harness expects a task to end with. */
export type Expected = { ok: true; value: string } | { ok: false; name: string; message: string };

/** A status a target said that its dialect gives no faaslab name: recorded as it was said (no checker ranks it). */
type UnnamedStatus = string & { readonly unnamed?: never };

export type HistoryEvent =
  /** A client asks to execute a task. `t` is ms since the run started. */
  | { t: number; type: "invoke"; op: number; process: string; kind: string; args: string; expected: Expected }
  /** The execute request's outcome: ok (accepted, with the task id), fail (refused), info (unknown: timeout, connection lost). */
  | { t: number; type: "complete"; op: number; outcome: "ok" | "fail" | "info"; taskId?: string; error?: string }
  /**
   * A status seen by a request sent at `invokedAt`. MISSING: the task does not exist. `result`
   * is codec text, as the checkers compare it: a Python task's as the driver read it (its
   * value as plain data, its exception as an Error with the exception's name and message).
   */
  | {
      t: number; type: "status"; taskId: string; status: TaskStatus | "MISSING" | UnnamedStatus; result?: string | null; invokedAt: number; by: "client" | "observer" | "final";
      /** How many times the task was started (the final read sees the whole record). */
      attempts?: number;
    }
  /**
   * A fault begins or ends; `planned` is when the schedule had it, `targets` names what it hit,
   * `crashed` the processes it killed with SIGKILL. A fault that could not happen (its target
   * was gone) has `skipped` saying why: it is shown, and excuses nothing.
   */
  | {
      t: number; type: "fault"; phase: "start" | "end"; fault: number; description: string; planned?: number;
      targets?: string[]; crashed?: string[]; skipped?: string;
    }
  | { t: number; type: "phase"; phase: "start" | "end"; name: string }
  /** The cluster as it was started: how many executors it has in all (what the capacity check holds RUNNING tasks to). */
  | { t: number; type: "cluster"; executors: number }
  /** Something went wrong on the harness's side (a process that did not come back, a harness error): it fails the run. */
  | { t: number; type: "problem"; source: "nemesis" | "harness"; fault?: number; description: string };

export type EventOf<T extends HistoryEvent["type"]> = Extract<HistoryEvent, { type: T }>;
type Unstamped<E> = E extends HistoryEvent ? Omit<E, "t"> & { t?: number } : never;

/** The history of one run; its clock (`t`) counts from `begin()`, the workload's start, the time base of the scenario file too. */
export class History {
  readonly events: HistoryEvent[] = [];
  private started = performance.now();
  private readonly file: WriteStream | undefined;

  constructor(path?: string) {
    this.file = path ? createWriteStream(path) : undefined;
  }

  /** Sets t = 0 to now: called as the workload starts, so the history's times are the scenario file's. */
  begin(): void {
    this.started = performance.now();
  }

  /** Milliseconds since the workload started (negative before). */
  now(): number {
    return Math.round((performance.now() - this.started) * 10) / 10;
  }

  record(event: Unstamped<HistoryEvent>): HistoryEvent {
    const stamped = { ...event, t: event.t ?? this.now() } as HistoryEvent;
    this.events.push(stamped);
    this.file?.write(`${JSON.stringify(stamped)}\n`);
    return stamped;
  }

  async close(): Promise<void> {
    if (!this.file) return;
    this.file.end();
    await once(this.file, "close");
  }
}
