/**
 * The Python executor pool: N executors for functions of the `python` runtime, in one jail
 * (python-jail.ts) that runs the zygote (python/zygote.py). The zygote forks a fresh child for
 * every task, at most N running at once (and one ahead of the next task, the spare); the child
 * applies its limits, unpickles the function and the arguments, calls it and answers with the
 * pickled return value or exception. The zygote kills a child at its deadline, and every
 * process a task left behind when it ends, before its executor takes another task.
 *
 * This side mirrors the JavaScript pool (pool.ts, host-process.ts): tasks wait for one of the N
 * executors, and the deadline counts from run(); a jail that dies fails the tasks it held with
 * ExecutorCrashed and is replaced for the next task; one that does not answer within a grace
 * period past a task's deadline is killed. Every error faaslab raises for a Python task is a
 * built-in exception pickle (codec/pickle.ts), so that any Python client can read it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pythonTaskError } from "../codec/pickle.js";
import { MAX_DEADLINE_MS, type TaskErrorName } from "../task.js";
import { DEFAULT_MAX_RESULT_BYTES, executorFailure, type ExecutorOutcome, type ExecutorTask } from "./contract.js";
import { JAIL_UID, defaultPython, jailCommand, jailContents, unreadableByJail } from "./python-jail.js";

export interface PythonPoolOptions {
  executors: number;
  /** What each task may add to the warm interpreter's address space, in MiB (RLIMIT_AS). */
  memoryMb: number;
  /** Executors are `<name>/python-<n>` in task records. */
  name: string;
  /** The longest base64 pickle a task may answer with (default 16 MiB); past it the task fails with ResultTooLarge. */
  maxResultBytes?: number;
  /** Directories of modules that functions pickled by reference need (read-only in the jail, after the standard library on sys.path). */
  pythonPath: string[];
  /** The interpreter, which must have dill (default /usr/bin/python3 if it exists, else python3 on PATH). */
  python?: string;
}

/** How long a new jail may take to start its zygote and the zygote its forker. */
export const JAIL_READY_TIMEOUT_MS = 15_000;
/** How long past a task's deadline the zygote may take to answer; a jail that misses it is replaced. */
const ANSWER_GRACE_MS = 5_000;
/** How long close() waits for the jail to leave by itself before killing it. */
const CLOSE_TIMEOUT_MS = 5_000;
/** How much of the jail's stderr is kept, to say why it did not start. */
const STDERR_KEPT = 4096;

type ErrorAnswer = { type: "outcome"; id: number; error: TaskErrorName; message: string; answered: boolean };
type ValueAnswer = { type: "outcome"; id: number; status: "COMPLETED" | "FAILED"; result: string };
type FromZygote = { type: "ready"; version: string } | ValueAnswer | ErrorAnswer;

/** `((), {})` pickled (protocol 2): the arguments of the probe task of available(). */
const NO_ARGUMENTS = Buffer.from([0x80, 2, 0x29, 0x7d, 0x86, 0x2e]).toString("base64");

export class PythonPool {
  private jail: Jail | undefined;
  private readonly free: number[];
  private readonly waiting: ((slot: number | undefined) => void)[] = [];
  private readonly python: string;
  private readonly maxResultBytes: number;
  private closed = false;

  constructor(private readonly options: PythonPoolOptions) {
    this.python = options.python ?? defaultPython();
    this.maxResultBytes = options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
    this.free = Array.from({ length: options.executors }, (_, n) => n + 1);
    // Started now, so that the first task does not wait for it.
    this.jail = this.startJail();
  }

  /**
   * Whether Python functions can run here: the interpreter with dill, bubblewrap, and a jail
   * that starts and runs a function. Never rejects.
   */
  static async available(python?: string): Promise<{ ok: true } | { ok: false; why: string }> {
    let pool: PythonPool | undefined;
    try {
      await jailContents(python ?? defaultPython());
      pool = new PythonPool({ executors: 1, memoryMb: 64, name: "probe", pythonPath: [], python });
      const outcome = await pool.run({ functionId: "probe", runtime: "python", source: "def probe():\n    return 1\n", args: NO_ARGUMENTS }, 20_000);
      if (outcome.status !== "COMPLETED") return { ok: false, why: `a probe function failed in the jail: ${pool.lastFailure ?? "see the executor's stderr"}` };
      return { ok: true };
    } catch (error) {
      return { ok: false, why: (error as Error).message };
    } finally {
      await pool?.close();
    }
  }

  get executors(): number {
    return this.options.executors;
  }

  /** The jail's bubblewrap process id (for tests and diagnostics); undefined while none runs. */
  get jailPid(): number | undefined {
    return this.jail?.accepting ? this.jail.pid : undefined;
  }

  /** Why the last jail could not start or died, when one did. */
  get lastFailure(): string | undefined {
    return this.failure;
  }

  private failure: string | undefined;

