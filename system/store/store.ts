/**
 * The task store: functions, tasks and the queue in Redis. Every change of a task's state
 * is one Lua script named after its transition (scripts/*.lua document their keys and
 * arguments); reads are plain commands.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { isRuntime, type Runtime } from "../runtimes.js";
import { TASK_STATUSES, type TaskRecord, type TaskStatus, type TerminalStatus } from "../task.js";
import { keysFor, RECENT_FAILURES, type Keys } from "./keys.js";
import { claimResult, DISPATCH_FIELDS, dispatchInfo, finishTimes, submitted, taskOutcome, taskRecord, type ClaimResult, type DispatchInfo, type FinishTimes, type TaskOutcome } from "./replies.js";
import { loadScripts, type ScriptName, type ScriptRunner } from "./scripts.js";

export { FunctionBusyError } from "./codes.js";

const SOURCE_CACHE_SIZE = 1000;

/** One error, serialized for each runtime's clients (task.ts: taskErrorForEach). */
export type RuntimeErrors = Record<Runtime, string>;

/** A registered function as the dispatchers and the API read it. */
export interface StoredFunction {
  source: string;
  runtime: Runtime;
}

/** A task is finished in Redis with the outcome of its (last) attempt. */
export interface Finish {
  taskId: string;
  status: TerminalStatus;
  result: string;
  executor: string;
}

export interface StoreOptions {
  prefix?: string;
  /** How long a finished task is kept, in seconds (0: forever). */
  resultTtlSeconds?: number;
  /** Most accepted, unfinished tasks of one function; a submission past it is refused (0: no bound). */
  maxUnfinishedPerFunction?: number;
}

export class TaskStore {
  readonly keys: Keys;
  private readonly resultTtl: number;
  /** Most accepted, unfinished tasks of one function (0: no bound). */
  readonly maxUnfinished: number;
  private readonly scripts: Record<ScriptName, ScriptRunner>;
  private readonly functions = new Map<string, StoredFunction>();

  constructor(readonly redis: Redis, options: StoreOptions = {}) {
    this.keys = keysFor(options.prefix);
    this.resultTtl = options.resultTtlSeconds ?? 0;
    this.maxUnfinished = options.maxUnfinishedPerFunction ?? 0;
    this.scripts = loadScripts(redis);
  }

  /** Stores a function; its runtime is recorded with it (JavaScript functions have none stored, as before runtimes). */
  async registerFunction(name: string, source: string, runtime: Runtime = "javascript"): Promise<string> {
    const id = randomUUID();
    await this.redis.hset(this.keys.function(id), { name, source, created_at: Date.now(), ...(runtime === "javascript" ? {} : { runtime }) });
    return id;
  }

  /** A function's source and runtime; cached, since a registered function never changes. */
  async getFunction(id: string): Promise<StoredFunction | null> {
    const cached = this.functions.get(id);
    if (cached !== undefined) return cached;
    const [source, runtime] = await this.redis.hmget(this.keys.function(id), "source", "runtime");
    if (source === null) return null;
    const stored: StoredFunction = { source, runtime: isRuntime(runtime) ? runtime : "javascript" };
    if (this.functions.size >= SOURCE_CACHE_SIZE) this.functions.delete(this.functions.keys().next().value!);
    this.functions.set(id, stored);
    return stored;
  }

  /**
   * submitTask: stores the task as QUEUED and queues it. Null when the function is unknown;
   * throws FunctionBusyError when the function has its most unfinished tasks.
   */
  async submitTask(functionId: string, args: string, deadlineMs?: number): Promise<string | null> {
    const taskId = randomUUID();
    const reply = await this.scripts.submitTask(
      this.keys.function(functionId), this.keys.task(taskId), this.keys.waiting(functionId), this.keys.unfinished(functionId), this.keys.counts,
      taskId, functionId, args, deadlineMs === undefined ? "" : String(deadlineMs), this.maxUnfinished, this.keys.readyPrefix, this.keys.submitted,
    );
    return submitted(reply, { script: "submitTask", functionId, bound: this.maxUnfinished }) ? taskId : null;
  }

