/**
 * The remote dispatcher (pull and push modes): reads tasks from the queue and hands them to
 * worker processes over ZeroMQ. This file routes: it takes each worker message to the part
 * that deals with it, and carries out what that part answers.
 *
 * - link.ts: the ROUTER socket, ZAP, handshakes, sending;
 * - registry.ts: the workers and their assignments (the state machine, no I/O);
 * - policy.ts: which worker gets the next task (pull or push);
 * - lifecycle.ts: the store transitions (a task is claimed when the worker says an executor
 *   started it; a result is recorded with finishTask, the first one wins, then acknowledged);
 * - feeder.ts: the queue. Every task stays in this dispatcher's pending list in Redis until it
 *   is finished, so a dispatcher that dies loses nothing: the next one takes its tasks over,
 *   after giving the workers that reconnect time to say which of them they still run.
 *
 * A worker silent for heartbeat × tolerance is lost: its tasks are dispatched again.
 */
import { randomUUID, timingSafeEqual } from "node:crypto";
import type { DispatcherSnapshot } from "../status/snapshot.js";
import type { Logger } from "../log.js";
import type { WorkerMessage, WorkerMode } from "../protocol/messages.js";
import type { QueueEntry } from "../store/replies.js";
import type { Room } from "../store/queue.js";
import type { Runtime } from "../runtimes.js";
import type { TaskStore } from "../store/store.js";
import { LogThrottle } from "../log-throttle.js";
import { isTerminal } from "../task.js";
import { openFeeder, type QueueFeeder } from "./feeder.js";
import { TaskLifecycle } from "./lifecycle.js";
import { WorkerLink, type CurveSettings } from "./link.js";
import { noDispatcherMetrics, type DispatcherMetrics } from "./metrics.js";
import { DISPATCHER_DEFAULTS, presumedLostAfterMs, type DispatcherOptions } from "./options.js";
import { POLICIES } from "./policy.js";
import { WorkerRegistry, type Assignment, type ConnectedWorker, type NotGiven } from "./registry.js";

export type { CurveSettings } from "./link.js";

export interface RemoteDispatcherOptions extends DispatcherOptions {
  mode: WorkerMode;
  /** Address to bind, e.g. 127.0.0.1 or 0.0.0.0. */
  host: string;
  /** Port to bind; 0 picks a free one (see `endpoint`). */
  port: number;
  /** When set, a worker must present this token to register. */
  token?: string;
  /** When set, the link is encrypted with CURVE and only workers whose public key is allowed may connect. */
  curve?: CurveSettings;
  /** Largest message accepted from a peer; a larger one closes its connection (default 64 MiB). */
  maxMessageBytes?: number;
}

type Message<T extends WorkerMessage["type"]> = Extract<WorkerMessage, { type: T }>;

export class RemoteDispatcher {
  readonly id: string;
  private readonly startedAt = Date.now();
  private readonly maxMessageBytes: number;
  private readonly link: WorkerLink;
  private readonly registry: WorkerRegistry;
  private readonly store: TaskStore;
  private readonly feeder: QueueFeeder;
  private readonly disconnect: () => void;
  private readonly lifecycle: TaskLifecycle;
  /** Tasks being read from Redis on their way to a worker. */
  private readonly dispatching = new Set<string>();
  /**
   * Tasks read ahead, still QUEUED, for the next executors to free (at most as many as the
   * workers have executors): a freed executor's next task is sent at once, without a read
   * from Redis in between. They stay in this dispatcher's pending list until finished.
   */
  private readonly readAhead = new Map<string, QueueEntry>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Messages refused (from a peer without a session, a start or result for a task not given to its sender): logged, throttled. */
  private readonly refusals = new LogThrottle();

