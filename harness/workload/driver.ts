/**
 * The workload: clients that submit tasks and await their results, recording every
 * operation and every status they see in the history. A closed-loop phase runs N clients,
 * each awaiting its task before submitting the next; an open-loop phase submits at a fixed
 * rate whatever the results. A task being awaited when its phase ends is still awaited
 * (until the drain deadline), so the phase's timing holds and no result goes unseen.
 *
 * Each client draws its tasks from a stream of its own (`clientStream`), so the tasks it
 * submits, in order, are a function of the seed alone: how fast the cluster answers changes
 * how many each client submits, never which.
 */
import { FaaSError, isTerminal, serialize } from "../../system/client/index.js";
import type { Runtime } from "../../system/runtimes.js";
import type { Expected, History } from "../history/history.js";
import { mapConcurrent } from "../concurrent.js";
import type { Random } from "../random.js";
import type { Phase } from "../scenario/schema.js";
import { pickWeighted, type TaskTemplate } from "./kinds.js";
import { observedResult } from "./python.js";
import { FaaslabApi, type TaskApi } from "./api.js";

/** A request that takes longer than this is abandoned (its outcome is then unknown). */
export const REQUEST_TIMEOUT_MS = 10_000;
/** How long one result request may be held by the API. */
const WAIT_SECONDS = 5;
/**
 * Closed loop: how long a client waits on one task before it submits its next. The task is
 * still awaited, and checked, to the end: a system that loses a task (never finishes it) must
 * not also stop the client that submitted it, or one loss would hide what the rest of the run
 * does (every later fault would show no recovery only because no client is left submitting).
 */
const CLIENT_PATIENCE_MS = 10_000;
/** How long a client waits before trying again after a failed request. */
const RETRY_DELAY_MS = 250;
/** Open loop: submissions still awaiting their outcome beyond this are skipped, not queued. */
const MAX_OUTSTANDING = 2000;

/** The stream a phase's client draws its tasks from (an open-loop phase has one client, 0). */
export function clientStream(random: Random, phaseIndex: number, client: number): Random {
  return random.derive("workload", phaseIndex, "client", client);
}

/** The clients of a phase: a closed loop has `clients`; an open loop one submitter. */
export function clientsOf(phase: Phase): number {
  return phase.clients ?? 1;
}

/** The history's name of a phase's client. */
export function clientName(phase: Phase, phaseIndex: number, client: number): string {
  return `${phase.name}#${phaseIndex}/client-${client}`;
}

/**
 * A task's kind as the history and the schedule name it: noop, sleep, cpu, throw (JavaScript),
 * noop/python, sleep/python, cpu/python, throw/python, or function:<file> (a .py file is Python).
 */
export function kindOf(template: TaskTemplate): string {
  return template.key.startsWith("function:") ? `function:${template.name}` : template.key;
}

/** One task drawn from a client's stream: which template (by the templates' weights), its arguments, and what it must give. */
export function drawTask(templates: readonly TaskTemplate[], stream: Random): { template: TaskTemplate; args: unknown[]; expected: Expected } {
  const template = pickWeighted(templates, stream);
  return { template, ...template.draw(stream) };
}

export interface WorkloadCounters {
  submitted: number;
  accepted: number;
  finished: number;
  /** When tasks finished (ms since the start), for the live throughput. */
  finishedAt: number[];
}

export class Workload {
  /** How it talks to the API under test: faaslab's SDK, or a target's dialect. */
  readonly api: TaskApi;
  readonly counters: WorkloadCounters = { submitted: 0, accepted: 0, finished: 0, finishedAt: [] };
  /** Accepted tasks not yet seen terminal. */
  readonly pending = new Set<string>();
  private readonly awaiting = new Set<Promise<void>>();
  private readonly functionIds = new Map<string, string>();
  /** The runtime of each accepted task: how its results are read (see `observedResult`). */
  private readonly runtimes = new Map<string, Runtime>();
  private nextOp = 0;
  private drainDeadline = Number.POSITIVE_INFINITY;
  private readonly stopped = new AbortController();
  /** The observer's and the probe's own streams: what they draw never moves a client's. */
  private readonly observerStream: Random;
  private readonly probeStream: Random;

