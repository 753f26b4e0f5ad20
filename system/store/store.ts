/**
 * The task store: functions, tasks and the queue in Redis. Every change of a task's state
 * is one Lua script named after its transition (scripts/*.lua document their keys and
 * arguments); reads are plain commands.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { isTerminal, TASK_STATUSES, type TaskRecord, type TaskStatus, type TerminalStatus } from "../task.js";
import { keysFor, RECENT_FAILURES, type Keys } from "./keys.js";
import { loadScripts, type ScriptName, type ScriptRunner } from "./scripts.js";

const SOURCE_CACHE_SIZE = 1000;

export type ClaimResult =
  | { claimed: true; functionId: string; args: string; deadlineMs: number | null; attempts: number }
  | { claimed: false; reason: "terminal" | "missing" | "attempts-exhausted" };

export interface DispatchInfo {
  status: TaskStatus;
  functionId: string;
  args: string;
  deadlineMs: number | null;
  attempts: number;
}

/** A task is finished in Redis with the outcome of its (last) attempt. */
export interface Finish {
  entryId: string;
  taskId: string;
  status: TerminalStatus;
  result: string;
  executor: string;
}

/** When a task whose result was just recorded was created, started and finished (ms, Redis's clock). */
export interface FinishTimes {
  createdAt: number | null;
  startedAt: number | null;
  finishedAt: number;
}

export interface StoreOptions {
  prefix?: string;
  /** How long a finished task is kept, in seconds (0: forever). */
  resultTtlSeconds?: number;
  /** Most accepted, unfinished tasks of one function; a submission past it is refused (0: no bound). */
  maxUnfinishedPerFunction?: number;
}

/** A submission was refused: the function has its most unfinished tasks. */
export class FunctionBusyError extends Error {
  override name = "FunctionBusyError";
  constructor(readonly functionId: string, readonly bound: number) {
    super(`function ${functionId} already has ${bound} unfinished tasks, its bound; try again when some have finished`);
  }
}

export class TaskStore {
  readonly keys: Keys;
  private readonly resultTtl: number;
  /** Most accepted, unfinished tasks of one function (0: no bound). */
  readonly maxUnfinished: number;
  private readonly scripts: Record<ScriptName, ScriptRunner>;
  private readonly sources = new Map<string, string>();

  constructor(readonly redis: Redis, options: StoreOptions = {}) {
    this.keys = keysFor(options.prefix);
    this.resultTtl = options.resultTtlSeconds ?? 0;
    this.maxUnfinished = options.maxUnfinishedPerFunction ?? 0;
    this.scripts = loadScripts(redis);
  }

  async registerFunction(name: string, source: string): Promise<string> {
    const id = randomUUID();
    await this.redis.hset(this.keys.function(id), { name, source, created_at: Date.now() });
    return id;
  }

  /** A function's source; cached, since a registered function never changes. */
  async getFunctionSource(id: string): Promise<string | null> {
    const cached = this.sources.get(id);
    if (cached !== undefined) return cached;
    const source = await this.redis.hget(this.keys.function(id), "source");
    if (source !== null) {
      if (this.sources.size >= SOURCE_CACHE_SIZE) this.sources.delete(this.sources.keys().next().value!);
      this.sources.set(id, source);
    }
    return source;
  }

  /**
   * submitTask: stores the task as QUEUED and queues it. Null when the function is unknown;
   * throws FunctionBusyError when the function has its most unfinished tasks.
   */
  async submitTask(functionId: string, args: string, deadlineMs?: number): Promise<string | null> {
    const taskId = randomUUID();
    const created = await this.scripts.submitTask(
      this.keys.function(functionId), this.keys.task(taskId), this.keys.queue, this.keys.unfinished(functionId), this.keys.counts,
      taskId, functionId, args, deadlineMs === undefined ? "" : String(deadlineMs), this.maxUnfinished,
    );
    if (created === -2) throw new FunctionBusyError(functionId, this.maxUnfinished);
    return created === -1 ? null : taskId;
  }

  /** submitTasks: a batch of tasks, all stored and queued, or none (null: the function is unknown; FunctionBusyError: past its bound). */
  async submitTasks(functionId: string, argsList: readonly string[], deadlineMs?: number): Promise<string[] | null> {
    const taskIds = argsList.map(() => randomUUID());
    const pairs = taskIds.flatMap((taskId, i) => [taskId, argsList[i]]);
    const created = await this.scripts.submitTasks(
      this.keys.function(functionId), this.keys.queue, this.keys.unfinished(functionId), this.keys.counts,
      this.keys.taskPrefix, functionId, deadlineMs === undefined ? "" : String(deadlineMs), this.maxUnfinished, ...pairs,
    );
    if (created === -2) throw new FunctionBusyError(functionId, this.maxUnfinished);
    return created === -1 ? null : taskIds;
  }

  /** How many tasks of a function are accepted and not yet finished. */
  async unfinishedTasks(functionId: string): Promise<number> {
    return Number((await this.redis.get(this.keys.unfinished(functionId))) ?? 0);
  }

  /** Tasks accepted and not yet started, in the whole cluster (the QUEUED count the transition scripts keep). */
  async queuedTasks(): Promise<number> {
    return Number((await this.redis.hget(this.keys.counts, "QUEUED")) ?? 0);
  }