  /** Runs one task to a terminal outcome; never rejects. The deadline counts from now, waiting for an executor included. */
  async run(task: ExecutorTask, deadlineMs: number): Promise<ExecutorOutcome> {
    const start = performance.now();
    // A deadline that is not a number of milliseconds (a caller's bug) is the longest a task may have.
    deadlineMs = Number.isFinite(deadlineMs) ? Math.max(0, Math.min(deadlineMs, MAX_DEADLINE_MS)) : MAX_DEADLINE_MS;
    if (this.closed) return this.failed("ExecutorCrashed", "the executor pool is closed");
    const slot = await this.acquire(deadlineMs);
    if (slot === undefined) {
      if (this.closed) return this.failed("ExecutorCrashed", "the executor pool was closed before the task started");
      return this.failed("DeadlineExceeded", executorFailure.deadline(deadlineMs));
    }
    try {
      if (!this.jail?.accepting) this.jail = this.startJail();
      const remaining = Math.max(0, deadlineMs - (performance.now() - start));
      return await this.jail.run(task, remaining, deadlineMs, slot);
    } finally {
      this.release(slot);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.waiting.splice(0)) wake(undefined);
    await this.jail?.close();
  }

  private acquire(deadlineMs: number): Promise<number | undefined> {
    const slot = this.free.shift();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolveSlot) => {
      const wake = (slot: number | undefined) => {
        clearTimeout(timer);
        resolveSlot(slot);
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(wake);
        if (at >= 0) this.waiting.splice(at, 1);
        resolveSlot(undefined);
      }, deadlineMs);
      this.waiting.push(wake);
    });
  }

  private release(slot: number): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }

  private failed(name: TaskErrorName, message: string): ExecutorOutcome {
    return { status: "FAILED", result: pythonTaskError(name, message), executor: this.options.name };
  }

  private startJail(): Jail {
    const jail = new Jail({
      name: this.options.name,
      executors: this.options.executors,
      memoryMb: this.options.memoryMb,
      maxResultBytes: this.maxResultBytes,
      pythonPath: this.options.pythonPath.map((dir) => resolve(dir)),
      python: this.python,
    }, (ended, wasReady, why) => {
      this.failure = why;
      if (this.jail !== ended) return;
      this.jail = undefined;
      if (this.closed) return;
      process.stderr.write(`python executor pool ${this.options.name}: its jail (pid ${ended.pid}) ended: ${why}; ${wasReady ? "starting a new one" : "the next task starts a new one"}\n`);
      // A jail that never became ready is not restarted in a loop: the next task tries again.
      if (wasReady) this.jail = this.startJail();
    });
    return jail;
  }
}

interface JailOptions {
  name: string;
  executors: number;
  memoryMb: number;
  maxResultBytes: number;
  pythonPath: string[];
  python: string;
}

/** One jail running the zygote, seen from the pool: answers each task sent to it exactly once. */
class Jail {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, { resolve: (outcome: ExecutorOutcome) => void; slot: number; deadlineMs: number }>();
  private nextId = 1;
  private isReady = false;
  private markReady!: (failure: string | undefined) => void;
  private readonly ready = new Promise<string | undefined>((resolve) => (this.markReady = resolve));
  private readyTimer: NodeJS.Timeout | undefined;
  private endReason: string | undefined;
  private deathMessage: string | undefined;
  private markExited!: () => void;
  private readonly exited = new Promise<void>((resolve) => (this.markExited = resolve));
  private stdout: Buffer[] = [];
  private stderrTail = "";

