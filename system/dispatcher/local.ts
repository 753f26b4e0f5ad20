/**
 * The local dispatcher: reads tasks from the queue and runs them on its own executor pool,
 * never holding more tasks than it has free executors. Its liveness key lets another
 * dispatcher take over its unfinished tasks if it dies; it takes over those of dead ones.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { ExecutorPool } from "../executor/pool.js";
import type { Logger } from "../log.js";
import { connectRedis } from "../store/redis.js";
import { TaskQueue, type QueueEntry } from "../store/queue.js";
import { TaskStore } from "../store/store.js";
import { serializedTaskError } from "../task.js";
import type { DispatcherOptions } from "./options.js";

export interface LocalDispatcherOptions extends DispatcherOptions {
  executors: number;
  executorMemoryMb: number;
}

/** How long one blocking read waits before the loop looks around again. */
const READ_BLOCK_MS = 1000;

export class LocalDispatcher {
  readonly id = `local-${randomUUID().slice(0, 8)}`;
  private readonly commands: Redis;
  private readonly blocking: Redis;
  private readonly store: TaskStore;
  private readonly queue: TaskQueue;
  private readonly pool: ExecutorPool;
  private readonly sources = new Map<string, string>();
  private readonly backlog: QueueEntry[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private slotFreed: (() => void) | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private maintenance: NodeJS.Timeout | undefined;
  private redisDown = false;

  constructor(private readonly options: LocalDispatcherOptions, private readonly log: Logger) {
    this.commands = connectRedis(options.redisUrl, "working");
    this.blocking = connectRedis(options.redisUrl, "working", { enableAutoPipelining: false });
    this.store = new TaskStore(this.commands, { prefix: options.prefix, resultTtlSeconds: options.resultTtlSeconds });
    this.queue = new TaskQueue(this.store.keys, this.blocking, this.commands, this.id);
    this.pool = new ExecutorPool({ executors: options.executors, memoryMb: options.executorMemoryMb, name: this.id });
    this.commands.on("error", (error) => this.noteRedisDown(error));
    this.blocking.on("error", (error) => this.noteRedisDown(error));
    this.commands.on("ready", () => this.noteRedisUp());
  }

  async start(): Promise<void> {
    await this.queue.ensureGroup();
    await this.maintain();
    this.maintenance = setInterval(() => void this.maintain(), this.options.heartbeatMs);
    this.loop = this.run();
  }

  /** Stops taking tasks, lets running ones finish for up to `graceMs`, then closes. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    clearInterval(this.maintenance);
    this.slotFreed?.();
    this.blocking.disconnect();
    await this.loop?.catch(() => {});
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    await this.queue.leave().catch(() => {});
    await this.pool.close();
    this.commands.disconnect();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const free = this.options.executors - this.inflight.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      let entries: QueueEntry[];
      if (this.backlog.length > 0) {
        entries = this.backlog.splice(0, free);
      } else {
        try {
          entries = await this.queue.read(free, READ_BLOCK_MS);
        } catch (error) {
          if (this.stopping) break;
          this.noteRedisDown(error as Error);
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
      }
      for (const entry of entries) this.track(this.handle(entry));
    }
  }

  private track(work: Promise<void>): void {
    this.inflight.add(work);
    void work.finally(() => {
      this.inflight.delete(work);
      const wake = this.slotFreed;
      this.slotFreed = undefined;
      wake?.();
    });
  }

  private async handle({ entryId, taskId }: QueueEntry): Promise<void> {
    try {
      const claim = await this.store.claimTask(
        entryId, taskId, this.id, this.options.maxAttempts,
        serializedTaskError("WorkerLost", `the task was started ${this.options.maxAttempts} times and each time its dispatcher or worker was lost`),
      );
      if (!claim.claimed) {
        if (claim.reason === "attempts-exhausted") this.log.warn({ taskId }, "task failed with WorkerLost");
        return;
      }
      const source = await this.functionSource(claim.functionId);
      const outcome = source === null
        ? { status: "FAILED" as const, result: serializedTaskError("ExecutorCrashed", `function ${claim.functionId} does not exist`), executor: this.id }
        : await this.pool.run({ functionId: claim.functionId, source, args: claim.args }, claim.deadlineMs ?? this.options.taskDeadlineMs);
      const recorded = await this.store.finishTask({ entryId, taskId, ...outcome });
      if (!recorded) this.log.info({ taskId }, "late result discarded: the task already had one");
    } catch (error) {
      // Left in this dispatcher's pending list: it is retried when the entry is reclaimed.
      this.log.error({ taskId, err: error }, "task handling failed");
    }
  }

  private async functionSource(functionId: string): Promise<string | null> {
    const cached = this.sources.get(functionId);
    if (cached !== undefined) return cached;
    const source = await this.store.getFunctionSource(functionId);
    if (source !== null) this.sources.set(functionId, source);
    return source;
  }

  /** Refreshes liveness and takes over the tasks of dispatchers that died. */
  private async maintain(): Promise<void> {
    try {
      await this.queue.heartbeat(this.options.heartbeatMs * this.options.heartbeatTolerance);
      const reclaimed = await this.queue.reclaimFromDeadConsumers();
      if (reclaimed.length > 0) {
        this.log.warn({ count: reclaimed.length }, "took over tasks of a dispatcher that died");
        this.backlog.push(...reclaimed);
      }
    } catch (error) {
      if (!this.stopping) this.noteRedisDown(error as Error);
    }
  }

  private noteRedisDown(error: Error): void {
    if (this.redisDown || this.stopping) return;
    this.redisDown = true;
    this.log.warn({ err: error.message }, "Redis is unreachable; retrying with back-off");
  }

  private noteRedisUp(): void {
    if (!this.redisDown) return;
    this.redisDown = false;
    this.log.info("Redis is reachable again");
  }
}