  /** `api`: a TaskApi, or the URL of a faaslab API. */
  constructor(api: TaskApi | string, private readonly history: History, private readonly random: Random) {
    this.api = typeof api === "string" ? new FaaslabApi(api, REQUEST_TIMEOUT_MS) : api;
    this.observerStream = random.derive("observer");
    this.probeStream = random.derive("probe");
  }

  /** Registers each template's function (once per kind). */
  async register(templates: readonly TaskTemplate[]): Promise<void> {
    for (const template of templates) {
      if (this.functionIds.has(template.key)) continue;
      this.functionIds.set(template.key, await this.api.register(template));
    }
  }

  /** Runs one task of a template outside the history; returns what was wrong with it, if anything. */
  async probe(template: TaskTemplate): Promise<string | undefined> {
    const { args, expected } = template.draw(this.probeStream);
    try {
      const taskId = await this.execute(template, args);
      const outcome = await this.api.result(taskId, 30);
      if (!isTerminal(outcome.status)) return `a ${template.name} task (${template.runtime}) did not finish within 30 s`;
      const result = observedResult(template.runtime, outcome.status, outcome.result);
      if (expected.ok && (outcome.status !== "COMPLETED" || result !== expected.value)) {
        return `a ${template.name} task (${template.runtime}) ended ${outcome.status} with ${result}, expected ${expected.value}`;
      }
      if (!expected.ok && outcome.status !== "FAILED") return `a ${template.name} task ended ${outcome.status}, expected it to fail`;
      return undefined;
    } catch (error) {
      return `a ${template.name} task could not be run: ${(error as Error).message}`;
    }
  }

  /** Runs one phase to its end (its duration, or its number of tasks); results may still be awaited after. */
  async runPhase(phase: Phase, templates: readonly TaskTemplate[], phaseIndex = 0): Promise<void> {
    await this.register(templates);
    this.history.record({ type: "phase", phase: "start", name: phase.name });
    const endsAt = phase.duration === undefined ? Number.POSITIVE_INFINITY : this.history.now() + phase.duration;
    let budget = phase.tasks ?? Number.POSITIVE_INFINITY;
    const more = () => !this.stopped.signal.aborted && this.history.now() < endsAt && budget > 0;
    const submitter = (client: number) => {
      const stream = clientStream(this.random, phaseIndex, client);
      const name = clientName(phase, phaseIndex, client);
      return () => {
        budget--;
        const { template, args, expected } = drawTask(templates, stream);
        return this.submit(template, name, { args, expected });
      };
    };
    if (phase.clients !== undefined) {
      await Promise.all(Array.from({ length: phase.clients }, async (_, client) => {
        const next = submitter(client);
        while (more()) {
          // The client moves on at the phase's end even if its task is still being awaited.
          await Promise.race([next(), this.until(endsAt)]);
        }
      }));
    } else {
      const next = submitter(0);
      const interval = 1000 / phase.rate!;
      let due = this.history.now();
      while (more()) {
        if (this.pending.size < MAX_OUTSTANDING) void next();
        due += interval;
        await this.until(Math.min(due, endsAt));
      }
    }
    this.history.record({ type: "phase", phase: "end", name: phase.name });
  }

  /** Stops submitting (Ctrl-C); awaited results are still collected until `drain`. */
  stop(): void {
    this.stopped.abort();
  }

  /** Waits for every accepted task to be seen terminal, for at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    this.drainDeadline = this.history.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.awaiting]), deadline]);
    clearTimeout(timer);
    this.drainDeadline = this.history.now(); // whatever still waits gives up
    await Promise.allSettled([...this.awaiting]);
  }

  /** Samples the status of some pending tasks (the checkers need observations besides the clients'). */
  async observe(sample = 20): Promise<void> {
    const ids = [...this.pending];
    for (let i = 0; i < Math.min(sample, ids.length); i++) {
      const taskId = ids.splice(this.observerStream.int(0, ids.length - 1), 1)[0];
      const invokedAt = this.history.now();
      try {
        const status = await this.api.status(taskId);
        this.history.record({ type: "status", taskId, status, invokedAt, by: "observer" });
      } catch {
        /* the API may be down: observations are best effort */
      }
    }
  }

