/**
 * The executor pool: N executors (worker threads) that run user functions, held in a separate
 * executor host process (host.ts) that runs under Node's permission model with an empty
 * environment, so that code which escaped its sandbox meets a second wall. Each thread has a
 * heap limit, and a task past its deadline has its thread replaced (host-process.ts, host.ts);
 * this side starts the host and replaces it when it dies (every task it held then fails with
 * ExecutorCrashed) or goes over its memory budget (ResourceLimitExceeded).
 *
 * With `isolation: "thread"` the threads run in this process instead: no second wall, and
 * no host process (a no-op costs about a fifth less CPU); for trusted functions only.
 *
 * Given `python` options, the pool also owns a PythonPool (python-pool.ts) of as many executors,
 * and tasks of the `python` runtime go there; without them such a task fails with
 * ExecutorCrashed, as a built-in exception pickle its client can read.
 */
import type { Runtime } from "../runtimes.js";
import { serializedTaskError } from "../task.js";
import { DEFAULT_MAX_RESULT_BYTES, type ExecutorOutcome, type ExecutorTask, type PythonSettings } from "./contract.js";
import type { HostOptions } from "./host-protocol.js";
import { HostProcess } from "./host-process.js";
import { PythonPool } from "./python-pool.js";
import { ThreadPool } from "./threads.js";

export { DEFAULT_MAX_RESULT_BYTES };

/** Where the executor threads run: in the permission-restricted executor host (the default), or in this process. */
export const ISOLATION_MODES = ["process", "thread"] as const;
export type Isolation = (typeof ISOLATION_MODES)[number];

export interface ExecutorPoolOptions {
  executors: number;
  /** Heap limit of each executor, in MiB. */
  memoryMb: number;
  /** A name for the executors in task records, e.g. the dispatcher's id. */
  name: string;
  /** The longest serialized result a task may produce, in bytes (default 16 MiB); past it the task fails with ResultTooLarge. */
  maxResultBytes?: number;
  /**
   * The resident memory of the whole executor host, in MiB; past it every task running there
   * fails with ResourceLimitExceeded and the host is replaced. It catches what the heap
   * limits do not count, such as array buffers. Default: 256 + 2 × memoryMb per executor.
   */
  hostMemoryMb?: number;
  /** "process" (default): the threads run in the executor host; "thread": in this process, without the second wall. */
  isolation?: Isolation;
  /** Runs Python functions too, in a jail (python-pool.ts): the directories their modules are in, and the interpreter (default /usr/bin/python3). */
  python?: PythonSettings;
}

export class ExecutorPool {
  private readonly hostOptions: HostOptions;
  /** The live (or starting) host; undefined after one failed to start, until the next task. */
  private host: HostProcess | undefined;
  /** The threads, when they run in this process (isolation "thread"). */
  private readonly threads: ThreadPool | undefined;
  /** The Python executors, when the pool was given `python`. */
  private readonly python: PythonPool | undefined;
  private closed = false;

  constructor(private readonly options: ExecutorPoolOptions) {
    if (options.python) {
      this.python = new PythonPool({
        executors: options.executors,
        memoryMb: options.memoryMb,
        name: options.name,
        maxResultBytes: options.maxResultBytes,
        pythonPath: options.python.pythonPath,
        python: options.python.python,
      });
    }
    this.hostOptions = {
      name: options.name,
      executors: options.executors,
      memoryMb: options.memoryMb,
      maxResultBytes: options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
      memoryBudgetMb: options.hostMemoryMb ?? 256 + 2 * options.memoryMb * options.executors,
    };
    if (options.isolation === "thread") {
      this.threads = new ThreadPool({ executors: options.executors, memoryMb: options.memoryMb, maxResultBytes: this.hostOptions.maxResultBytes, name: options.name });
      return;
    }
    // Started now, so that the first task does not wait for it.
    this.host = this.startHost();
  }

  get executors(): number {
    return this.options.executors;
  }

  /** The runtimes whose functions this pool runs. */
  runtimes(): Runtime[] {
    return this.python ? ["javascript", "python"] : ["javascript"];
  }

  /** The executor host's process id (for tests and diagnostics); undefined while none runs. */
  get hostPid(): number | undefined {
    return this.host?.accepting ? this.host.pid : undefined;
  }

  /** Runs one task to a terminal outcome; never rejects. */
  async run(task: ExecutorTask, deadlineMs: number): Promise<ExecutorOutcome> {
    const crashed = (message: string): ExecutorOutcome => ({ status: "FAILED", result: serializedTaskError("ExecutorCrashed", message, task.runtime), executor: this.options.name });
    if (this.closed) return crashed("the executor pool is closed");
    if (task.runtime === "python") return this.python ? this.python.run(task, deadlineMs) : crashed("this executor has no Python runtime");
    if (this.threads) return this.threads.run(task, deadlineMs);
    if (!this.host?.accepting) this.host = this.startHost();
    return this.host.run(task, deadlineMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.host?.close(), this.threads?.close(), this.python?.close()]);
  }

  private startHost(): HostProcess {
    return new HostProcess(this.hostOptions, {
      exited: (host, wasReady) => {
        if (this.host !== host) return;
        this.host = undefined;
        if (this.closed) return;
        process.stderr.write(`executor pool ${this.options.name}: its host process (pid ${host.pid}) ended; ${wasReady ? "starting a new one" : "the next task starts a new one"}\n`);
        // A host that never became ready is not restarted in a loop: the next task tries again.
        if (wasReady) this.host = this.startHost();
      },
      overBudget: (host, rssMb) => {
        host.end("ResourceLimitExceeded", `the executor host process used ${rssMb} MiB, over its memory budget of ${this.hostOptions.memoryBudgetMb} MiB ` +
          "(memory outside an executor's heap limit, such as array buffers, counts only there); it was replaced and every task running in it was stopped");
      },
    });
  }
}
