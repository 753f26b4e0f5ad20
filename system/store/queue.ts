/**
 * The dispatchers' side of the task queue: a Redis Stream read through one consumer group,
 * so every queued task is delivered to one dispatcher and stays in that dispatcher's
 * pending list until its result is recorded. A dispatcher that dies leaves its pending
 * entries behind; another one takes them over once the dead one's liveness key expires.
 */
import type { Redis } from "ioredis";
import type { Keys } from "./keys.js";

export interface QueueEntry {
  entryId: string;
  taskId: string;
}

type StreamReply = [stream: string, entries: [id: string, fields: string[]][]][] | null;

function entriesOf(reply: StreamReply): QueueEntry[] {
  if (!reply) return [];
  const entries: QueueEntry[] = [];
  for (const [, items] of reply) {
    for (const [entryId, fields] of items) {
      const taskIndex = fields ? fields.indexOf("task") : -1;
      if (taskIndex >= 0) entries.push({ entryId, taskId: fields[taskIndex + 1] });
    }
  }
  return entries;
}

export class TaskQueue {
  /**
   * @param blocking a connection used only for blocking reads
   * @param commands a connection for everything else
   */
  constructor(
    private readonly keys: Keys,
    private readonly blocking: Redis,
    private readonly commands: Redis,
    readonly consumer: string,
  ) {}

  /** Creates the consumer group if it does not exist, from the start of the stream, so tasks queued before any dispatcher ran are delivered. */
  async ensureGroup(): Promise<void> {
    try {
      await this.commands.xgroup("CREATE", this.keys.queue, this.keys.group, "0", "MKSTREAM");
    } catch (error) {
      if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
    }
  }

  /** Waits up to `blockMs` for at most `count` new entries. */
  async read(count: number, blockMs: number): Promise<QueueEntry[]> {
    try {
      const reply = (await this.blocking.xreadgroup(
        "GROUP", this.keys.group, this.consumer, "COUNT", count, "BLOCK", blockMs, "STREAMS", this.keys.queue, ">",
      )) as StreamReply;
      return entriesOf(reply);
    } catch (error) {
      // The group is gone when Redis restarted without persistence: make it again.
      if (String((error as Error).message).includes("NOGROUP")) {
        await this.ensureGroup();
        return [];
      }
      throw error;
    }
  }

  /** Marks this dispatcher alive for `ttlMs`. */
  async heartbeat(ttlMs: number): Promise<void> {
    await this.commands.set(this.keys.dispatcher(this.consumer), Date.now(), "PX", ttlMs);
  }

  /** Withdraws this dispatcher's liveness, so others take over what it leaves at once. */
  async leave(): Promise<void> {
    await this.commands.del(this.keys.dispatcher(this.consumer));
  }

  /**
   * Takes over the pending entries of consumers whose liveness key has expired, and drops
   * those consumers once they hold nothing. Returns the entries now owned by this consumer.
   */
  async reclaimFromDeadConsumers(limit = 1000): Promise<QueueEntry[]> {
    const consumers = (await this.commands.xinfo("CONSUMERS", this.keys.queue, this.keys.group)) as unknown[][];
    const reclaimed: QueueEntry[] = [];
    for (const info of consumers) {
      const fields = info as (string | number)[];
      const name = String(fields[fields.indexOf("name") + 1]);
      const pending = Number(fields[fields.indexOf("pending") + 1]);
      if (name === this.consumer) continue;
      if ((await this.commands.exists(this.keys.dispatcher(name))) === 1) continue;
      if (pending === 0) {
        await this.commands.xgroup("DELCONSUMER", this.keys.queue, this.keys.group, name);
        continue;
      }
      const rows = (await this.commands.xpending(this.keys.queue, this.keys.group, "-", "+", limit - reclaimed.length, name)) as [string, ...unknown[]][];
      if (rows.length === 0) continue;
      const claimed = (await this.commands.xclaim(
        this.keys.queue, this.keys.group, this.consumer, 0, ...rows.map((row) => row[0]),
      )) as [string, string[]][];
      reclaimed.push(...entriesOf([["", claimed]]));
      if (reclaimed.length >= limit) break;
    }
    return reclaimed;
  }
}
