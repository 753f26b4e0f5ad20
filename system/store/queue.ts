/**
 * The dispatchers' side of the task queue. Submitted tasks wait in one list per function;
 * dispatchers take them round-robin over the functions that have any (the ready ring), so a
 * task waits behind its own function's backlog, not everyone's. A task taken becomes an
 * entry of a Redis Stream delivered through one consumer group, and stays in that
 * dispatcher's pending list until its result is recorded. A dispatcher that dies leaves its pending
 * entries behind; another one takes them over once the dead one's liveness key expires.
 */
import type { ChainableCommander, Redis } from "ioredis";
import { RUNTIMES, type Runtime } from "../runtimes.js";
import type { Keys } from "./keys.js";
import { movedEntries, streamEntries, takenEntries, type QueueEntry, type StreamReply } from "./replies.js";
import { loadScripts, type ScriptName, type ScriptRunner } from "./scripts.js";

/** A pipeline of the blocking connection, which has the scripts defined too. */
type TakingPipeline = ChainableCommander & { takeTasks(...keysAndArgs: (string | number)[]): ChainableCommander };

/** How many tasks a dispatcher can take now: in all, and of each runtime (the free executors that run it). */
export interface Room {
  total: number;
  byRuntime: Partial<Record<Runtime, number>>;
}

export class TaskQueue {
  private readonly scripts: Record<ScriptName, ScriptRunner>;

  /**
   * @param blocking a connection used only for blocking reads
   * @param commands a connection for everything else
   */
  constructor(
    private readonly keys: Keys,
    private readonly blocking: Redis,
    private readonly commands: Redis,
    readonly consumer: string,
  ) {
    this.scripts = loadScripts(commands);
    loadScripts(blocking); // takeTasks goes right behind a blocking read too (take)
  }

  /** Creates the consumer group if it does not exist, from the start of the stream, so tasks queued before any dispatcher ran are delivered. */
  async ensureGroup(): Promise<void> {
    try {
      await this.commands.xgroup("CREATE", this.keys.queue, this.keys.group, "0", "MKSTREAM");
    } catch (error) {
      if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
    }
  }

  /**
   * takeTasks: up to `room.total` waiting tasks, and of each runtime at most its room, one
   * function at a time in turn, as entries delivered to this dispatcher (with each task's
   * dispatch fields when `withTasks`), in one round trip. When none waits that it has room
   * for, waits up to `blockMs` for a submission and tries once more.
   */
  async take(room: Room, blockMs: number, withTasks: boolean): Promise<QueueEntry[]> {
    const args = this.takeArgs(room, withTasks);
    const [lastSubmission, ...flat] = (await this.scripts.takeTasks(...args)) as string[];
    if (flat.length > 0) return takenEntries(flat, withTasks);
    // The second take is sent behind the blocking read, on its connection: Redis runs it as soon
    // as the read returns, so a task submitted to an idle dispatcher reaches it in the read's
    // reply instead of a round trip later. It asks for the room there was before the wait; a
    // dispatcher whose room shrank meanwhile (a worker left) keeps what it cannot start yet read
    // ahead, still QUEUED, as it does with any take.
    const pipeline = this.blocking.pipeline().xread("BLOCK", Math.max(1, blockMs), "STREAMS", this.keys.submitted, lastSubmission) as TakingPipeline;
    const replies = (await pipeline.takeTasks(...args).exec()) ?? [];
    // The read only waits; what counts is the take (whatever it took is this dispatcher's now).
    const [takeError, taken] = replies[1] ?? [new Error("the take sent behind the blocking read got no reply")];
    if (takeError) throw takeError;
    const [, ...takenFlat] = taken as string[];
    return takenEntries(takenFlat, withTasks);
  }

  /** takeTasks' keys and arguments for this room. */
  private takeArgs(room: Room, withTasks: boolean): (string | number)[] {
    const rooms = RUNTIMES.flatMap((runtime) => [runtime, Math.max(0, Math.min(room.total, room.byRuntime[runtime] ?? 0))]);
    return [
      this.keys.queue, this.keys.group, this.consumer, room.total, this.keys.taskPrefix, this.keys.waitingPrefix, withTasks ? "1" : "0",
      this.keys.readyPrefix, this.keys.submitted, ...rooms,
    ];
  }

  /**
   * The entries delivered to this dispatcher and not yet finished (its pending list), read
   * again. A delivery whose reply was lost with the connection is only there.
   */
  async readOwnPending(pageSize = 1000): Promise<QueueEntry[]> {
    const entries: QueueEntry[] = [];
    for (let after = "0"; ;) {
      let reply: StreamReply;
      try {
        reply = (await this.commands.xreadgroup(
          "GROUP", this.keys.group, this.consumer, "COUNT", pageSize, "STREAMS", this.keys.queue, after,
        )) as StreamReply;
      } catch (error) {
        // Redis came back without its data (no persistence): nothing is pending; make the group again.
        if (!String((error as Error).message).includes("NOGROUP")) throw error;
        await this.ensureGroup();
        return entries;
      }
      const page = reply?.[0]?.[1] ?? [];
      for (const entry of streamEntries(reply)) entries.push(entry);
      if (page.length < pageSize) return entries;
      after = page[page.length - 1][0];
    }
  }

  /**
   * Marks this dispatcher alive for `ttlMs`, its liveness key holding `snapshot` (what
   * `GET /cluster` shows of it), and lists it among the dispatchers (those silent for an hour
   * are dropped from that list).
   */
  async heartbeat(ttlMs: number, snapshot: string = String(Date.now())): Promise<void> {
    const now = Date.now();
    const replies = await this.commands.multi()
      .set(this.keys.dispatcher(this.consumer), snapshot, "PX", ttlMs)
      .zadd(this.keys.dispatchers, now, this.consumer)
      .zremrangebyscore(this.keys.dispatchers, "-inf", now - 3_600_000)
      .exec();
    // EXEC reports a command's error in its reply rather than failing: a heartbeat must not fail silently.
    const failed = replies?.find(([error]) => error);
    if (failed) throw failed[0];
  }

  /** Withdraws this dispatcher's liveness, so others take over what it leaves at once. */
  async leave(): Promise<void> {
    await this.commands.multi().del(this.keys.dispatcher(this.consumer)).zrem(this.keys.dispatchers, this.consumer).exec();
  }

  /**
   * takeOverTasks: moves the pending entries of dispatchers whose liveness key has expired
   * to this one (one Lua step; see scripts/takeOverTasks.lua). Returns the entries moved.
   */
  async reclaimFromDeadConsumers(limit = 1000): Promise<QueueEntry[]> {
    return movedEntries((await this.scripts.takeOverTasks(this.keys.queue, this.keys.group, this.consumer, this.keys.dispatcher(""), limit)) as string[]);
  }
}
