/**
 * A worker process: N executors, one link to the dispatcher (link.ts). It registers with a
 * hello, runs the tasks it is sent, says when each one starts, and keeps every result until
 * the dispatcher acknowledges it, sending it again after a reconnection. A dispatcher silent
 * for heartbeat × tolerance is presumed gone: the worker says hello again (ZeroMQ reconnects
 * the socket by itself) and, once welcomed, reports what it still runs and resends its results.
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { PythonSettings } from "../executor/contract.js";
import { ExecutorPool, type Isolation } from "../executor/pool.js";
import { logLifecycle, type Logger } from "../log.js";
import { DISPATCHER_DEFAULTS, presumedLostAfterMs, type Heartbeat } from "../dispatcher/options.js";
import { encode, type DispatcherMessage, type RejectReason, type TaskMessage, type WorkerMessage, type WorkerMode } from "../protocol/messages.js";
import type { CurveKeyPair } from "../protocol/curve.js";
import { serializedTaskError } from "../task.js";
import type { Runtime } from "../runtimes.js";
import { demandFor, type Demand } from "./demand.js";
import { DispatcherLink } from "./link.js";

export interface WorkerOptions {
  mode: WorkerMode;
  executors: number;
  /** e.g. tcp://127.0.0.1:5555 */
  dispatcherUrl: string;
  token?: string;
  /** Encrypt the link with CURVE: the dispatcher's public key, and this worker's key pair (its public key must be in the dispatcher's allowlist). */
  curve?: { serverKey: string; keyPair: CurveKeyPair };
  executorMemoryMb: number;
  /** Largest serialized result of a task (default: the pool's). */
  maxResultBytes?: number;
  /** Where the executor threads run (default: the executor host process). */
  isolation?: Isolation;
  /** Run Python functions too (absent: JavaScript only). */
  python?: PythonSettings;
  /** Until the dispatcher's welcome says otherwise. */
  heartbeatMs?: number;
  heartbeatTolerance?: number;
}

/** The dispatcher refused this worker (a wrong token or CURVE key, the wrong mode): retrying will not help. */
export class WorkerRefused extends Error {
  override name = "WorkerRefused";
}

/** A task this worker holds until the dispatcher acknowledges its result: running, or finished. */
interface HeldTask {
  /** Its function's runtime: an error the worker itself gives it is in that runtime's format. */
  runtime: Runtime;
  /** The result message, once the task has finished. */
  result?: Extract<WorkerMessage, { type: "result" }>;
  sentAt?: number;
}

const SOURCE_CACHE_SIZE = 1000;

