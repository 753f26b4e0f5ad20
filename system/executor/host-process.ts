/**
 * One executor host process (host.ts), seen from its parent: it is forked under the
 * permission model with an empty environment, is ready once it says so (within a deadline),
 * and answers each task sent to it exactly once. If it dies, every task it held ends FAILED
 * (ExecutorCrashed, or ResourceLimitExceeded when it was stopped for its memory budget), so
 * no caller's promise is ever left waiting.
 */
import { fork, type ChildProcess } from "node:child_process";
import { serializedTaskError } from "../task.js";
import type { ExecutorOutcome, ExecutorTask } from "./contract.js";
import type { FromHost, HostOptions, ToHost } from "./host-protocol.js";
import { HOST_FILE, hostExecArgv } from "./permissions.js";

/** How long a new host may take to load its modules and start its threads. */
export const HOST_READY_TIMEOUT_MS = 10_000;
/**
 * How long past a task's deadline the host may take to answer it. The host stops a late task
 * itself; only a host that no longer works misses this, and it is then replaced.
 */
const ANSWER_GRACE_MS = 5_000;
/** How long close() waits for the host to leave by itself before killing it. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface HostEvents {
  /** The process ended, for whatever reason; `wasReady` tells a crash from a failed start. */
  exited(host: HostProcess, wasReady: boolean): void;
  /** The host reported that its resident memory went past its budget. */
  overBudget(host: HostProcess, rssMb: number): void;
}

export class HostProcess {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (outcome: ExecutorOutcome) => void>();
  private nextId = 1;
  private isReady = false;
  private markReady!: (failure: string | undefined) => void;
  /** Resolves once the host is ready (undefined) or will never be (why not); never rejects. */
  private readonly ready = new Promise<string | undefined>((resolve) => (this.markReady = resolve));
  private readonly readyTimer: NodeJS.Timeout;
  /** Why the process is being ended, when its parent ended it; set before the kill. */
  private endReason: { name: "ExecutorCrashed" | "ResourceLimitExceeded"; message: string } | undefined;
  /** Set once the process is gone: why, for any task that arrives late. */
  private deathMessage: string | undefined;
  private markExited!: () => void;
  private readonly exited = new Promise<void>((resolve) => (this.markExited = resolve));

  /** The pool's name: the executor of the outcomes no thread gave (the host died, or never started). */
  private readonly name: string;

  constructor(options: HostOptions, private readonly events: HostEvents) {
    this.name = options.name;
    this.child = fork(HOST_FILE, [JSON.stringify(options)], {
      execArgv: hostExecArgv(),
      env: {}, // nothing of the parent's environment (tokens, keys) is in reach of user code
      // Its own pipes, copied to the parent's stderr (never into the parent's stdout logs): a
      // host must not hold the parent's descriptors, which whoever reads them waits on.
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "advanced",
      // A process group of its own: a terminal's Ctrl-C (SIGINT to the foreground group) must
      // reach only the parent, which stops gracefully and closes this host when its tasks are
      // done. Had the host died first, those tasks would have failed with ExecutorCrashed.
      detached: true,
    });
    this.child.stdout!.pipe(process.stderr, { end: false });
    this.child.stderr!.pipe(process.stderr, { end: false });
    this.child.on("message", (message: FromHost) => this.receive(message));
    this.child.on("exit", (code, signal) => this.died(describeExit(code, signal)));
    this.child.on("error", (error) => {
      // A failed spawn has no pid and no 'exit' to follow; other errors precede an 'exit'.
      if (this.child.pid === undefined) this.died(`it could not be started: ${error.message}`);
    });
    this.readyTimer = setTimeout(() => {
      this.end("ExecutorCrashed", `the executor host process did not report ready within ${HOST_READY_TIMEOUT_MS} ms and was killed`);
    }, HOST_READY_TIMEOUT_MS);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** False once the process is gone or being ended: new tasks go to a new host. */
  get accepting(): boolean {
    return this.deathMessage === undefined && this.endReason === undefined;
  }

  /** Runs one task in the host; never rejects. */
  async run(task: ExecutorTask, deadlineMs: number): Promise<ExecutorOutcome> {
    const notStarted = await this.ready;
    if (notStarted !== undefined) return this.crashed(`the executor host process could not start: ${notStarted}`);
    if (this.deathMessage !== undefined) return this.crashed(this.deathMessage);
    const id = this.nextId++;
    const answered = new Promise<ExecutorOutcome>((resolve) => this.pending.set(id, resolve));
    const message: ToHost = { type: "run", id, task, deadlineMs };
    this.child.send(message, (error) => {
      if (error) this.answer(id, this.crashed(`the task could not be sent to the executor host process: ${error.message}`));
    });
    const backstop = setTimeout(() => {
      this.end("ExecutorCrashed", `the executor host process did not answer within ${ANSWER_GRACE_MS} ms of the task's deadline and was replaced`);
    }, deadlineMs + ANSWER_GRACE_MS);
    try {
      return await answered;
    } finally {
      clearTimeout(backstop);
    }
  }

  /** Kills the process; every task it holds ends FAILED with this error. */
  end(name: "ExecutorCrashed" | "ResourceLimitExceeded", message: string): void {
    if (this.deathMessage !== undefined || this.endReason) return;
    this.endReason = { name, message };
    this.child.kill("SIGKILL");
  }

  /**
   * Ends the process and waits until it is gone: a ready host leaves by itself when its IPC
   * channel closes; one still starting has nothing to lose and is killed.
   */
  async close(): Promise<void> {
    if (this.deathMessage === undefined && !this.endReason) {
      this.endReason = { name: "ExecutorCrashed", message: "the executor pool was closed while the task ran" };
      if (!this.isReady) this.child.kill("SIGKILL");
      else if (this.child.connected) this.child.disconnect();
      const timer = setTimeout(() => this.child.kill("SIGKILL"), CLOSE_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  private receive(message: FromHost): void {
    switch (message.type) {
      case "ready":
        clearTimeout(this.readyTimer);
        this.isReady = true;
        this.markReady(undefined);
        break;
      case "outcome":
        this.answer(message.id, { status: message.status, result: message.result, executor: message.executor });
        break;
      case "over-budget":
        this.events.overBudget(this, message.rssMb);
        break;
    }
  }

  private answer(id: number, outcome: ExecutorOutcome): void {
    const resolve = this.pending.get(id);
    if (!resolve) return;
    this.pending.delete(id);
    resolve(outcome);
  }

  private crashed(message: string): ExecutorOutcome {
    return { status: "FAILED", result: serializedTaskError("ExecutorCrashed", message), executor: this.name };
  }

  private died(how: string): void {
    if (this.deathMessage !== undefined) return;
    clearTimeout(this.readyTimer);
    const reason = this.endReason ?? { name: "ExecutorCrashed" as const, message: `the executor host process died (${how}) while running the task` };
    this.deathMessage = reason.message;
    this.markReady(this.isReady ? undefined : this.endReason?.message ?? `it exited (${how}) before it was ready; its stderr says why`);
    for (const id of [...this.pending.keys()]) this.answer(id, { status: "FAILED", result: serializedTaskError(reason.name, reason.message), executor: this.name });
    this.markExited();
    this.events.exited(this, this.isReady);
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === "SIGABRT") return "signal SIGABRT, as V8 ends a process on a fatal error such as a failed large allocation";
  return signal ? `signal ${signal}` : `exit code ${code}`;
}


