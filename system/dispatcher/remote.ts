/**
 * The remote dispatcher (pull and push modes): reads tasks from the queue and hands them to
 * worker processes over ZeroMQ (one ROUTER socket; workers connect with DEALER sockets).
 * The policy (pull.ts, push.ts) decides which worker gets a task; everything else is shared:
 *
 * - a task is claimed (RUNNING) when the worker says an executor started it;
 * - a result is recorded with finishTask (the first one wins) and then acknowledged;
 * - a worker silent for heartbeat × tolerance is lost: its tasks are dispatched again;
 * - every task stays in this dispatcher's pending list in Redis until it is finished, so a
 *   dispatcher that dies loses nothing: the next one takes its tasks over, after giving the
 *   workers that reconnect time to say which of them they are still running.
 */
import { randomUUID, timingSafeEqual } from "node:crypto";
import { Router, type EventOfType } from "zeromq";
import type { DispatcherSnapshot, WorkerSnapshot } from "../cluster/snapshot.js";
import type { Logger } from "../log.js";
import { decodeWorkerMessage, encode, ProtocolError, type DispatcherMessage, type WorkerMessage, type WorkerMode } from "../protocol/messages.js";
import type { Allowlist, CurveKeyPair } from "../protocol/curve.js";
import { SerialSender } from "../protocol/sender.js";
import { ZAP_DOMAIN, ZapHandler } from "../protocol/zap.js";
import type { QueueEntry } from "../store/replies.js";
import type { TaskStore } from "../store/store.js";
import { isTerminal, serializedTaskError } from "../task.js";
import { openFeeder, type QueueFeeder } from "./feeder.js";
import { workerLostError } from "./local.js";
import { noDispatcherMetrics, type DispatcherMetrics } from "./metrics.js";
import { DISPATCHER_DEFAULTS, type DispatcherOptions } from "./options.js";
import type { SchedulingPolicy, WorkerSlot } from "./policy.js";
import { pullPolicy } from "./pull.js";
import { pushPolicy } from "./push.js";

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

export interface CurveSettings {
  /** The dispatcher's own key pair; workers are given its public key. */
  keyPair: CurveKeyPair;
  allowlist: Allowlist;
}

interface Assignment extends QueueEntry {
  workerId: string;
  functionId: string;
  sentAt: number;
  started: boolean;
}

interface ConnectedWorker extends WorkerSlot {
  routingId: Buffer;
  assignments: Map<string, Assignment>;
  /** Tasks it reported running that another worker was given as well: they still occupy its executors. */
  shadows: Set<string>;
  /** Slots taken by tasks on their way to it (being read from Redis). */
  reserved: number;
  /** Functions whose source this worker was sent (it says `no-source` if it has lost one). */
  functions: Set<string>;
  lastSeen: number;
}

/** A worker's executors in use, as the dispatcher knows them: derived, never counted by hand. */
function newWorker(routingId: Buffer, capacity: number): ConnectedWorker {
  return {
    id: routingId.toString(), routingId, capacity, credits: 0, lastServedAt: 0, leaving: false,
    assignments: new Map(), shadows: new Set(), reserved: 0, functions: new Set(), lastSeen: Date.now(),
    get assigned() {
      return this.reserved + this.assignments.size + this.shadows.size;
    },
  };
}

const POLICIES: Record<WorkerMode, SchedulingPolicy> = { pull: pullPolicy, push: pushPolicy };

export class RemoteDispatcher {
  readonly id: string;
  endpoint = "";
  private readonly startedAt = Date.now();
  private readonly router: Router;
  private readonly zap: ZapHandler | undefined;
  private readonly maxMessageBytes: number;
  private readonly sender: SerialSender;
  private readonly store: TaskStore;
  private readonly feeder: QueueFeeder;
  private readonly disconnect: () => void;
  private readonly policy: SchedulingPolicy;
  private readonly workers = new Map<string, ConnectedWorker>();
  /** Every task handed to a worker and not finished, by task id. */
  private readonly assignments = new Map<string, Assignment>();
  /** Tasks being read from Redis on their way to a worker. */
  private readonly dispatching = new Set<string>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private receiving: Promise<void> | undefined;
  private droppedFrames = 0;
  private failedHandshakes = 0;
  private readonly failedHandshakesByCode = new Map<string, number>();

