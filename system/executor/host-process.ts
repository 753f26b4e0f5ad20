/**
 * One executor host process (host.ts), seen from its parent: it is forked under the
 * permission model with an empty environment, its executor threads connect back over the
 * executor channel (host-protocol.ts), and it is ready once every slot's thread has (within a
 * deadline). Tasks go straight to a free thread; this side enforces their deadlines (a late
 * task is answered DeadlineExceeded and its thread terminated, and replaced, by the host).
 * Every task is answered exactly once: if a thread dies, its task fails (ResourceLimitExceeded
 * when it ran out of memory, ExecutorCrashed otherwise); if the host dies, every task it held
 * ends FAILED (ExecutorCrashed, or ResourceLimitExceeded when it was stopped for its memory
 * budget), so no caller's promise is ever left waiting.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { serializedTaskError } from "../task.js";
import { executorFailure, type ExecutorOutcome, type ExecutorTask } from "./contract.js";
import { frame, FrameReader } from "./frames.js";
import { provesThread, type FromHost, type FromThread, type HostOptions, type ThreadEnd, type ToHost, type ToThread } from "./host-protocol.js";
import { HOST_FILE, hostExecArgv } from "./permissions.js";

/** How long a new host may take to load its modules and connect its threads. */
export const HOST_READY_TIMEOUT_MS = 10_000;
/**
 * How long the host may take to replace a thread stopped at its task's deadline. Only a host
 * that no longer works misses this, and it is then replaced.
 */
const REPLACE_GRACE_MS = 5_000;
/** How long close() waits for the host to leave by itself before killing it. */
const CLOSE_TIMEOUT_MS = 5_000;
/** How long a connection to the executor channel may take to say which thread it is. */
const HELLO_TIMEOUT_MS = 2_000;
/** The largest frame a connection may send before it is admitted (a hello is a few dozen bytes). */
const HELLO_MAX_BYTES = 1024;
/** The longest executor name an outcome may give. */
const MAX_EXECUTOR_NAME = 256;

export interface HostEvents {
  /** The process ended, for whatever reason; `wasReady` tells a crash from a failed start. */
  exited(host: HostProcess, wasReady: boolean): void;
  /** The host reported that its resident memory went past its budget. */
  overBudget(host: HostProcess, rssMb: number): void;
}

interface Job {
  task: ExecutorTask;
  deadlineMs: number;
  resolve: (outcome: ExecutorOutcome) => void;
}

/** An executor thread's place: the thread now in it (its generation), its channel, its task. */
interface Slot {
  index: number;
  /** The generation of the slot's current thread (host.ts counts them the same way). */
  generation: number;
  /** Whether the current generation has said hello (a second hello is refused). */
  connected: boolean;
  socket: Socket | undefined;
  running: (Job & { id: number; deadline: NodeJS.Timeout }) | undefined;
  /**
   * Set while the slot waits for its next thread (its thread is being stopped, or ended and the
   * next one has not said hello): the host must bring it within REPLACE_GRACE_MS, or is replaced.
   */
  replacing: NodeJS.Timeout | undefined;
  /** The next thread's connection, when it said hello before the host said the current one ended. */
  early?: { socket: Socket; generation: number };
}

export class HostProcess {
  private readonly child: ChildProcess;
  private readonly server: Server;
  private readonly address = `\0faaslab-executors-${randomUUID()}`;
  private readonly secret = randomBytes(32).toString("base64url");
  private readonly slots: Slot[];
  /** Tasks waiting for a free thread, in order. */
  private readonly waiting: Job[] = [];
  private nextId = 1;
  private isReady = false;
  private markReady!: (failure: string | undefined) => void;
  /** Resolves once the host is ready (undefined) or will never be (why not); never rejects. */
  private readonly ready = new Promise<string | undefined>((resolve) => (this.markReady = resolve));
  private readonly readyTimer: NodeJS.Timeout;
  /** Why the process is being ended, when its parent ended it; set before the kill. */
  private endReason: { name: "ExecutorCrashed" | "ResourceLimitExceeded"; message: string } | undefined;
  /** Set once the process is gone: why, for any task that arrives late. */
  private deathMessage: string | undefined;
  private markExited!: () => void;
  private readonly exited = new Promise<void>((resolve) => (this.markExited = resolve));

