/**
 * Lets requests wait for tasks to finish without polling Redis: one subscriber connection
 * per API process listens to the channel on which every finished task's id is published,
 * and wakes the requests waiting for that id. A request registers before it reads the task,
 * so a task that finishes in between still wakes it.
 */
import type { Redis } from "ioredis";

export class FinishedTasks {
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(private readonly subscriber: Redis, private readonly channel: string) {
    subscriber.on("message", (_channel: string, taskId: string) => this.wake(taskId));
    // Messages published while the subscriber was disconnected are lost: wake everyone to re-read.
    subscriber.on("ready", () => this.wakeAll());
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
  }

  /** Resolves when the task is announced finished, or after `timeoutMs`. Call `cancel` when done early. */
  wait(taskId: string, timeoutMs: number): { finished: Promise<void>; cancel: () => void } {
    let resolveWait!: () => void;
    const finished = new Promise<void>((resolve) => (resolveWait = resolve));
    const timer = setTimeout(() => cancel(), timeoutMs);
    const waiters = this.waiting.get(taskId) ?? new Set();
    this.waiting.set(taskId, waiters);
    const cancel = () => {
      clearTimeout(timer);
      waiters.delete(wake);
      if (waiters.size === 0 && this.waiting.get(taskId) === waiters) this.waiting.delete(taskId);
      resolveWait();
    };
    const wake = () => cancel();
    waiters.add(wake);
    return { finished, cancel };
  }

  get waiters(): number {
    let count = 0;
    for (const set of this.waiting.values()) count += set.size;
    return count;
  }

  private wake(taskId: string): void {
    const waiters = this.waiting.get(taskId);
    if (!waiters) return;
    for (const wake of [...waiters]) wake();
  }

  private wakeAll(): void {
    for (const taskId of [...this.waiting.keys()]) this.wake(taskId);
  }
}