  constructor(private readonly options: RemoteDispatcherOptions, private readonly log: Logger, private readonly metrics: DispatcherMetrics = noDispatcherMetrics) {
    this.id = `${options.mode}-${randomUUID().slice(0, 8)}`;
    this.policy = POLICIES[options.mode];
    this.maxMessageBytes = options.maxMessageBytes ?? DISPATCHER_DEFAULTS.maxMessageBytes;
    const curve = options.curve;
    this.router = new Router({
      linger: 0, sendTimeout: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000,
      // libzmq closes the connection of a peer that sends more: garbage never reaches the decoder.
      maxMessageSize: this.maxMessageBytes,
      ...(curve ? { curveServer: true, curveSecretKey: curve.keyPair.secretKey, zapDomain: ZAP_DOMAIN } : {}),
    });
    this.zap = curve ? new ZapHandler(curve.allowlist, log) : undefined;
    for (const type of ["handshake:error:protocol", "handshake:error:other"] as const) {
      this.router.events.on(type, (event) => this.handshakeFailed(event));
    }
    this.sender = new SerialSender(this.router, log);
    // Tasks a dead dispatcher held wait two silences for their workers to report them.
    const takeoverDelayMs = 2 * options.heartbeatMs * options.heartbeatTolerance;
    ({ store: this.store, feeder: this.feeder, disconnect: this.disconnect } = openFeeder(options, this.id, {
      capacity: () => this.capacity(),
      dispatch: (entry) => void this.dispatch(entry),
      holds: (taskId) => this.assignments.has(taskId) || this.dispatching.has(taskId),
      readsTasks: true,
      snapshot: () => this.snapshot(),
    }, takeoverDelayMs, log, () => metrics.redisError()));
    metrics.observe({
      queueDepth: () => this.store.queuedTasks(),
      running: () => {
        let started = 0;
        for (const assignment of this.assignments.values()) if (assignment.started) started++;
        return started;
      },
      workers: () => this.workerSnapshots().map((worker) => ({ id: worker.id, free: worker.capacity - worker.busy })),
    });
  }

  async start(): Promise<void> {
    // The ZAP handler first: until it is bound, libzmq would let any CURVE client in.
    await this.zap?.start();
    await this.router.bind(`tcp://${this.options.host}:${this.options.port === 0 ? "*" : this.options.port}`);
    this.endpoint = this.router.lastEndpoint ?? "";
    this.receiving = this.receive();
    this.heartbeatTimer = setInterval(() => this.beat(), this.options.heartbeatMs);
    await this.feeder.start();
  }

  /** What `GET /cluster` shows of this dispatcher and its workers. */
  snapshot(): DispatcherSnapshot {
    return {
      id: this.id, mode: this.options.mode, endpoint: this.endpoint, startedAt: this.startedAt, publishedAt: Date.now(),
      heartbeatMs: this.options.heartbeatMs, heartbeatTolerance: this.options.heartbeatTolerance,
      workers: this.workerSnapshots(),
    };
  }

  /** The workers taking tasks (not those leaving), as the metrics and the snapshot show them. */
  private workerSnapshots(): WorkerSnapshot[] {
    return [...this.workers.values()].filter((worker) => !worker.leaving).map((worker) => ({
      id: worker.id, capacity: worker.capacity, busy: Math.min(worker.capacity, worker.assigned), lastHeartbeatAt: worker.lastSeen,
    }));
  }

  /** Stops dispatching and closes; what workers hold is recovered by the next dispatcher. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    await this.feeder.stop();
    await Promise.race([this.sender.flushed(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    this.router.close();
    await this.receiving?.catch(() => {});
    await this.zap?.stop();
    this.disconnect();
  }

  /** How long a peer may stay silent before it is presumed lost. */
  private get silenceMs(): number {
    return this.options.heartbeatMs * this.options.heartbeatTolerance;
  }

