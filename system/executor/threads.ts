/**
 * The executor threads of isolation "thread" (pool.ts), in the dispatcher's or worker's own
 * process: N worker threads (piscina), one task at a time each. (The executor host keeps its
 * threads itself: host.ts.) They enforce what the sandbox cannot: a task past its
 * deadline has its thread terminated (this stops an infinite loop as well), and each thread
 * has a V8 heap limit, so an out-of-memory function ends its own thread only. Piscina
 * replaces a terminated thread; the other tasks go on.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { serializedTaskError } from "../task.js";
import { executorFailure, type ExecutorOutcome, type ExecutorTask } from "./contract.js";
import type { ThreadSettings } from "./thread.js";

export interface ThreadPoolOptions extends ThreadSettings {
  executors: number;
  /** Heap limit of each executor, in MiB. */
  memoryMb: number;
}

const here = fileURLToPath(import.meta.url);
/** The compiled executor: piscina's threads run it, never vitest (which runs this module from source). */
const THREAD_FILE = here.endsWith(".ts") ? join(dirname(here), "..", "..", "dist", "system", "executor", "thread.js") : join(dirname(here), "thread.js");

export class ThreadPool {
  private readonly pool: Piscina<ExecutorTask, ExecutorOutcome>;

  constructor(private readonly options: ThreadPoolOptions) {
    const settings: ThreadSettings = { maxResultBytes: options.maxResultBytes, name: options.name };
    this.pool = new Piscina({
      filename: THREAD_FILE,
      minThreads: options.executors,
      maxThreads: options.executors,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: settings,
      resourceLimits: {
        maxOldGenerationSizeMb: options.memoryMb,
        maxYoungGenerationSizeMb: Math.max(4, Math.min(64, Math.floor(options.memoryMb / 8))),
      },
    });
    // A thread that dies after its task was already answered (a promise-chain loop stopped at
    // its deadline can still run out of memory while it is being terminated) is reported as an
    // 'error' of the pool; unheard, it would end the process. Piscina replaces the thread anyway.
    this.pool.on("error", () => {});
  }

  /** Runs one task to a terminal outcome; never rejects. */
  async run(task: ExecutorTask, deadlineMs: number): Promise<ExecutorOutcome> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), deadlineMs);
    try {
      return await this.pool.run(task, { signal: controller.signal });
    } catch (error) {
      // No thread answered: the outcome is the pool's.
      return { status: "FAILED", result: this.describeFailure(error, controller.signal.aborted, deadlineMs), executor: this.options.name };
    } finally {
      clearTimeout(timer);
    }
  }

  private describeFailure(error: unknown, deadlinePassed: boolean, deadlineMs: number): string {
    if (deadlinePassed) {
      return serializedTaskError("DeadlineExceeded", executorFailure.deadline(deadlineMs));
    }
    const code = (error as { code?: string }).code;
    if (code === "ERR_WORKER_OUT_OF_MEMORY") {
      return serializedTaskError("ResourceLimitExceeded", executorFailure.outOfMemory(this.options.memoryMb));
    }
    return serializedTaskError("ExecutorCrashed", executorFailure.died((error as Error).message));
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