  /** The pool's name: the executor of the outcomes no thread gave (a deadline, a dead thread or host). */
  private readonly name: string;
  /** Outcomes are at most maxResultBytes of UTF-8, which V8 writes in at most twice as many bytes. */
  private readonly maxFrameBytes: number;
  /** Connections that have not said hello yet (a bounded number: anyone in the network namespace can connect). */
  private unadmitted = 0;

  constructor(private readonly options: HostOptions, private readonly events: HostEvents) {
    this.name = options.name;
    this.maxFrameBytes = 2 * options.maxResultBytes + 64 * 1024;
    this.slots = Array.from({ length: options.executors }, (_, index) => ({ index, generation: 0, connected: false, socket: undefined, running: undefined, replacing: undefined }));
    this.server = createServer((socket) => this.accept(socket));
    this.child = fork(HOST_FILE, [JSON.stringify(options)], {
      execArgv: hostExecArgv(),
      env: {}, // nothing of the parent's environment (tokens, keys) is in reach of user code
      // Its own pipes, copied to the parent's stderr (never into the parent's stdout logs): a
      // host must not hold the parent's descriptors, which whoever reads them waits on.
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "advanced",
      // A process group of its own: a terminal's Ctrl-C (SIGINT to the foreground group) must
      // reach only the parent, which stops gracefully and closes this host when its tasks are
      // done. Had the host died first, those tasks would have failed with ExecutorCrashed.
      detached: true,
    });
    this.child.stdout!.pipe(process.stderr, { end: false });
    this.child.stderr!.pipe(process.stderr, { end: false });
    this.child.on("message", (message: FromHost) => this.receive(message));
    this.child.on("exit", (code, signal) => this.died(describeExit(code, signal)));
    this.child.on("error", (error) => {
      // A failed spawn has no pid and no 'exit' to follow; other errors precede an 'exit'.
      if (this.child.pid === undefined) this.died(`it could not be started: ${error.message}`);
    });
    this.server.on("error", (error) => this.end("ExecutorCrashed", `the executor channel could not listen: ${error.message}`));
    this.server.listen(this.address, () => this.tell({ type: "open", address: this.address, secret: this.secret }));
    this.readyTimer = setTimeout(() => {
      this.end("ExecutorCrashed", `the executor host process did not connect its threads within ${HOST_READY_TIMEOUT_MS} ms and was killed`);
    }, HOST_READY_TIMEOUT_MS);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** False once the process is gone or being ended: new tasks go to a new host. */
  get accepting(): boolean {
    return this.deathMessage === undefined && this.endReason === undefined;
  }

  /** Runs one task in the host; never rejects. */
  async run(task: ExecutorTask, deadlineMs: number): Promise<ExecutorOutcome> {
    const notStarted = await this.ready;
    if (notStarted !== undefined) return this.crashed(`the executor host process could not start: ${notStarted}`);
    if (this.deathMessage !== undefined) return this.crashed(this.deathMessage);
    return new Promise<ExecutorOutcome>((resolve) => {
      this.waiting.push({ task, deadlineMs, resolve });
      this.startWaiting();
    });
  }

  /** Kills the process; every task it holds ends FAILED with this error. */
  end(name: "ExecutorCrashed" | "ResourceLimitExceeded", message: string): void {
    if (this.deathMessage !== undefined || this.endReason) return;
    this.endReason = { name, message };
    this.child.kill("SIGKILL");
  }

  /**
   * Ends the process and waits until it is gone: a ready host leaves by itself when its IPC
   * channel closes; one still starting has nothing to lose and is killed.
   */
  async close(): Promise<void> {
    if (this.deathMessage === undefined && !this.endReason) {
      this.endReason = { name: "ExecutorCrashed", message: "the executor pool was closed while the task ran" };
      if (!this.isReady) this.child.kill("SIGKILL");
      else if (this.child.connected) this.child.disconnect();
      const timer = setTimeout(() => this.child.kill("SIGKILL"), CLOSE_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }

  private tell(message: ToHost): void {
    // A send fails only as the channel closes: the host then exits (it leaves when its channel
    // does), and its exit says why, which a failed send must not hide.
    if (this.child.connected) this.child.send(message, () => {});
  }

  /** Gives waiting tasks to free threads. */
  private startWaiting(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return;
      if (!slot.socket || slot.running || slot.replacing) continue;
      const job = this.waiting.shift()!;
      const id = this.nextId++;
      const deadline = setTimeout(() => this.passedDeadline(slot, job.deadlineMs), job.deadlineMs);
      slot.running = { ...job, id, deadline };
      slot.socket.write(frame({ type: "run", id, task: job.task } satisfies ToThread));
    }
  }

  /** A connection to the executor channel: it must say at once which slot's thread it is. */
  private accept(socket: Socket): void {
    socket.on("error", () => {}); // 'close' follows
    if (this.unadmitted >= 2 * this.slots.length) return void socket.destroy();
    this.unadmitted++;
    const helloTimer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    let admitting = true;
    /** It said hello, or it is gone: it no longer counts among those waiting for theirs. */
    const admitted = () => {
      if (admitting) this.unadmitted--;
      admitting = false;
      clearTimeout(helloTimer);
    };
    const reader = new FrameReader(HELLO_MAX_BYTES);
    let slot: Slot | undefined;
    socket.on("close", () => {
      admitted();
      if (slot?.early?.socket === socket) slot.early = undefined;
      if (slot?.socket !== socket) return;
      // Its thread lost its channel (it died, or code in it closed it): the host replaces it, and
      // a task it was running is answered when the host says why the thread ended, or at its deadline.
      slot.socket = undefined;
      this.replaceThread(slot);
    });
    socket.on("data", (chunk: Buffer) => {
      let messages: FromThread[];
      try {
        messages = reader.push(chunk) as FromThread[];
      } catch (error) {
        if (slot?.socket === socket) return this.replaceThread(slot, `the executor sent what its pool cannot read (${(error as Error).message}) and was replaced`);
        return void socket.destroy();
      }
      for (const message of messages) {
        if (slot === undefined) {
          slot = this.admit(message);
          if (slot === undefined) return void socket.destroy();
          admitted();
          reader.maxBytes = this.maxFrameBytes;
          if (message.type === "hello" && message.generation === slot.generation) this.attach(slot, socket);
          else slot.early = { socket, generation: slot.generation + 1 };
        } else if (slot.socket === socket && isOutcome(message, this.options.maxResultBytes)) {
          this.answered(slot, message);
        } else if (slot.socket === socket) {
          return this.replaceThread(slot, "the executor sent a message out of turn and was replaced");
        } else {
          return void socket.destroy(); // a thread not (or no longer) attached has nothing to say
        }
      }
    });
  }

  /**
   * The slot whose thread a hello proves to be: its current one, not connected yet, or its next
   * one (whose hello can arrive before the host's word that the current one ended).
   */
  private admit(message: FromThread): Slot | undefined {
    if (message?.type !== "hello" || !Number.isInteger(message.slot)) return undefined;
    const slot = this.slots[message.slot];
    if (!slot) return undefined;
    const current = message.generation === slot.generation && !slot.connected && !slot.socket;
    const next = message.generation === slot.generation + 1 && !slot.early;
    if (!current && !next) return undefined;
    return provesThread(this.secret, slot.index, message.generation, message.key) ? slot : undefined;
  }

  private attach(slot: Slot, socket: Socket): void {
    slot.socket = socket;
    slot.connected = true;
    clearTimeout(slot.replacing);
    slot.replacing = undefined;
    this.checkReady();
    this.startWaiting();
  }

  private checkReady(): void {
    if (this.isReady || !this.slots.every((slot) => slot.connected)) return;
    clearTimeout(this.readyTimer);
    this.isReady = true;
    this.markReady(undefined);
  }

  private answered(slot: Slot, message: FromThread & { type: "outcome" }): void {
    const running = slot.running;
    if (!running || running.id !== message.id) return;
    this.settle(slot, { status: message.status, result: message.result, executor: message.executor });
    this.startWaiting();
  }

  /** Answers the slot's task (if any) and frees the slot of it. */
  private settle(slot: Slot, outcome: ExecutorOutcome): void {
    const running = slot.running;
    if (!running) return;
    clearTimeout(running.deadline);
    slot.running = undefined;
    running.resolve(outcome);
  }

  private passedDeadline(slot: Slot, deadlineMs: number): void {
    this.settle(slot, this.failed("DeadlineExceeded", executorFailure.deadline(deadlineMs)));
    this.replaceThread(slot);
  }

  /** Has the host terminate the slot's thread (failing its task with `why`, if it has one); the host starts the next. */
  private replaceThread(slot: Slot, why?: string): void {
    if (why !== undefined) this.settle(slot, this.failed("ExecutorCrashed", why));
    if (slot.replacing) return;
    const socket = slot.socket;
    slot.socket = undefined;
    socket?.destroy();
    this.awaitNextThread(slot);
    this.tell({ type: "stop", slot: slot.index, generation: slot.generation });
  }

  /** Until the slot's next thread says hello, the host has REPLACE_GRACE_MS to bring it, or is replaced. */
  private awaitNextThread(slot: Slot): void {
    clearTimeout(slot.replacing);
    slot.replacing = setTimeout(() => {
      this.end("ExecutorCrashed", `the executor host process did not replace an executor thread within ${REPLACE_GRACE_MS} ms and was replaced`);
    }, REPLACE_GRACE_MS);
  }

  private receive(message: FromHost): void {
    switch (message.type) {
      case "thread-ended":
        this.threadEnded(message.slot, message.generation, message.reason, message.message);
        break;
      case "over-budget":
        this.events.overBudget(this, message.rssMb);
        break;
    }
  }

  private threadEnded(index: number, generation: number, reason: ThreadEnd, message: string): void {
    const slot = this.slots[index];
    if (!slot || slot.generation !== generation) return;
    if (!slot.connected && reason !== "stopped") {
      // A thread that cannot even connect would be restarted for ever: the host is broken.
      return this.end("ExecutorCrashed", `an executor thread ended before it connected to its pool: ${message}`);
    }
    this.settle(slot, reason === "out-of-memory"
      ? this.failed("ResourceLimitExceeded", executorFailure.outOfMemory(this.options.memoryMb))
      : this.failed("ExecutorCrashed", executorFailure.died(message)));
    const socket = slot.socket;
    slot.socket = undefined;
    socket?.destroy();
    slot.connected = false;
    slot.generation = generation + 1;
    const early = slot.early;
    slot.early = undefined;
    if (early && early.generation === slot.generation && !early.socket.destroyed) this.attach(slot, early.socket);
    else this.awaitNextThread(slot);
  }

  private failed(name: "DeadlineExceeded" | "ResourceLimitExceeded" | "ExecutorCrashed", message: string): ExecutorOutcome {
    return { status: "FAILED", result: serializedTaskError(name, message), executor: this.name };
  }

  private crashed(message: string): ExecutorOutcome {
    return this.failed("ExecutorCrashed", message);
  }

  private died(how: string): void {
    if (this.deathMessage !== undefined) return;
    clearTimeout(this.readyTimer);
    const reason = this.endReason ?? { name: "ExecutorCrashed" as const, message: `the executor host process died (${how}) while running the task` };
    this.deathMessage = reason.message;
    this.markReady(this.isReady ? undefined : this.endReason?.message ?? `it exited (${how}) before it was ready; its stderr says why`);
    const failure = this.failed(reason.name, reason.message);
    for (const slot of this.slots) {
      clearTimeout(slot.replacing);
      this.settle(slot, failure);
      slot.socket?.destroy();
      slot.early?.socket.destroy();
    }
    for (const job of this.waiting.splice(0)) job.resolve(failure);
    this.server.close();
    this.markExited();
    this.events.exited(this, this.isReady);
  }
}

/** An outcome as a thread must give it (one from code that escaped its sandbox may be anything). */
function isOutcome(message: FromThread, maxResultBytes: number): message is FromThread & { type: "outcome" } {
  if (message?.type !== "outcome" || (message.status !== "COMPLETED" && message.status !== "FAILED")) return false;
  if (typeof message.executor !== "string" || message.executor.length > MAX_EXECUTOR_NAME || typeof message.result !== "string") return false;
  return message.result.length * 3 <= maxResultBytes || Buffer.byteLength(message.result) <= maxResultBytes;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === "SIGABRT") return "signal SIGABRT, as V8 ends a process on a fatal error such as a failed large allocation";
  return signal ? `signal ${signal}` : `exit code ${code}`;
}


