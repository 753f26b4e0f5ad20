/**
 * A remote dispatcher's worker registry: the workers connected to it, what each was given (its
 * assignments), what each runs that another worker was given as well (its shadows), the slots
 * reserved for tasks on their way to it, and when each was last heard from.
 *
 * It is the assignment state machine alone, without sockets or Redis (majordomo keeps its
 * broker apart from its service in the same way): each method changes the state and returns
 * what the caller must do about it, above all the assignments it took back from a worker
 * ("recalled": they are to be dispatched again). The clock and the feeder's backlog are
 * injected, so test/unit/registry.test.ts runs it without any process.
 *
 * Who a worker is: the connection its hello came on (its routing id, a secret the worker draws
 * at start and never shows) bound to the id the hello named. A message counts only from the
 * connection that said hello; a result or a start counts only from the worker the task was
 * given to (issue 14: a forged heartbeat or result must not act for anyone).
 *
 * How a worker's executors are counted: `assigned` is derived (reserved + assignments +
 * shadows), never counted by hand; the policy (policy.ts) turns it into free slots.
 */
import type { WorkerSnapshot } from "../status/snapshot.js";
import type { RejectReason } from "../protocol/messages.js";
import type { QueueEntry } from "../store/replies.js";
import type { Room } from "../store/queue.js";
import type { Runtime } from "../runtimes.js";
import type { SchedulingPolicy, WorkerSlot } from "./policy.js";

export interface Assignment {
  taskId: string;
  /** The queue entry it was read from, when this dispatcher read it (not when adopted from a worker). */
  entryId?: string;
  workerId: string;
  /** The task's function ("" when adopted: the worker had it already). */
  functionId: string;
  sentAt: number;
  /** The worker said an executor started it. */
  started: boolean;
}

export interface ConnectedWorker extends WorkerSlot {
  /** How the link reaches it (the routing id of the connection its hello came on); opaque here. */
  readonly address: Buffer;
  readonly assignments: Map<string, Assignment>;
  /** Tasks it reported running that another worker was given as well: they still occupy its executors. */
  readonly shadows: Set<string>;
  /** Slots taken by tasks on their way to it (being read from Redis). */
  reserved: number;
  /** Functions whose source it was sent (it says `no-source` if it has lost one). */
  readonly functions: Set<string>;
  lastSeen: number;
  /** The runtimes its executors run, from its hello. */
  runtimes: readonly Runtime[];
}

export interface RegistryOptions {
  policy: SchedulingPolicy;
  /**
   * The silence after which a worker is presumed lost (heartbeat × tolerance). It is also how
   * long a task may take to reach its worker: one sent longer ago that the worker does not
   * report was lost on the way.
   */
  silenceMs: number;
  /** Takes a task out of the feeder's backlog when a worker turns out to run it already. */
  withdraw(taskId: string): QueueEntry | undefined;
  now?: () => number;
}

/** What a hello did. */
export interface Registration {
  worker: ConnectedWorker;
  /** It was registered already (it reconnected, or its dispatcher had presumed it lost and it came back). */
  rejoined: boolean;
  /** Given to it a while ago, and not among what it holds: they are to be dispatched again. */
  recalled: Assignment[];
}

/** A worker presumed lost, and the assignments taken back from it. */
export interface Loss {
  worker: ConnectedWorker;
  silentMs: number;
  recalled: Assignment[];
}

/** Why a start or a result from a worker does not count. */
export type NotGiven = "given to another worker" | "not given to any worker";

export class WorkerRegistry {
  /** By the id each hello named. */
  private readonly workers = new Map<string, ConnectedWorker>();
  /** The same workers, by the connection their hello came on (address as hex). */
  private readonly sessions = new Map<string, ConnectedWorker>();
  /** Every task handed to a worker and not finished, by task id. */
  private readonly assignments = new Map<string, Assignment>();
  private readonly now: () => number;