  constructor(private readonly options: RemoteDispatcherOptions, private readonly log: Logger, private readonly metrics: DispatcherMetrics = noDispatcherMetrics) {
    this.id = `${options.mode}-${randomUUID().slice(0, 8)}`;
    this.maxMessageBytes = options.maxMessageBytes ?? DISPATCHER_DEFAULTS.maxMessageBytes;
    this.link = new WorkerLink({ host: options.host, port: options.port, maxMessageBytes: this.maxMessageBytes, curve: options.curve }, log, (from, message) => {
      // Not awaited: Redis calls of many messages pipeline, and one connection keeps their order.
      this.handle(from, message).catch((error: Error) => this.log.error({ err: error, type: message.type }, "message handling failed"));
    });
    const silenceMs = presumedLostAfterMs(options);
    this.registry = new WorkerRegistry({ policy: POLICIES[options.mode], silenceMs, withdraw: (taskId) => this.feeder.withdraw(taskId) });
    // Tasks a dead dispatcher held wait two silences for their workers to report them.
    ({ store: this.store, feeder: this.feeder, disconnect: this.disconnect } = openFeeder(options, this.id, {
      capacity: () => this.room(),
      dispatch: (entry) => this.dispatchOrReadAhead(entry),
      holds: (taskId) => this.holds(taskId),
      readsTasks: true,
      snapshot: () => this.snapshot(),
    }, 2 * silenceMs, log, () => metrics.redisError()));
    this.lifecycle = new TaskLifecycle(this.store, metrics, log, options.maxAttempts);
    metrics.observe({
      queueDepth: () => this.store.queuedTasks(),
      running: () => this.registry.running(),
      workers: () => this.registry.snapshots().map((worker) => ({ id: worker.id, free: worker.capacity - worker.busy })),
    });
  }

  /** The bound endpoint (tcp://host:port), once started. */
  get endpoint(): string {
    return this.link.endpoint;
  }

  async start(): Promise<void> {
    await this.link.start();
    this.heartbeatTimer = setInterval(() => this.beat(), this.options.heartbeatMs);
    await this.feeder.start();
  }

  /** What `GET /cluster` shows of this dispatcher and its workers. */
  snapshot(): DispatcherSnapshot {
    return {
      id: this.id, mode: this.options.mode, endpoint: this.endpoint, startedAt: this.startedAt, publishedAt: Date.now(),
      heartbeatMs: this.options.heartbeatMs, heartbeatTolerance: this.options.heartbeatTolerance,
      workers: this.registry.snapshots(),
    };
  }

  /** Stops dispatching and closes; what workers hold is recovered by the next dispatcher. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    this.readAhead.clear(); // never sent: they stay in this dispatcher's pending list, for the next one
    await this.feeder.stop();
    await this.link.stop();
    this.disconnect();
  }

  // --- dispatching -------------------------------------------------------------------

  private holds(taskId: string): boolean {
    return this.registry.holds(taskId) || this.dispatching.has(taskId) || this.readAhead.has(taskId);
  }

  /** What the feeder may read: the free executors, and as many more to read ahead. */
  private room(): Room {
    const free = this.registry.freeSlots();
    const ahead = Math.max(0, this.registry.executors() - this.readAhead.size);
    const byRuntime: Room["byRuntime"] = {};
    for (const [runtime, slots] of Object.entries(free.byRuntime) as [Runtime, number][]) byRuntime[runtime] = slots + ahead;
    return { total: free.total + ahead, byRuntime };
  }

  /** Sends a task to a worker that has a free executor for it, or keeps it for the next one that frees. */
  private dispatchOrReadAhead(entry: QueueEntry): void {
    if (this.holds(entry.taskId)) return;
    if (this.hasFreeExecutor(entry.runtime ?? entry.task?.runtime)) void this.dispatch(entry);
    else this.readAhead.set(entry.taskId, entry);
  }

  /** Executors freed (a result, a pull request, a worker joined): the tasks read ahead go first. */
  private sendReadAhead(): void {
    for (const [taskId, entry] of this.readAhead) {
      if (!this.hasFreeExecutor(entry.runtime ?? entry.task?.runtime)) continue;
      this.readAhead.delete(taskId);
      void this.dispatch(entry);
    }
  }

  private hasFreeExecutor(runtime: Runtime | undefined): boolean {
    const free = this.registry.freeSlots();
    return (runtime === undefined ? free.total : free.byRuntime[runtime] ?? 0) > 0;
  }

  private async dispatch(entry: QueueEntry): Promise<void> {
    // A reconnected worker already runs it, or it is on its way to one.
    if (this.registry.holds(entry.taskId) || this.dispatching.has(entry.taskId)) return;
    this.dispatching.add(entry.taskId);
    try {
      await this.dispatchToWorker(entry);
    } finally {
      this.dispatching.delete(entry.taskId);
    }
  }

