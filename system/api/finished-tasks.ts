/**
 * Lets requests wait for tasks to finish without polling Redis: one subscriber connection
 * per API process listens to the channel on which every finished task is published, with
 * its status and result ("<id>|<status>|<result>"; the id alone when the result is large),
 * and wakes the requests waiting for it. A request registers before it reads the task, so
 * a task that finishes in between still wakes it.
 */
import type { Redis } from "ioredis";
import type { TerminalStatus } from "../task.js";

/** A finished task's outcome as published; undefined when only the id was (then read it). */
export type Published = { status: TerminalStatus; result: string } | undefined;

export class FinishedTasks {
  private readonly waiting = new Map<string, Set<(outcome: Published) => void>>();

  constructor(private readonly subscriber: Redis, private readonly channel: string) {
    subscriber.on("message", (_channel: string, message: string) => {
      const first = message.indexOf("|");
      if (first < 0) return this.wake(message, undefined);
      const second = message.indexOf("|", first + 1);
      this.wake(message.slice(0, first), { status: message.slice(first + 1, second) as TerminalStatus, result: message.slice(second + 1) });
    });
    // Messages published while the subscriber was disconnected are lost: wake everyone to re-read.
    subscriber.on("ready", () => this.wakeAll());
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
  }

  /**
   * Resolves when the task is announced finished (with its outcome, if it was published), or
   * with undefined after `timeoutMs` or on `cancel`.
   */
  wait(taskId: string, timeoutMs: number): { finished: Promise<Published>; cancel: () => void } {
    let resolveWait!: (outcome: Published) => void;
    const finished = new Promise<Published>((resolve) => (resolveWait = resolve));
    const timer = setTimeout(() => end(undefined), timeoutMs);
    const waiters = this.waiting.get(taskId) ?? new Set();
    this.waiting.set(taskId, waiters);
    const end = (outcome: Published) => {
      clearTimeout(timer);
      waiters.delete(end);
      if (waiters.size === 0 && this.waiting.get(taskId) === waiters) this.waiting.delete(taskId);
      resolveWait(outcome);
    };
    waiters.add(end);
    return { finished, cancel: () => end(undefined) };
  }

  get waiters(): number {
    let count = 0;
    for (const set of this.waiting.values()) count += set.size;
    return count;
  }

  private wake(taskId: string, outcome: Published): void {
    const waiters = this.waiting.get(taskId);
    if (!waiters) return;
    for (const end of [...waiters]) end(outcome);
  }

  private wakeAll(): void {
    for (const taskId of [...this.waiting.keys()]) this.wake(taskId, undefined);
  }
}
