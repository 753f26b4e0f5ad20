/**
 * The loop every dispatcher runs on the queue: it reads as many tasks as its owner can take
 * now, hands each one on, keeps this dispatcher's liveness key fresh, and takes over the
 * tasks of dispatchers that died. Entries put back (their worker was lost, an error) wait
 * in a backlog and go first.
 */
import type { Redis } from "ioredis";
import type { DispatcherSnapshot } from "../status/snapshot.js";
import type { Logger } from "../log.js";
import { TaskQueue, type Room } from "../store/queue.js";
import { connectRedis } from "../store/redis.js";
import type { QueueEntry } from "../store/replies.js";
import { TaskStore } from "../store/store.js";
import { presumedLostAfterMs, type DispatcherOptions, type Heartbeat } from "./options.js";

export interface FeederOwner {
  /** How many more tasks can be handed on right now, in all and of each runtime. */
  capacity(): Room;
  /** Hands one task on; must not throw, and ignores a task it already holds. */
  dispatch(entry: QueueEntry): void;
  /** Whether it holds this task now (runs it, or is handing it on). */
  holds(taskId: string): boolean;
  /** Whether entries are read with their tasks (one round trip for both): to start or send a task while it is claimed. */
  readsTasks?: boolean;
  /** What it publishes of itself with its liveness at every heartbeat, for `GET /cluster`. */
  snapshot(): DispatcherSnapshot;
}

export interface FeederOptions extends Heartbeat {
  /** How long tasks taken over from a dead dispatcher wait before they are handed on. */
  takeoverDelayMs: number;
  /** Told of every Redis error (a connection's, or a failed command), for the metrics. */
  onRedisError?(): void;
}

/** A blocking read waits at most this long, so that handed-back tasks go out promptly. */
const READ_BLOCK_MS = 200;

/** An entry put back, and when it may go out again. */
interface BackloggedEntry {
  entry: QueueEntry;
  notBefore: number;
}

export class QueueFeeder {
  private readonly backlog: BackloggedEntry[] = [];
  private wakeUp: (() => void) | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private maintenance: NodeJS.Timeout | undefined;
  private redisDown = false;
  private maintaining = false;
  private auditRequested = false;
  private noTakeoverUntil = 0;

  constructor(
    private readonly queue: TaskQueue,
    private readonly owner: FeederOwner,
    private readonly options: FeederOptions,
    private readonly log: Logger,
    /** The connection its blocking reads use; stop() closes it to end a read in progress. */
    private readonly blocking?: Redis,
  ) {}

  async start(): Promise<void> {
    await this.queue.ensureGroup();
    await this.maintain();
    this.maintenance = setInterval(() => void this.maintain(), this.options.heartbeatMs);
    this.loop = this.run();
  }

  /** Stops reading; the tasks this dispatcher holds stay in its pending list for the next one. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.maintenance);
    this.wake();
    this.blocking?.disconnect();
    await this.loop?.catch(() => {});
    await this.queue.leave().catch(() => {});
  }

  /** The owner can take more tasks than when it last said so. */
  wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  /** Puts entries back, to be handed on again (after `delayMs`) before anything new is read. */
  putBack(entries: QueueEntry[], delayMs = 0): void {
    const notBefore = Date.now() + delayMs;
    for (const entry of entries) this.backlog.push({ entry, notBefore });
    this.wake();
  }

  /** Takes a task out of the backlog (a worker reported that it already runs it). */
  withdraw(taskId: string): QueueEntry | undefined {
    const index = this.backlog.findIndex((backlogged) => backlogged.entry.taskId === taskId);
    return index >= 0 ? this.backlog.splice(index, 1)[0].entry : undefined;
  }

  /**
   * A connection to Redis was re-established: a read whose reply was lost with the old one
   * left tasks in this dispatcher's pending list that it never received (and ioredis resends
   * an unanswered read, so no error need have been seen). The loop reads the pending list
   * again before its next read, and hands on what it does not hold.
   */
  requestAudit(): void {
    this.auditRequested = true;
    this.wake();
  }

  noteRedisDown(error: Error): void {
    if (this.stopping) return;
    this.options.onRedisError?.();
    if (this.redisDown) return;
    this.redisDown = true;
    this.log.warn({ err: error.message }, "Redis is unreachable; retrying with back-off");
  }

  noteRedisUp(): void {
    if (!this.redisDown) return;
    this.redisDown = false;
    // After an outage longer than the tolerance every dispatcher's liveness key has expired:
    // give the others time to reconnect and refresh theirs before taking over anything.
    this.noTakeoverUntil = Date.now() + 2 * presumedLostAfterMs(this.options);
    this.log.info("Redis is reachable again");
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const room = this.owner.capacity();
      if (room.total <= 0) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        continue;
      }
      const ready = this.takeReady(room);
      if (ready.length > 0) {
        for (const entry of ready) this.owner.dispatch(entry);
        continue;
      }
      if (this.auditRequested) {
        await this.audit();
        continue;
      }
      let entries: QueueEntry[];
      try {
        const blockMs = this.nextBacklogDelay() ?? READ_BLOCK_MS;
        entries = await this.queue.take(room, blockMs, this.owner.readsTasks === true);
      } catch (error) {
        if (this.stopping) break;
        this.noteRedisDown(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      this.noteRedisUp();
      for (const entry of entries) this.owner.dispatch(entry);
    }
  }