  constructor(private readonly options: RegistryOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The worker whose hello came on this connection, its last-heard time updated (every message
   * of its session counts as a sign of life); undefined for a peer that has not said hello.
   */
  session(address: Buffer): ConnectedWorker | undefined {
    const worker = this.sessions.get(address.toString("hex"));
    if (worker) worker.lastSeen = this.now();
    return worker;
  }

  /** Whether a worker of this id is registered from another connection (a hello naming it is then someone else's). */
  takenElsewhere(workerId: string, address: Buffer): boolean {
    const worker = this.workers.get(workerId);
    return worker !== undefined && !worker.address.equals(address);
  }

  /** Whether a worker has the task (given here, or adopted from what it reported). */
  holds(taskId: string): boolean {
    return this.assignments.has(taskId);
  }

  /**
   * A worker says hello, listing the tasks it holds (running, or finished and waiting for an
   * ack). What it was given a while ago and no longer has is recalled (a task sent just now
   * may still be on its way); what it holds and was not given here (a previous dispatcher's,
   * or given again elsewhere while it was away) is adopted.
   */
  register(workerId: string, address: Buffer, capacity: number, held: readonly string[], runtimes: readonly Runtime[] = ["javascript"]): Registration {
    if (this.takenElsewhere(workerId, address)) throw new Error(`worker ${workerId} is registered from another connection`);
    let worker = this.workers.get(workerId);
    const rejoined = worker !== undefined;
    if (!worker) {
      worker = newWorker(workerId, address, this.now());
      this.workers.set(workerId, worker);
      this.sessions.set(address.toString("hex"), worker);
    }
    worker.lastSeen = this.now();
    worker.capacity = capacity;
    worker.runtimes = runtimes;
    worker.credits = 0; // a pull worker asks again after its welcome
    worker.leaving = false;
    const holding = new Set(held);
    const recalled = this.recall(this.sentLongAgo(worker, holding), false);
    for (const taskId of worker.shadows) if (!holding.has(taskId)) worker.shadows.delete(taskId);
    for (const taskId of held) this.adopt(worker, taskId);
    return { worker, rejoined, recalled };
  }

  /** A pull worker has `idle` executors: what it may still be sent, less the tasks already on their way to it. */
  requested(worker: ConnectedWorker, idle: number): void {
    let unstarted = worker.reserved;
    for (const assignment of worker.assignments.values()) if (!assignment.started) unstarted++;
    worker.credits = Math.max(0, idle - unstarted);
  }

  /**
   * The worker says an executor started the task: it is to be claimed if the task is this
   * worker's (given to it, or adopted from its hello). Anything else (a task given to another
   * worker, or taken back from this one, or never given) does not count: its run will be
   * refused, and the executor it occupies is counted from the worker's heartbeat.
   */
  started(worker: ConnectedWorker, taskId: string): Assignment | NotGiven {
    const assignment = worker.assignments.get(taskId);
    if (!assignment) return this.notGiven(taskId);
    assignment.started = true;
    return assignment;
  }

  /**
   * A worker reported a result: its executor is free now (only its own: a re-run elsewhere
   * holds its own slot). Returns the assignment if the task was this worker's: only then does
   * the result count.
   */
  finished(worker: ConnectedWorker, taskId: string): Assignment | NotGiven {
    worker.shadows.delete(taskId);
    const assignment = worker.assignments.get(taskId);
    if (!assignment) return this.notGiven(taskId);
    this.unassign(assignment);
    return assignment;
  }

  /** The worker cannot run a task it was sent: it is recalled (without the source, sent with it next time, the pull credit given back). */
  rejected(worker: ConnectedWorker, taskId: string, reason: RejectReason): Assignment[] {
    const assignment = worker.assignments.get(taskId);
    if (!assignment) return [];
    if (reason === "no-source") worker.functions.delete(assignment.functionId);
    return this.recall([assignment], reason === "no-source");
  }

  /** The worker said bye: it is sent nothing more, and what it was given but has not started is recalled. */
  leaving(worker: ConnectedWorker): Assignment[] {
    worker.leaving = true;
    return this.recall([...worker.assignments.values()].filter((assignment) => !assignment.started), false);
  }

  /**
   * Squares what the registry thinks a worker holds with what the worker's heartbeat says it
   * runs: tasks sent a while ago that it does not list were lost on the way (recalled, their
   * credit given back); tasks it lists that it was not given here still occupy its executors.
   */
  reconcile(worker: ConnectedWorker, running: readonly string[]): Assignment[] {
    const holding = new Set(running);
    const recalled = this.recall(this.sentLongAgo(worker, holding), true);
    for (const taskId of worker.shadows) if (!holding.has(taskId)) worker.shadows.delete(taskId);
    for (const taskId of holding) if (!worker.assignments.has(taskId)) worker.shadows.add(taskId);
    return recalled;
  }

  /** Removes the workers silent for longer than the silence bound; everything they held is recalled. */
  removeSilent(): Loss[] {
    const now = this.now();
    const losses: Loss[] = [];
    for (const worker of [...this.workers.values()]) {
      if (worker.lastSeen >= now - this.options.silenceMs) continue;
      this.workers.delete(worker.id);
      this.sessions.delete(worker.address.toString("hex"));
      losses.push({ worker, silentMs: now - worker.lastSeen, recalled: this.recall([...worker.assignments.values()], false) });
    }
    return losses;
  }

  /** Every registered worker (those leaving too: they still get heartbeats while they finish). */
  connected(): IterableIterator<ConnectedWorker> {
    return this.workers.values();
  }

  /** How many more tasks the workers may be given now, per the policy: in all, and of each runtime. */
  freeSlots(): Room {
    const room: Room = { total: 0, byRuntime: {} };
    for (const worker of this.workers.values()) {
      if (worker.leaving) continue;
      const free = Math.max(0, this.options.policy.free(worker));
      room.total += free;
      for (const runtime of worker.runtimes) room.byRuntime[runtime] = (room.byRuntime[runtime] ?? 0) + free;
    }
    return room;
  }

  /**
   * Picks the worker for the next task (among those that run `runtime`, when it is known) and
   * takes its slot now, while the task is read from Redis, so that no other task takes it.
   */
  reserve(runtime?: Runtime): ConnectedWorker | undefined {
    const worker = this.options.policy.pick(runtime === undefined ? this.workers.values() : [...this.workers.values()].filter((candidate) => candidate.runtimes.includes(runtime)));
    if (!worker) return undefined;
    this.options.policy.assigned(worker);
    worker.reserved++;
    return worker;
  }

  /** Whether a reserved worker may still be given the task: it is still registered and not leaving. */
  stillTakes(worker: ConnectedWorker): boolean {
    return this.workers.get(worker.id) === worker && !worker.leaving;
  }

  /** Whether the task message must carry the function's source (the worker was never sent it, or lost it). */
  needsSource(worker: ConnectedWorker, functionId: string): boolean {
    return !worker.functions.has(functionId);
  }

  /** The task goes to the reserved worker (with the function's source if `withSource`). */
  assign(worker: ConnectedWorker, entry: QueueEntry, functionId: string, withSource: boolean): Assignment {
    if (withSource) worker.functions.add(functionId);
    const assignment: Assignment = { taskId: entry.taskId, entryId: entry.entryId, workerId: worker.id, functionId, sentAt: this.now(), started: false };
    this.assignments.set(entry.taskId, assignment);
    worker.assignments.set(entry.taskId, assignment);
    return assignment;
  }

  /** Gives the reserved slot back; a task that was not `assign`ed gives back its policy slot (a pull credit) too. */
  unreserve(worker: ConnectedWorker, assigned: boolean): void {
    worker.reserved--;
    if (!assigned) this.options.policy.released(worker);
  }

  /** The workers taking tasks (not those leaving), as the metrics and GET /cluster show them. */
  snapshots(): WorkerSnapshot[] {
    return [...this.workers.values()].filter((worker) => !worker.leaving).map((worker) => ({
      id: worker.id, capacity: worker.capacity, busy: Math.min(worker.capacity, worker.assigned), lastHeartbeatAt: worker.lastSeen,
      runtimes: [...worker.runtimes],
    }));
  }

  /** The executors of the workers taking tasks (not those leaving). */
  executors(): number {
    let executors = 0;
    for (const worker of this.workers.values()) if (!worker.leaving) executors += worker.capacity;
    return executors;
  }

  /** Tasks an executor has started, without a result yet. */
  running(): number {
    let started = 0;
    for (const assignment of this.assignments.values()) if (assignment.started) started++;
    return started;
  }

  private notGiven(taskId: string): NotGiven {
    return this.assignments.has(taskId) ? "given to another worker" : "not given to any worker";
  }

  private sentLongAgo(worker: ConnectedWorker, holding: Set<string>): Assignment[] {
    const before = this.now() - this.options.silenceMs;
    return [...worker.assignments.values()].filter((assignment) => !holding.has(assignment.taskId) && assignment.sentAt < before);
  }

  /** A worker holds a task it was not given here: if another worker has it, it is a shadow; otherwise it becomes this worker's. */
  private adopt(worker: ConnectedWorker, taskId: string): void {
    const existing = this.assignments.get(taskId);
    if (existing) {
      // It runs elsewhere too (the first result will win), and meanwhile it occupies an executor here.
      if (existing.workerId !== worker.id) worker.shadows.add(taskId);
      return;
    }
    const entryId = this.options.withdraw(taskId)?.entryId;
    const assignment: Assignment = { taskId, entryId, workerId: worker.id, functionId: "", sentAt: this.now(), started: true };
    this.assignments.set(taskId, assignment);
    worker.assignments.set(taskId, assignment);
  }

  /** Takes assignments back from their workers; `release` gives a pull worker back the credit of a task it never received. */
  private recall(assignments: Assignment[], release: boolean): Assignment[] {
    for (const assignment of assignments) {
      const worker = this.workers.get(assignment.workerId);
      this.unassign(assignment);
      if (release && worker) this.options.policy.released(worker);
    }
    return assignments;
  }

  private unassign(assignment: Assignment): void {
    this.assignments.delete(assignment.taskId);
    this.workers.get(assignment.workerId)?.assignments.delete(assignment.taskId);
  }
}

function newWorker(id: string, address: Buffer, now: number): ConnectedWorker {
  return {
    id, address, capacity: 0, credits: 0, lastServedAt: 0, leaving: false,
    assignments: new Map(), shadows: new Set(), reserved: 0, functions: new Set(), lastSeen: now, runtimes: ["javascript"],
    get assigned() {
      return this.reserved + this.assignments.size + this.shadows.size;
    },
  };
}
