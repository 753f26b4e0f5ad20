/**
 * The executor pool: N worker threads (piscina), one task at a time each. It enforces what
 * the sandbox cannot: a task past its deadline has its thread terminated (this stops an
 * infinite loop as well), and each thread has a V8 heap limit, so an out-of-memory function
 * ends its own thread only. Piscina replaces a terminated thread; the other tasks go on.
 */
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { serializedTaskError, type TerminalStatus } from "../task.js";
import type { ExecutorResult, ExecutorTask } from "./thread.js";

export interface ExecutorPoolOptions {
  executors: number;
  /** Heap limit of each executor, in MiB. */
  memoryMb: number;
  /** A name for the executors in task records, e.g. the dispatcher's id. */
  name: string;
}

export interface ExecutionOutcome {
  status: TerminalStatus;
  result: string;
  /** Which executor produced the outcome. */
  executor: string;
}

const THREAD_FILE = fileURLToPath(new URL("./thread.js", import.meta.url));

export class ExecutorPool {
  private readonly pool: Piscina<ExecutorTask, ExecutorResult>;

  constructor(private readonly options: ExecutorPoolOptions) {
    this.pool = new Piscina({
      filename: THREAD_FILE,
      minThreads: options.executors,
      maxThreads: options.executors,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      resourceLimits: {
        maxOldGenerationSizeMb: options.memoryMb,
        maxYoungGenerationSizeMb: Math.max(4, Math.min(64, Math.floor(options.memoryMb / 8))),
      },
    });
  }

  get executors(): number {
    return this.options.executors;
  }

  /** Runs one task to a terminal outcome; never rejects. */
  async run(task: ExecutorTask, deadlineMs: number): Promise<ExecutionOutcome> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), deadlineMs);
    try {
      const { status, result, threadId } = await this.pool.run(task, { signal: controller.signal });
      return { status, result, executor: `${this.options.name}/thread-${threadId}` };
    } catch (error) {
      return { status: "FAILED", result: this.describeFailure(error, controller.signal.aborted, deadlineMs), executor: this.options.name };
    } finally {
      clearTimeout(timer);
    }
  }

  private describeFailure(error: unknown, deadlinePassed: boolean, deadlineMs: number): string {
    if (deadlinePassed) {
      return serializedTaskError("DeadlineExceeded", `the task ran past its deadline of ${deadlineMs} ms and was stopped`);
    }
    const code = (error as { code?: string }).code;
    if (code === "ERR_WORKER_OUT_OF_MEMORY") {
      return serializedTaskError("ResourceLimitExceeded", `the function ran out of the executor's memory limit of ${this.options.memoryMb} MiB`);
    }
    return serializedTaskError("ExecutorCrashed", `the executor died while running the task: ${(error as Error).message}`);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