  /**
   * Sets the task counts by state from the tasks themselves (SCAN). For a stopped cluster:
   * tasks moving meanwhile would be miscounted. It repairs counts after tasks were made or
   * moved without them (by a faaslab older than the counts, or by hand). Returns the counts.
   */
  async recountTasks(): Promise<Record<TaskStatus, number>> {
    const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>;
    let cursor = "0";
    do {
      const [next, keys] = await this.redis.scan(cursor, "MATCH", `${this.keys.taskPrefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = this.redis.pipeline();
      for (const key of keys) pipeline.hget(key, "status");
      for (const [error, status] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        if (typeof status === "string" && status in counts) counts[status as TaskStatus]++;
      }
    } while (cursor !== "0");
    await this.redis.multi().del(this.keys.counts).hset(this.keys.counts, counts).exec();
    return counts;
  }

  /** Status and result of many tasks in one round trip (null for an unknown task). */
  async getOutcomes(taskIds: readonly string[]): Promise<({ status: TaskStatus; result: string | null } | null)[]> {
    if (taskIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const taskId of taskIds) pipeline.hmget(this.keys.task(taskId), "status", "result");
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, value]) => {
      if (error) throw error;
      const [status, result] = value as [string | null, string | null];
      return status === null ? null : { status: status as TaskStatus, result: isTerminal(status) ? result : null };
    });
  }

  async getStatus(taskId: string): Promise<TaskStatus | null> {
    return (await this.redis.hget(this.keys.task(taskId), "status")) as TaskStatus | null;
  }

  /** Status and result in one read: what GET /result needs. */
  async getOutcome(taskId: string): Promise<{ status: TaskStatus; result: string | null } | null> {
    const [status, result] = await this.redis.hmget(this.keys.task(taskId), "status", "result");
    if (status === null) return null;
    return { status: status as TaskStatus, result: isTerminal(status) ? result : null };
  }

  async getTask(taskId: string): Promise<TaskRecord | null> {
    const hash = await this.redis.hgetall(this.keys.task(taskId));
    if (!hash.status) return null;
    const numberOrNull = (value: string | undefined) => (value === undefined || value === "" ? null : Number(value));
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

  /** What a dispatcher needs to hand a task to a worker (a read: the state does not change). */
  async readForDispatch(taskId: string): Promise<DispatchInfo | null> {
    const [status, functionId, args, deadline, attempts] = await this.redis.hmget(
      this.keys.task(taskId), "status", "function_id", "args", "deadline_ms", "attempts",
    );
    if (status === null || functionId === null || args === null) return null;
    return {
      status: status as TaskStatus, functionId, args,
      deadlineMs: deadline === null || deadline === "" ? null : Number(deadline),
      attempts: Number(attempts ?? 0),
    };
  }

  /** Removes a queue entry whose task needs no more work (finished, or gone). */
  async dropEntry(entryId: string): Promise<void> {
    await this.redis.multi().xack(this.keys.queue, this.keys.group, entryId).xdel(this.keys.queue, entryId).exec();
  }

  /** claimTask: QUEUED | RUNNING -> RUNNING, or WorkerLost once attempts are used up. */
  async claimTask(entryId: string, taskId: string, worker: string, maxAttempts: number, workerLostError: string): Promise<ClaimResult> {
    const reply = (await this.scripts.claimTask(
      this.keys.task(taskId), this.keys.queue, this.keys.counts, this.keys.failures,
      this.keys.group, entryId, worker, maxAttempts, workerLostError, this.keys.finishedChannel, taskId, this.resultTtl, this.keys.unfinishedPrefix, RECENT_FAILURES,
    )) as [number, ...string[]];
    switch (reply[0]) {
      case 1: {
        const [, functionId, args, deadline, attempts] = reply;
        return { claimed: true, functionId, args, deadlineMs: deadline === "" ? null : Number(deadline), attempts: Number(attempts) };
      }
      case 0: return { claimed: false, reason: "terminal" };
      case -1: return { claimed: false, reason: "missing" };
      default: return { claimed: false, reason: "attempts-exhausted" };
    }
  }

  /** completeTask / failTask: RUNNING -> COMPLETED | FAILED. False when a result was already recorded. */
  async finishTask(finish: Finish): Promise<boolean> {
    return (await this.recordResult(finish)) !== null;
  }

  /** finishTask, giving the task's times when this result was the one recorded (null when one already was). */
  async recordResult(finish: Finish): Promise<FinishTimes | null> {
    const reply = (await this.scripts.finishTask(
      this.keys.task(finish.taskId), this.keys.queue, this.keys.counts, this.keys.failures,
      this.keys.group, finish.entryId, finish.status, finish.result, finish.executor, this.keys.finishedChannel, finish.taskId, this.resultTtl, this.keys.unfinishedPrefix,
      RECENT_FAILURES,
    )) as 0 | [1, string, string, number];
    if (reply === 0) return null;
    const time = (text: string) => (text === "" ? null : Number(text));
    return { createdAt: time(reply[1]), startedAt: time(reply[2]), finishedAt: Number(reply[3]) };
  }

  completeTask(finish: Omit<Finish, "status">): Promise<boolean> {
    return this.finishTask({ ...finish, status: "COMPLETED" });
  }

  failTask(finish: Omit<Finish, "status">): Promise<boolean> {
    return this.finishTask({ ...finish, status: "FAILED" });
  }
}