  /** Reads every accepted task once more at the end: its final state and result. */
  async finalRead(taskIds: readonly string[]): Promise<void> {
    await mapConcurrent(taskIds, 20, async (taskId) => {
      const invokedAt = this.history.now();
      try {
        const task = await this.api.final(taskId);
        if (!task) {
          this.history.record({ type: "status", taskId, status: "MISSING", invokedAt, by: "final" });
          return;
        }
        const result = isTerminal(task.status) ? observedResult(this.runtimes.get(taskId) ?? "javascript", task.status, task.result) : null;
        this.history.record({ type: "status", taskId, status: task.status, result, invokedAt, by: "final", ...(task.attempts === undefined ? {} : { attempts: task.attempts }) });
      } catch {
        /* the API may be down: the history then ends with the last status seen */
      }
    });
  }

  /**
   * Submits one task with given arguments, recorded like any other, and resolves with its id
   * once its result is seen (undefined if it was not accepted): for tests that drive tasks
   * one by one and then check the history.
   */
  async run(template: TaskTemplate, args: unknown[], expected: Expected): Promise<string | undefined> {
    await this.register([template]);
    let taskId: string | undefined;
    await this.submit(template, "test", { args, expected }, (id) => (taskId = id));
    return taskId;
  }

  private async submit(template: TaskTemplate, process: string, chosen: { args: unknown[]; expected: Expected }, accepted?: (taskId: string) => void): Promise<void> {
    const { args, expected } = chosen;
    const op = this.nextOp++;
    this.counters.submitted++;
    this.history.record({ type: "invoke", op, process, kind: kindOf(template), args: serialize(args), expected });
    let taskId: string;
    try {
      taskId = await this.execute(template, args);
    } catch (error) {
      const definite = error instanceof FaaSError && error.status >= 400 && error.status < 500;
      this.history.record({ type: "complete", op, outcome: definite ? "fail" : "info", error: (error as Error).message });
      await this.pause(RETRY_DELAY_MS);
      return;
    }
    this.history.record({ type: "complete", op, outcome: "ok", taskId });
    accepted?.(taskId);
    this.counters.accepted++;
    this.runtimes.set(taskId, template.runtime);
    this.pending.add(taskId);
    const awaited = this.awaitResult(taskId);
    this.awaiting.add(awaited);
    void awaited.finally(() => this.awaiting.delete(awaited));
    let patience: NodeJS.Timeout | undefined;
    await Promise.race([awaited, new Promise<void>((resolve) => (patience = setTimeout(resolve, CLIENT_PATIENCE_MS)))]);
    clearTimeout(patience);
  }

  private async awaitResult(taskId: string): Promise<void> {
    while (this.history.now() < this.drainDeadline) {
      const invokedAt = this.history.now();
      try {
        // An API without a long poll is polled here, each answer recorded (the checkers see every status it showed).
        const polled = this.api.pollMs !== undefined;
        const wait = polled ? 0 : Math.max(0, Math.min(WAIT_SECONDS, (this.drainDeadline - invokedAt) / 1000));
        const outcome = await this.api.result(taskId, wait);
        const terminal = isTerminal(outcome.status);
        const result = terminal ? observedResult(this.runtimes.get(taskId) ?? "javascript", outcome.status, outcome.result) : null;
        this.history.record({ type: "status", taskId, status: outcome.status, result, invokedAt, by: "client" });
        if (terminal) {
          this.pending.delete(taskId);
          this.counters.finished++;
          this.counters.finishedAt.push(this.history.now());
          return;
        }
        if (polled) await this.pause(this.api.pollMs!);
      } catch {
        await this.pause(RETRY_DELAY_MS);
      }
    }
  }

  /** Submits one task in its template's runtime: a Python task's arguments are pickled as the positional arguments. */
  private execute(template: TaskTemplate, args: unknown[]): Promise<string> {
    return this.api.execute(template, this.functionIds.get(template.key)!, args);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Resolves at time `t` (ms since the start); never, for an unbounded phase. */
  private until(t: number): Promise<void> {
    if (t === Number.POSITIVE_INFINITY) return new Promise<void>(() => {});
    const delay = t - this.history.now();
    return delay > 0 ? this.pause(delay) : Promise.resolve();
  }
}