  private async audit(): Promise<void> {
    this.auditRequested = false;
    try {
      const pending = await this.queue.readOwnPending();
      // The backlog as it is now: entries handed back while the read was out are not orphans.
      const backlogged = new Set(this.backlog.map(({ entry }) => entry.taskId));
      const orphans = pending.filter((entry) => !this.owner.holds(entry.taskId) && !backlogged.has(entry.taskId));
      if (orphans.length > 0) {
        this.log.warn({ count: orphans.length, tasks: orphans.slice(0, 20).map((entry) => entry.taskId) }, "dispatching tasks whose delivery was lost with the Redis connection");
        this.putBack(orphans);
      }
      this.noteRedisUp();
    } catch (error) {
      if (this.stopping) return;
      this.auditRequested = true;
      this.noteRedisDown(error as Error);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * The backlogged entries that may go out now, within `room`: an entry whose runtime is known
   * waits while no executor of that runtime is free (a freed slot wakes the loop).
   */
  private takeReady(room: Room): QueueEntry[] {
    const now = Date.now();
    const left = { ...room.byRuntime };
    const ready: QueueEntry[] = [];
    for (let i = 0; i < this.backlog.length && ready.length < room.total; ) {
      const { entry, notBefore } = this.backlog[i];
      const runtime = entry.runtime;
      if (notBefore <= now && (runtime === undefined || (left[runtime] ?? 0) > 0)) {
        if (runtime !== undefined) left[runtime] = (left[runtime] ?? 0) - 1;
        ready.push(this.backlog.splice(i, 1)[0].entry);
      } else i++;
    }
    return ready;
  }

  /** How long until a backlogged entry's delay ends (entries only waiting for room are woken by it instead). */
  private nextBacklogDelay(): number | undefined {
    const now = Date.now();
    // A loop, not Math.min(...): the backlog has no bound a spread could take.
    const soonest = this.backlog.reduce((min, { notBefore }) => (notBefore > now ? Math.min(min, notBefore) : min), Number.POSITIVE_INFINITY);
    if (soonest === Number.POSITIVE_INFINITY) return undefined;
    return Math.max(1, Math.min(READ_BLOCK_MS, soonest - now));
  }

  private async maintain(): Promise<void> {
    // One at a time: while Redis is slow or away, calls must not pile up.
    if (this.maintaining) return;
    this.maintaining = true;
    try {
      // The liveness key outlives one silence: past it, this dispatcher is presumed lost.
      await this.queue.heartbeat(presumedLostAfterMs(this.options), JSON.stringify(this.owner.snapshot()));
      if (Date.now() < this.noTakeoverUntil) return;
      const reclaimed = await this.queue.reclaimFromDeadConsumers();
      if (reclaimed.length > 0) {
        this.log.warn({ count: reclaimed.length }, "took over the tasks of a dispatcher that died");
        this.putBack(reclaimed, this.options.takeoverDelayMs);
      }
    } catch (error) {
      if (!this.stopping) this.noteRedisDown(error as Error);
    } finally {
      this.maintaining = false;
    }
  }
}

export interface OpenFeeder {
  store: TaskStore;
  feeder: QueueFeeder;
  /** Closes the command connection (after stop(), once nothing more is written). */
  disconnect(): void;
}

/**
 * What every dispatcher needs of Redis, wired together: a command connection with the task
 * store, a connection for blocking reads, the queue, and the feeder over them, which logs a
 * Redis outage once and its end once.
 */
export function openFeeder(
  options: DispatcherOptions,
  consumer: string,
  owner: FeederOwner,
  takeoverDelayMs: number,
  log: Logger,
  onRedisError?: () => void,
): OpenFeeder {
  const commands = connectRedis(options.redisUrl, "working");
  const blocking = connectRedis(options.redisUrl, "working", { enableAutoPipelining: false });
  const store = new TaskStore(commands, { prefix: options.prefix, resultTtlSeconds: options.resultTtlSeconds });
  const queue = new TaskQueue(store.keys, blocking, commands, consumer);
  const feeder = new QueueFeeder(queue, owner, { ...options, takeoverDelayMs, onRedisError }, log, blocking);
  for (const connection of [commands, blocking]) {
    let connectedBefore = false;
    connection.on("error", (error: Error) => feeder.noteRedisDown(error));
    connection.on("ready", () => {
      if (connectedBefore) feeder.requestAudit();
      connectedBefore = true;
      feeder.noteRedisUp();
    });
  }
  return { store, feeder, disconnect: () => commands.disconnect() };
}