  /** submitTasks: a batch of tasks, all stored and queued, or none (null: the function is unknown; FunctionBusyError: past its bound). */
  async submitTasks(functionId: string, argsList: readonly string[], deadlineMs?: number): Promise<string[] | null> {
    const taskIds = argsList.map(() => randomUUID());
    const pairs = taskIds.flatMap((taskId, i) => [taskId, argsList[i]]);
    const reply = await this.scripts.submitTasks(
      this.keys.function(functionId), this.keys.waiting(functionId), this.keys.unfinished(functionId), this.keys.counts,
      this.keys.taskPrefix, functionId, deadlineMs === undefined ? "" : String(deadlineMs), this.maxUnfinished, this.keys.readyPrefix, this.keys.submitted, ...pairs,
    );
    return submitted(reply, { script: "submitTasks", functionId, bound: this.maxUnfinished }) ? taskIds : null;
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
  async getOutcomes(taskIds: readonly string[]): Promise<(TaskOutcome | null)[]> {
    if (taskIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const taskId of taskIds) pipeline.hmget(this.keys.task(taskId), "status", "result");
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, value]) => {
      if (error) throw error;
      return taskOutcome(value as (string | null)[]);
    });
  }

  async getStatus(taskId: string): Promise<TaskStatus | null> {
    return (await this.redis.hget(this.keys.task(taskId), "status")) as TaskStatus | null;
  }

  /** Status and result in one read: what GET /result needs. */
  async getOutcome(taskId: string): Promise<TaskOutcome | null> {
    return taskOutcome(await this.redis.hmget(this.keys.task(taskId), "status", "result"));
  }

  async getTask(taskId: string): Promise<TaskRecord | null> {
    return taskRecord(taskId, await this.redis.hgetall(this.keys.task(taskId)));
  }

  /** What a dispatcher needs to hand a task to a worker (a read: the state does not change). */
  async readForDispatch(taskId: string): Promise<DispatchInfo | null> {
    return dispatchInfo(await this.redis.hmget(this.keys.task(taskId), ...DISPATCH_FIELDS));
  }

  /**
   * Removes a queue entry whose task needs no more work, by the id its dispatcher read: for a
   * task that is gone (the transitions drop the entries of the tasks they find).
   */
  async dropEntry(entryId: string): Promise<void> {
    await this.redis.multi().xack(this.keys.queue, this.keys.group, entryId).xdel(this.keys.queue, entryId).exec();
  }

  /** claimTask: QUEUED | RUNNING -> RUNNING, or FAILED with `workerLostError` once attempts are used up. */
  async claimTask(taskId: string, worker: string, maxAttempts: number, workerLostError: RuntimeErrors): Promise<ClaimResult> {
    const reply = await this.scripts.claimTask(...this.endingKeysAndArgs(taskId), worker, maxAttempts, workerLostError.javascript, workerLostError.python);
    return claimResult(reply, { script: "claimTask", taskId });
  }

  /**
   * finishTask: RUNNING -> COMPLETED | FAILED (the first result wins). The task's times when
   * this result was the one recorded; null when the task already had one, or is gone.
   */
  async finishTask(finish: Finish): Promise<FinishTimes | null> {
    const reply = await this.scripts.finishTask(...this.endingKeysAndArgs(finish.taskId), finish.status, finish.result, finish.executor);
    return finishTimes(reply, { script: "finishTask", taskId: finish.taskId });
  }

  /** The keys and first arguments of the scripts that can end a task (see scripts/includes/finish.lua). */
  private endingKeysAndArgs(taskId: string): (string | number)[] {
    return [
      this.keys.task(taskId), this.keys.queue, this.keys.counts, this.keys.failures,
      this.keys.group, this.keys.finishedChannel, taskId, this.resultTtl, this.keys.unfinishedPrefix, RECENT_FAILURES,
    ];
  }
}