  constructor(private readonly options: JailOptions, private readonly ended: (jail: Jail, wasReady: boolean, why: string) => void) {
    void this.start();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get accepting(): boolean {
    return this.deathMessage === undefined && this.endReason === undefined;
  }

  private async start(): Promise<void> {
    let command: ReturnType<typeof jailCommand>;
    try {
      const contents = await jailContents(this.options.python);
      const missing = this.options.pythonPath.find((dir) => !existsSync(dir));
      if (missing) throw new Error(`the --python-path directory ${missing} does not exist`);
      command = jailCommand(contents, this.options);
      for (const dir of command.uid === undefined ? [] : this.options.pythonPath) {
        const why = unreadableByJail(dir);
        if (why) throw new Error(`the --python-path directory ${dir} cannot be read by uid ${JAIL_UID}, which the jail runs as when this process is root: ${why}`);
      }
    } catch (error) {
      this.endReason ??= `the Python jail cannot be built: ${(error as Error).message}`;
      this.died("not started");
      return;
    }
    if (this.endReason !== undefined) {
      this.died(this.endReason);
      return;
    }
    const child = spawn(command.file, command.args, {
      env: {}, // nothing of this process's environment reaches the jail (bwrap --clearenv as well)
      stdio: ["pipe", "pipe", "pipe"],
      // A process group of its own: a terminal's Ctrl-C reaches only this process, which closes the pool.
      detached: true,
      ...(command.uid !== undefined ? { uid: command.uid, gid: command.uid } : {}),
    });
    this.child = child;
    child.stdout!.on("data", (chunk: Buffer) => this.receive(chunk));
    child.stderr!.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-STDERR_KEPT);
    });
    // A write after the zygote died fails with EPIPE; its 'exit' answers the tasks.
    child.stdin!.on("error", () => {});
    child.on("exit", (code, signal) => this.died(signal ? `signal ${signal}` : `exit code ${code}`));
    child.on("error", (error) => {
      if (child.pid === undefined) this.died(`bubblewrap could not be started: ${error.message}`);
    });
    this.readyTimer = setTimeout(() => this.end(`the Python jail did not report ready within ${JAIL_READY_TIMEOUT_MS} ms and was killed`), JAIL_READY_TIMEOUT_MS);
  }

  /** Runs one task in the jail; never rejects. `remainingMs` is what is left of its deadline of `deadlineMs`. */
  async run(task: ExecutorTask, remainingMs: number, deadlineMs: number, slot: number): Promise<ExecutorOutcome> {
    const notStarted = await this.ready;
    if (notStarted !== undefined) return this.crashed(`the Python executor could not start: ${notStarted}`);
    if (this.deathMessage !== undefined) return this.crashed(this.deathMessage);
    const id = this.nextId++;
    const answered = new Promise<ExecutorOutcome>((resolve) => this.pending.set(id, { resolve, slot, deadlineMs }));
    const line = JSON.stringify({ type: "run", id, source: task.source, args: task.args, deadlineMs: remainingMs });
    this.child!.stdin!.write(`${line}\n`);
    const backstop = setTimeout(() => {
      this.end(`the Python executor did not answer within ${ANSWER_GRACE_MS} ms of the task's deadline and its jail was replaced`);
    }, remainingMs + ANSWER_GRACE_MS);
    try {
      return await answered;
    } finally {
      clearTimeout(backstop);
    }
  }

  /** Kills the jail; every task it holds ends FAILED with ExecutorCrashed and this message. */
  end(message: string): void {
    if (this.deathMessage !== undefined || this.endReason !== undefined) return;
    this.endReason = message;
    if (this.child?.pid !== undefined) this.kill();
  }

  /** Ends the jail and waits until it is gone: the zygote ends every task and exits when its stdin closes. */
  async close(): Promise<void> {
    if (this.deathMessage === undefined && this.endReason === undefined) {
      this.endReason = "the executor pool was closed while the task ran";
      if (this.child?.pid === undefined) {
        // Still being built: start() sees endReason and gives up.
      } else if (!this.isReady) this.kill();
      else this.child.stdin!.end();
      const timer = setTimeout(() => this.kill(), CLOSE_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  private kill(): void {
    try {
      // The whole group: bubblewrap, and through --die-with-parent everything in the jail.
      process.kill(-this.child!.pid!, "SIGKILL");
    } catch {
      this.child?.kill("SIGKILL");
    }
  }

  private receive(chunk: Buffer): void {
    let at = chunk.indexOf(0x0a);
    if (at < 0) {
      this.stdout.push(chunk);
      return;
    }
    let rest = chunk;
    while (at >= 0) {
      const line = Buffer.concat([...this.stdout, rest.subarray(0, at)]).toString("utf8");
      this.stdout = [];
      rest = rest.subarray(at + 1);
      this.message(line);
      at = rest.indexOf(0x0a);
    }
    if (rest.length > 0) this.stdout.push(rest);
  }

  private message(line: string): void {
    let message: FromZygote;
    try {
      message = JSON.parse(line) as FromZygote;
    } catch {
      this.end("the Python executor wrote something that is not one of its messages");
      return;
    }
    if (message.type === "ready") {
      clearTimeout(this.readyTimer);
      this.isReady = true;
      this.markReady(undefined);
      return;
    }
    if (message.type !== "outcome") return;
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    const executor = `${this.options.name}/python-${waiting.slot}`;
    if ("error" in message) {
      // The zygote counts the deadline from when it got the task; the client set it from run().
      const text = message.error === "DeadlineExceeded" ? executorFailure.deadline(waiting.deadlineMs) : message.message;
      waiting.resolve({ status: "FAILED", result: pythonTaskError(message.error, text), executor: message.answered ? executor : this.options.name });
    } else if (message.result.length > this.options.maxResultBytes) {
      const what = message.status === "COMPLETED" ? "result" : "exception";
      waiting.resolve({ status: "FAILED", result: pythonTaskError("ResultTooLarge", `the pickled ${what} is ${message.result.length} bytes, over the limit of ${this.options.maxResultBytes} bytes`), executor });
    } else {
      waiting.resolve({ status: message.status, result: message.result, executor });
    }
  }

  private crashed(message: string): ExecutorOutcome {
    return { status: "FAILED", result: pythonTaskError("ExecutorCrashed", message), executor: this.options.name };
  }

  private died(how: string): void {
    if (this.deathMessage !== undefined) return;
    clearTimeout(this.readyTimer);
    const said = this.stderrTail.trim().split("\n").pop();
    const message = this.endReason ?? (this.isReady
      ? `the Python executor's jail died (${how}) while running the task`
      : `its jail exited (${how}) before it was ready${said ? `: ${said}` : ""}`);
    this.deathMessage = message;
    this.markReady(this.isReady ? undefined : message);
    for (const [id, waiting] of [...this.pending]) {
      this.pending.delete(id);
      waiting.resolve(this.crashed(message));
    }
    this.markExited();
    this.ended(this, this.isReady, message);
  }
}