  private capacity(): number {
    let free = 0;
    for (const worker of this.workers.values()) if (!worker.leaving) free += Math.max(0, this.policy.free(worker));
    return free;
  }

  // --- dispatching -------------------------------------------------------------------

  private async dispatch(entry: QueueEntry): Promise<void> {
    // A reconnected worker already runs it, or it is on its way to one.
    if (this.assignments.has(entry.taskId) || this.dispatching.has(entry.taskId)) return;
    this.dispatching.add(entry.taskId);
    try {
      await this.dispatchToWorker(entry);
    } finally {
      this.dispatching.delete(entry.taskId);
    }
  }

  private async dispatchToWorker(entry: QueueEntry): Promise<void> {
    const worker = this.policy.pick(this.workers.values());
    if (!worker) {
      this.feeder.putBack([entry]);
      return;
    }
    // The slot is taken now, while the task is read from Redis, so no other task takes it.
    this.policy.assigned(worker);
    worker.reserved++;
    let delivered = false;
    try {
      // Entries read with `take` come with their task; the others (taken over, handed back) are read now.
      const task = entry.task !== undefined ? entry.task : await this.store.readForDispatch(entry.taskId);
      // Meanwhile a reconnecting worker may have reported it, or this worker may have gone.
      if (this.assignments.has(entry.taskId)) return;
      if (this.workers.get(worker.id) !== worker || worker.leaving) {
        this.feeder.putBack([entry]);
        return;
      }
      if (task === null || isTerminal(task.status)) {
        if (entry.entryId !== undefined) await this.store.dropEntry(entry.entryId);
        return;
      }
      if (task.attempts >= this.options.maxAttempts) {
        // Lost as many times as allowed: claimTask fails it with WorkerLost, recorded by this
        // dispatcher (the worker picked for another attempt had no part in it).
        const claim = await this.store.claimTask(entry.taskId, this.id, this.options.maxAttempts, workerLostError(this.options.maxAttempts));
        if (!claim.claimed && claim.reason === "attempts-exhausted") this.metrics.failedWithout("WorkerLost");
        this.log.warn({ taskId: entry.taskId }, "task failed with WorkerLost");
        return;
      }
      const source = worker.functions.has(task.functionId) ? undefined : await this.store.getFunctionSource(task.functionId);
      if (source === null) {
        const failed = await this.store.finishTask({
          taskId: entry.taskId, status: "FAILED", executor: this.id,
          result: serializedTaskError("ExecutorCrashed", `function ${task.functionId} does not exist`),
        });
        if (failed) this.metrics.failedWithout("ExecutorCrashed");
        return;
      }
      if (this.assignments.has(entry.taskId)) return;
      if (this.workers.get(worker.id) !== worker || worker.leaving) {
        this.feeder.putBack([entry]);
        return;
      }
      if (source !== undefined) worker.functions.add(task.functionId);
      const assignment: Assignment = { ...entry, workerId: worker.id, functionId: task.functionId, sentAt: Date.now(), started: false };
      this.assignments.set(entry.taskId, assignment);
      worker.assignments.set(entry.taskId, assignment);
      delivered = true;
      this.log.debug({ taskId: entry.taskId, workerId: worker.id }, "task sent");
      this.send(worker, {
        type: "task", taskId: entry.taskId, functionId: task.functionId,
        ...(source ? { source } : {}),
        args: task.args, deadlineMs: task.deadlineMs ?? this.options.taskDeadlineMs,
      });
    } catch (error) {
      this.log.error({ taskId: entry.taskId, err: error }, "could not dispatch the task; it will be tried again");
      this.metrics.redisError();
      this.metrics.requeued(1);
      this.feeder.putBack([entry], this.options.heartbeatMs);
    } finally {
      worker.reserved--;
      if (!delivered) this.policy.released(worker);
      this.feeder.wake();
    }
  }