  private async dispatchToWorker(entry: QueueEntry): Promise<void> {
    // The slot is taken before anything is awaited, so the feeder does not count it free meanwhile;
    // a task whose runtime is not known yet (taken over, put back) may have to change worker once it is.
    const worker = this.registry.reserve(entry.runtime);
    if (!worker) {
      this.feeder.putBack([entry]);
      return;
    }
    let assigned = false;
    try {
      // Entries read with `take` come with their task; the others (taken over, put back) are read now.
      const task = entry.task !== undefined ? entry.task : await this.store.readForDispatch(entry.taskId);
      // Meanwhile a reconnecting worker may have reported it, or this worker may have gone.
      if (this.registry.holds(entry.taskId)) return;
      if (!this.registry.stillTakes(worker)) {
        this.feeder.putBack([entry]);
        return;
      }
      if (task === null || isTerminal(task.status)) {
        if (entry.entryId !== undefined) await this.store.dropEntry(entry.entryId);
        return;
      }
      if (task.attempts >= this.options.maxAttempts) {
        // Lost as many times as allowed: the claim fails it with WorkerLost, recorded by this
        // dispatcher (the worker picked for another attempt had no part in it).
        await this.lifecycle.claim(entry, this.id);
        return;
      }
      if (!worker.runtimes.includes(task.runtime)) {
        // It waits in the backlog, now knowing its runtime, until a worker that runs it has room.
        this.feeder.putBack([{ ...entry, task, runtime: task.runtime }]);
        return;
      }
      const fn = this.registry.needsSource(worker, task.functionId) ? await this.store.getFunction(task.functionId) : undefined;
      if (fn === null) {
        await this.lifecycle.failMissingFunction(entry.taskId, task.functionId, this.id, task.runtime);
        return;
      }
      if (this.registry.holds(entry.taskId)) return;
      if (!this.registry.stillTakes(worker)) {
        this.feeder.putBack([{ ...entry, runtime: task.runtime }]);
        return;
      }
      this.registry.assign(worker, entry, task.functionId, fn !== undefined);
      assigned = true;
      this.log.debug({ taskId: entry.taskId, workerId: worker.id }, "task sent");
      this.link.send(worker.address, {
        type: "task", taskId: entry.taskId, functionId: task.functionId,
        ...(fn !== undefined ? { source: fn.source } : {}),
        ...(task.runtime !== "javascript" ? { runtime: task.runtime } : {}),
        args: task.args, deadlineMs: task.deadlineMs ?? this.options.taskDeadlineMs,
      });
    } catch (error) {
      this.log.error({ taskId: entry.taskId, err: error }, "could not dispatch the task; it will be tried again");
      this.metrics.redisError();
      this.metrics.redispatched(1);
      this.feeder.putBack([entry], this.options.heartbeatMs);
    } finally {
      this.registry.unreserve(worker, assigned);
      this.feeder.wake();
    }
  }

  /** Tasks recalled from a worker go back to the feeder, to be dispatched again (after `delayMs`). */
  private dispatchAgain(recalled: Assignment[], why: string, delayMs = 0): void {
    if (recalled.length === 0) return;
    this.metrics.redispatched(recalled.length);
    this.log.warn({ count: recalled.length, why, tasks: recalled.map((assignment) => assignment.taskId).slice(0, 20) }, "dispatching tasks again");
    this.feeder.putBack(recalled.map(({ taskId, entryId }) => ({ taskId, entryId })), delayMs);
  }

  // --- receiving ---------------------------------------------------------------------

  private async handle(from: Buffer, message: WorkerMessage): Promise<void> {
    if (message.type === "hello") return this.register(from, message);
    // Anything else counts only on a connection that said hello (its routing id is the worker's
    // secret, so a peer reusing a worker's shown id is a stranger). Told `unknown`, a worker
    // says hello again (and keeps its results until they are acknowledged).
    const worker = this.registry.session(from);
    if (!worker) {
      if (message.type === "bye") return;
      this.refused(`a ${message.type} from a peer that has not said hello on this connection`, { from: peerLabel(from), ...taskOf(message) });
      this.link.send(from, { type: "unknown" });
      return;
    }
    switch (message.type) {
      case "result":
        await this.recordResult(worker, message);
        // Acknowledged even when refused: the worker forgets it either way.
        this.link.send(from, { type: "ack", taskId: message.taskId });
        return;
      case "started":
        return this.markStarted(worker, message.taskId);
      case "request":
        this.registry.requested(worker, message.idle);
        this.sendReadAhead();
        this.feeder.wake();
        return;
      case "rejected":
        return this.rejected(worker, message);
      case "heartbeat":
        this.dispatchAgain(this.registry.reconcile(worker, message.running), "its worker never received them");
        // Its free executors may have changed: the read loop waits for exactly this.
        this.sendReadAhead();
        this.feeder.wake();
        return;
      case "bye":
        this.dispatchAgain(this.registry.leaving(worker), "its worker is leaving");
        return;
    }
  }