export class Worker {
  readonly id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 4)}`;
  private readonly link: DispatcherLink;
  private readonly pool: ExecutorPool;
  private readonly demand: Demand;
  private readonly sources = new Map<string, string>();
  /** Tasks received and not yet acknowledged: running, or finished with a result to deliver. */
  private readonly held = new Map<string, HeldTask>();
  private running = 0;
  /** Ours until the dispatcher's welcome gives its own. */
  private heartbeat: Heartbeat;
  private registered = false;
  private lastHeard = 0;
  private lastHello = 0;
  private helloBackoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  /** From the dispatcher's welcome: a result message larger than this would be cut off at its socket. */
  private maxMessageBytes: number | undefined;
  private refusedWith: ((error: WorkerRefused) => void) | undefined;
  /** Rejects when the dispatcher refuses this worker. */
  readonly refused: Promise<never>;

  private readonly log: Logger;

  constructor(private readonly options: WorkerOptions, log: Logger) {
    // Every line of this worker says which worker it is.
    this.log = log.child({ workerId: this.id });
    this.heartbeat = {
      heartbeatMs: options.heartbeatMs ?? DISPATCHER_DEFAULTS.heartbeatMs,
      heartbeatTolerance: options.heartbeatTolerance ?? DISPATCHER_DEFAULTS.heartbeatTolerance,
    };
    this.helloBackoffMs = this.heartbeat.heartbeatMs;
    this.link = new DispatcherLink(options.curve, this.log, { received: (message) => this.handle(message), refused: (reason) => this.refuse(reason) });
    this.pool = new ExecutorPool({ executors: options.executors, memoryMb: options.executorMemoryMb, maxResultBytes: options.maxResultBytes, isolation: options.isolation, python: options.python, name: this.id });
    this.demand = demandFor(options.mode, (idle) => this.send({ type: "request", idle }));
    this.refused = new Promise<never>((_, reject) => (this.refusedWith = reject));
    this.refused.catch(() => {});
  }

  start(): void {
    this.link.connect(this.options.dispatcherUrl);
    this.hello();
    this.scheduleTick();
  }

  /**
   * Stops taking tasks, lets running ones finish and their results be acknowledged (for up
   * to `graceMs`), says bye, and closes. What is still held then is recovered by the dispatcher.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.draining = true;
    if (this.registered) this.send({ type: "bye" });
    const deadline = Date.now() + graceMs;
    while (this.held.size > 0 && this.registered && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    clearTimeout(this.timer);
    await this.link.stop();
    await this.pool.close();
  }

  // --- talking to the dispatcher -------------------------------------------------------

  private refuse(reason: string): void {
    this.log.error({ reason }, "the dispatcher refused this worker");
    this.refusedWith?.(new WorkerRefused(reason));
  }

  private hello(): void {
    this.lastHello = Date.now();
    this.send({
      type: "hello", workerId: this.id, mode: this.options.mode, capacity: this.options.executors,
      ...(this.options.token === undefined ? {} : { token: this.options.token }),
      held: [...this.held.keys()],
      runtimes: this.pool.runtimes(),
    });
  }

  private scheduleTick(): void {
    this.timer = setTimeout(() => {
      this.tick();
      this.scheduleTick();
    }, this.heartbeat.heartbeatMs);
  }

  private tick(): void {
    const now = Date.now();
    const silenceMs = presumedLostAfterMs(this.heartbeat);
    if (this.registered && now - this.lastHeard > silenceMs) {
      this.registered = false;
      this.helloBackoffMs = this.heartbeat.heartbeatMs;
      this.log.warn({ silentMs: now - this.lastHeard }, "dispatcher lost; reconnecting (finished results are kept)");
    }
    if (!this.registered) {
      if (now - this.lastHello >= this.helloBackoffMs) {
        this.hello();
        this.helloBackoffMs = Math.min(this.helloBackoffMs * 2, 5000);
      }
      return;
    }
    this.send({ type: "heartbeat", running: this.executing() });
    // A result not acknowledged within the silence bound was lost on the way: send it again.
    for (const held of this.held.values()) {
      if (held.result && now - (held.sentAt ?? 0) > silenceMs) this.deliver(held);
    }
  }

  private handle(message: DispatcherMessage): void {
    this.lastHeard = Date.now();
    switch (message.type) {
      case "welcome":
        return this.welcomed(message);
      case "refused":
        return this.refuse(message.reason);
      case "task":
        return this.run(message);
      case "ack":
        this.held.delete(message.taskId);
        return;
      case "heartbeat":
        return;
      case "unknown":
        if (this.registered) this.log.info("the dispatcher does not know this worker (it restarted?); registering again");
        this.registered = false;
        if (Date.now() - this.lastHello > 100) this.hello();
        return;
    }
  }

  private welcomed(welcome: Extract<DispatcherMessage, { type: "welcome" }>): void {
    this.registered = true;
    const intervalChanged = this.heartbeat.heartbeatMs !== welcome.heartbeatMs;
    this.heartbeat = { heartbeatMs: welcome.heartbeatMs, heartbeatTolerance: welcome.heartbeatTolerance };
    this.maxMessageBytes = welcome.maxMessageBytes;
    if (intervalChanged) {
      // Beat at the dispatcher's pace from now on, not after the old interval runs out.
      clearTimeout(this.timer);
      this.scheduleTick();
    }
    logLifecycle(this.log, "registered", { dispatcherId: welcome.dispatcherId, held: this.held.size }, "registered with the dispatcher");
    for (const held of this.held.values()) if (held.result) this.deliver(held);
    if (!this.draining) this.demand.welcomed(this.options.executors - this.running);
  }

  // --- running tasks -----------------------------------------------------------------

  private run(task: TaskMessage): void {
    if (this.held.has(task.taskId)) return; // already running or finished here
    if (task.source !== undefined) {
      if (this.sources.size >= SOURCE_CACHE_SIZE) this.sources.delete(this.sources.keys().next().value!);
      this.sources.set(task.functionId, task.source);
    }
    const source = this.sources.get(task.functionId);
    // Never more tasks than executors: a task that would wait would run down its deadline waiting.
    const refusal: RejectReason | undefined = this.draining ? "leaving" : this.running >= this.options.executors ? "busy" : source === undefined ? "no-source" : undefined;
    if (refusal) {
      this.send({ type: "rejected", taskId: task.taskId, reason: refusal });
      return;
    }
    const held: HeldTask = { runtime: task.runtime ?? "javascript" };
    this.held.set(task.taskId, held);
    this.running++;
    this.send({ type: "started", taskId: task.taskId });
    this.log.debug({ taskId: task.taskId }, "task started");
    void this.pool.run({ functionId: task.functionId, source: source!, args: task.args, runtime: held.runtime }, task.deadlineMs).then(({ status, result, executor }) => {
      this.running--;
      held.result = { type: "result", taskId: task.taskId, status, result, executor };
      this.log.debug({ taskId: task.taskId, status, executor }, "task finished");
      this.deliver(held);
      if (!this.draining) this.demand.finished(this.options.executors - this.running);
    });
  }

  /** The tasks on an executor now (a held task without a result is still running). */
  private executing(): string[] {
    const running: string[] = [];
    for (const [taskId, held] of this.held) if (!held.result) running.push(taskId);
    return running;
  }

  private deliver(held: HeldTask): void {
    if (!held.result) return;
    held.sentAt = Date.now();
    let frame = encode(held.result);
    if (this.maxMessageBytes !== undefined && frame.length > this.maxMessageBytes) {
      // The dispatcher would close the connection on it, and it would be sent again after each reconnection, forever.
      held.result = {
        ...held.result, status: "FAILED",
        result: serializedTaskError("ResultTooLarge", `the result takes ${frame.length} bytes on the wire, more than the dispatcher accepts in one message (${this.maxMessageBytes}, its --max-message-bytes)`, held.runtime),
      };
      frame = encode(held.result);
    }
    this.link.sendEncoded(frame);
  }

  private send(message: WorkerMessage): void {
    this.link.send(message);
  }
}