  private unassign(assignment: Assignment): void {
    this.assignments.delete(assignment.taskId);
    this.workers.get(assignment.workerId)?.assignments.delete(assignment.taskId);
  }

  /**
   * Sends a worker's tasks elsewhere (it was lost, or does not have them). `release` gives a
   * pull worker back the credit of a task it never received.
   */
  private requeue(assignments: Assignment[], why: string, release = false, delayMs = 0): void {
    if (assignments.length === 0) return;
    for (const assignment of assignments) {
      const worker = this.workers.get(assignment.workerId);
      this.unassign(assignment);
      if (release && worker) this.policy.released(worker);
    }
    this.metrics.requeued(assignments.length);
    this.log.warn({ count: assignments.length, why, tasks: assignments.map((a) => a.taskId).slice(0, 20) }, "dispatching tasks again");
    this.feeder.putBack(assignments.map(({ entryId, taskId }) => ({ entryId, taskId })), delayMs);
  }

  // --- receiving ---------------------------------------------------------------------

  private async receive(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.router.receive();
      } catch {
        return; // the socket was closed
      }
      const [routingId, frame, ...extra] = frames;
      let message: WorkerMessage;
      try {
        if (extra.length > 0) throw new ProtocolError(`expected one frame, got ${frames.length - 1}`);
        message = decodeWorkerMessage(frame);
      } catch (error) {
        this.dropFrame(routingId, error as Error);
        continue;
      }
      // Not awaited: Redis calls of many messages pipeline, and one connection keeps their order.
      this.handle(routingId, message).catch((error: Error) => this.log.error({ err: error, type: message.type }, "message handling failed"));
    }
  }

  private dropFrame(routingId: Buffer | undefined, error: Error): void {
    this.droppedFrames++;
    if (this.droppedFrames <= 10 || this.droppedFrames % 1000 === 0) {
      this.log.warn({ from: routingId?.toString("hex").slice(0, 40), err: error.message, dropped: this.droppedFrames }, "message dropped");
    }
  }

  /** A peer whose handshake failed (not ZeroMQ, the wrong mechanism or server key, a broken connection): it never got in. */
  private handshakeFailed(event: EventOfType<"handshake:error:protocol" | "handshake:error:other">): void {
    this.failedHandshakes++;
    const code = (event.error as Error & { code?: string }).code;
    // Counted per kind, so that one noisy peer does not hide a different problem.
    const ofThisKind = (this.failedHandshakesByCode.get(code ?? "") ?? 0) + 1;
    this.failedHandshakesByCode.set(code ?? "", ofThisKind);
    if (ofThisKind <= 10 || ofThisKind % 1000 === 0) {
      const hint = code === "ERR_ZMTP_MECHANISM_MISMATCH" ? (this.options.curve ? "the peer does not use CURVE" : "the peer uses CURVE and this dispatcher does not")
        : code === "ERR_ZMTP_CRYPTOGRAPHIC" ? "the peer's CURVE handshake does not decrypt (does it use this dispatcher's public key?)" : undefined;
      this.log.warn({ err: event.error.message, code, hint, failed: this.failedHandshakes }, "handshake with a peer failed");
    }
  }

  private async handle(routingId: Buffer, message: WorkerMessage): Promise<void> {
    const workerId = routingId.toString();
    const worker = this.workers.get(workerId);
    if (worker) worker.lastSeen = Date.now();
    switch (message.type) {
      case "hello":
        return this.register(routingId, message);
      case "result":
        // Only from a registered worker (it keeps the result until acked, and says hello again when told `unknown`).
        if (!worker) return this.sendTo(routingId, { type: "unknown" });
        await this.recordResult(message, worker);
        this.sendTo(routingId, { type: "ack", taskId: message.taskId });
        return;
      case "started":
        if (!worker) return this.sendTo(routingId, { type: "unknown" });
        return this.markStarted(worker, message.taskId);
      case "request": {
        if (!worker) return this.sendTo(routingId, { type: "unknown" });
        // What it may still be sent: its idle executors, less the tasks already on their way to it.
        let unstarted = worker.reserved;
        for (const assignment of worker.assignments.values()) if (!assignment.started) unstarted++;
        worker.credits = Math.max(0, message.idle - unstarted);
        this.feeder.wake();
        return;
      }
      case "rejected":
        if (!worker) return this.sendTo(routingId, { type: "unknown" });
        return this.rejected(worker, message);
      case "heartbeat":
        if (!worker) return this.sendTo(routingId, { type: "unknown" });
        return this.reconcile(worker, message.running);
      case "bye":
        if (!worker) return;
        worker.leaving = true;
        this.requeue([...worker.assignments.values()].filter((a) => !a.started), "its worker is leaving");
        return;
    }
  }

  private register(routingId: Buffer, hello: Extract<WorkerMessage, { type: "hello" }>): void {
    const refusal = this.refusal(hello);
    if (refusal) {
      this.log.warn({ workerId: hello.workerId, reason: refusal }, "worker refused");
      return this.sendTo(routingId, { type: "refused", reason: refusal });
    }
    let worker = this.workers.get(routingId.toString());
    const rejoined = worker !== undefined;
    if (!worker) {
      worker = newWorker(routingId, hello.capacity);
      this.workers.set(worker.id, worker);
    }
    worker.capacity = hello.capacity;
    worker.credits = 0; // a pull worker asks again after its welcome
    worker.leaving = false;
    const running = new Set(hello.held);
    // What this dispatcher gave the worker a while ago and the worker no longer has goes elsewhere
    // (a task sent just now may still be on its way)...
    const before = Date.now() - this.silenceMs;
    this.requeue([...worker.assignments.values()].filter((a) => !running.has(a.taskId) && a.sentAt < before), "its worker re-registered without them");
    for (const taskId of worker.shadows) if (!running.has(taskId)) worker.shadows.delete(taskId);
    // ...and what the worker still runs (given by a previous dispatcher) is adopted.
    for (const taskId of hello.held) this.adopt(worker, taskId);
    this.log.info({ workerId: worker.id, capacity: worker.capacity, held: hello.held.length, rejoined }, rejoined ? "worker rejoined" : "worker registered");
    this.sendTo(routingId, {
      type: "welcome", dispatcherId: this.id, heartbeatMs: this.options.heartbeatMs, heartbeatTolerance: this.options.heartbeatTolerance,
      maxMessageBytes: this.maxMessageBytes,
    });
    this.feeder.wake();
  }

  private refusal(hello: Extract<WorkerMessage, { type: "hello" }>): string | undefined {
    if (hello.mode !== this.options.mode) return `this dispatcher runs in ${this.options.mode} mode, not ${hello.mode}: start a ${this.options.mode}-worker`;
    const expected = this.options.token;
    if (expected === undefined) return undefined;
    const given = Buffer.from(hello.token ?? "");
    const wanted = Buffer.from(expected);
    if (hello.token === undefined) return "this dispatcher requires a worker token (--token or FAAS_WORKER_TOKEN)";
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return "the worker token is wrong";
    return undefined;
  }

  private adopt(worker: ConnectedWorker, taskId: string): void {
    const existing = this.assignments.get(taskId);
    if (existing) {
      // It runs elsewhere too (the first result will win), and meanwhile it occupies an executor here.
      if (existing.workerId !== worker.id) worker.shadows.add(taskId);
      return;
    }
    const entry = this.feeder.withdraw(taskId) ?? { taskId };
    const assignment: Assignment = { ...entry, workerId: worker.id, functionId: "", sentAt: Date.now(), started: true };
    this.assignments.set(taskId, assignment);
    worker.assignments.set(taskId, assignment);
  }

  /** The worker cannot run a task it was sent: it goes elsewhere, or back with its function's source. */
  private rejected(worker: ConnectedWorker, rejection: Extract<WorkerMessage, { type: "rejected" }>): void {
    const assignment = worker.assignments.get(rejection.taskId);
    if (!assignment) return;
    if (rejection.reason === "no-source") worker.functions.delete(assignment.functionId);
    // A busy or leaving worker was sent a task it cannot take: wait a beat rather than spin on it.
    const delay = rejection.reason === "no-source" ? 0 : this.options.heartbeatMs;
    this.requeue([assignment], `its worker rejected it (${rejection.reason})`, rejection.reason === "no-source", delay);
  }

  private async markStarted(worker: ConnectedWorker, taskId: string): Promise<void> {
    const assignment = worker.assignments.get(taskId);
    if (assignment) {
      assignment.started = true;
    } else {
      // A task it was not given here (sent before it was presumed lost, or by an earlier
      // dispatcher): it occupies an executor all the same. If it runs elsewhere too, that
      // run is the one that counts, so it is not claimed again.
      const elsewhere = this.assignments.has(taskId);
      this.adopt(worker, taskId);
      if (elsewhere) return;
    }
    const claim = await this.store.claimTask(taskId, worker.id, this.options.maxAttempts, workerLostError(this.options.maxAttempts));
    if (claim.claimed) {
      this.metrics.attempted();
      this.log.debug({ taskId, workerId: worker.id }, "task started");
    } else if (claim.reason === "attempts-exhausted") {
      this.metrics.failedWithout("WorkerLost");
      this.log.warn({ taskId, workerId: worker.id }, "task failed with WorkerLost");
    }
  }

  private async recordResult(result: Extract<WorkerMessage, { type: "result" }>, worker: ConnectedWorker): Promise<void> {
    // The executor is free now: its slot goes to the next task while the result is written.
    // (Only the reporting worker's slot: if the task was re-run elsewhere, that run holds its own.)
    // Should the write fail, the worker, never acknowledged, sends the result again.
    worker.shadows.delete(result.taskId);
    const assignment = this.assignments.get(result.taskId);
    if (assignment && assignment.workerId === worker.id) this.unassign(assignment);
    this.feeder.wake();
    const recorded = await this.store.finishTask({
      taskId: result.taskId, status: result.status, result: result.result, executor: result.executor,
    });
    if (recorded) {
      this.metrics.finished(result.status, result.result, recorded, assignment?.sentAt);
      this.log.debug({ taskId: result.taskId, workerId: worker.id, status: result.status }, "task finished");
    } else {
      this.log.info({ taskId: result.taskId, workerId: worker.id }, "late result discarded: the task already had one");
    }
  }

  /**
   * Squares what the dispatcher thinks a worker holds with what the worker says it holds:
   * tasks sent a while ago that it does not list were lost on the way; tasks it lists that it
   * was not given here still occupy its executors.
   */
  private reconcile(worker: ConnectedWorker, running: string[]): void {
    const held = new Set(running);
    const before = Date.now() - this.silenceMs;
    this.requeue([...worker.assignments.values()].filter((a) => !held.has(a.taskId) && a.sentAt < before), "its worker never received them", true);
    for (const taskId of worker.shadows) if (!held.has(taskId)) worker.shadows.delete(taskId);
    for (const taskId of held) if (!worker.assignments.has(taskId)) worker.shadows.add(taskId);
    // Its free executors may have changed: the read loop waits for exactly this.
    this.feeder.wake();
  }

  // --- heartbeats --------------------------------------------------------------------

  private beat(): void {
    const deadline = Date.now() - this.silenceMs;
    for (const worker of [...this.workers.values()]) {
      if (worker.lastSeen < deadline) {
        this.workers.delete(worker.id);
        this.metrics.heartbeatMissed();
        this.log.warn({ workerId: worker.id, silentMs: Date.now() - worker.lastSeen }, "worker lost");
        this.requeue([...worker.assignments.values()], "their worker was lost");
      } else {
        this.send(worker, { type: "heartbeat" });
      }
    }
  }

  private send(worker: ConnectedWorker, message: DispatcherMessage): void {
    this.sendTo(worker.routingId, message);
  }

  private sendTo(routingId: Buffer, message: DispatcherMessage): void {
    this.sender.send([routingId, encode(message)]);
  }
}