  private register(from: Buffer, hello: Message<"hello">): void {
    const refusal = this.refusal(from, hello);
    if (refusal) {
      this.log.warn({ workerId: hello.workerId, from: peerLabel(from), reason: refusal }, "worker refused");
      return this.link.send(from, { type: "refused", reason: refusal });
    }
    const { worker, rejoined, recalled } = this.registry.register(hello.workerId, from, hello.capacity, hello.held, hello.runtimes);
    this.dispatchAgain(recalled, "its worker re-registered without them");
    this.log.info({ workerId: worker.id, capacity: worker.capacity, held: hello.held.length, rejoined }, rejoined ? "worker rejoined" : "worker registered");
    this.link.send(from, {
      type: "welcome", dispatcherId: this.id, heartbeatMs: this.options.heartbeatMs, heartbeatTolerance: this.options.heartbeatTolerance,
      maxMessageBytes: this.maxMessageBytes,
    });
    this.sendReadAhead();
    this.feeder.wake();
  }

  private refused(why: string, fields: Record<string, unknown>): void {
    if (this.refusals.count(why)) this.log.warn({ ...fields, refused: this.refusals.total }, `message refused: ${why}`);
  }

  private refusal(from: Buffer, hello: Message<"hello">): string | undefined {
    if (hello.mode !== this.options.mode) return `this dispatcher runs in ${this.options.mode} mode, not ${hello.mode}: start a ${this.options.mode}-worker`;
    const expected = this.options.token;
    if (expected !== undefined) {
      const given = Buffer.from(hello.token ?? "");
      const wanted = Buffer.from(expected);
      if (hello.token === undefined) return "this dispatcher requires a worker token (--worker-token or FAAS_WORKER_TOKEN)";
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return "the worker token is wrong";
    }
    // Checked after the token, so that a stranger learns nothing of who is connected.
    if (this.registry.takenElsewhere(hello.workerId, from)) return `a worker named ${hello.workerId} is connected already, on another connection: give each worker its own id`;
    return undefined;
  }

  /** The worker cannot run a task it was sent: it goes elsewhere, or back with its function's source. */
  private rejected(worker: ConnectedWorker, rejection: Message<"rejected">): void {
    // A busy or leaving worker was sent a task it cannot take: wait a beat rather than spin on it.
    const delayMs = rejection.reason === "no-source" ? 0 : this.options.heartbeatMs;
    this.dispatchAgain(this.registry.rejected(worker, rejection.taskId, rejection.reason), `its worker rejected it (${rejection.reason})`, delayMs);
  }

  private async markStarted(worker: ConnectedWorker, taskId: string): Promise<void> {
    const assignment = this.registry.started(worker, taskId);
    if (isNotGiven(assignment)) return this.refused(`a start of a task ${assignment}`, { workerId: worker.id, taskId });
    await this.lifecycle.claim(assignment, worker.id);
  }

  /** A result counts only from the worker the task was given to (or that reported it at hello). */
  private async recordResult(worker: ConnectedWorker, result: Message<"result">): Promise<void> {
    // The executor is free now: its slot goes to the next task while the result is written.
    // Should the write fail, the worker, never acknowledged, sends the result again.
    const assignment = this.registry.finished(worker, result.taskId);
    this.sendReadAhead();
    this.feeder.wake();
    if (isNotGiven(assignment)) return this.refused(`a result of a task ${assignment}`, { workerId: worker.id, taskId: result.taskId });
    await this.lifecycle.recordResult(result.taskId, { status: result.status, result: result.result, executor: result.executor }, worker.id, assignment.sentAt);
  }

  // --- heartbeats --------------------------------------------------------------------

  /** Once a heartbeat: silent workers are lost (their tasks dispatched again), the others are sent a heartbeat. */
  private beat(): void {
    for (const { worker, silentMs, recalled } of this.registry.removeSilent()) {
      this.metrics.heartbeatMissed();
      this.log.warn({ workerId: worker.id, silentMs }, "worker lost");
      this.dispatchAgain(recalled, "their worker was lost");
    }
    for (const worker of this.registry.connected()) this.link.send(worker.address, { type: "heartbeat" });
  }
}

function isNotGiven(answer: Assignment | NotGiven): answer is NotGiven {
  return typeof answer === "string";
}

/** A peer's routing id in the log: its start only, since a worker's routing id is its session secret. */
function peerLabel(routingId: Buffer): string {
  return `${routingId.toString("hex").slice(0, 8)}…`;
}

function taskOf(message: WorkerMessage): { taskId?: string } {
  return "taskId" in message ? { taskId: message.taskId } : {};
}
