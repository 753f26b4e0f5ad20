/**
 * The scenario format: one YAML file that names a cluster, a workload, a nemesis, checks and
 * a report. This schema is its only definition; every field says what it means. A file that
 * does not match is refused before anything starts, with the path of the bad field.
 */
import { z } from "zod";

/** A duration: "500ms", "10s", "2m", or a number of milliseconds. */
const duration = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?(ms|s|m)$/, 'a duration like "500ms", "10s" or "2m"')])
  .transform((value) => {
    if (typeof value === "number") return value;
    const amount = Number.parseFloat(value);
    return value.endsWith("ms") ? amount : value.endsWith("m") ? amount * 60_000 : amount * 1000;
  })
  .describe('a duration: "500ms", "10s", "2m", or milliseconds');

/** A number, or a [min, max] range from which each task draws one (inclusive). */
const range = z
  .union([z.number().int().nonnegative(), z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])])
  .transform((value) => (typeof value === "number" ? ([value, value] as const) : value))
  .refine(([min, max]) => min <= max, "the range's first number must not exceed its second")
  .describe("a whole number, or [min, max] to draw each task's value from");

export const MODES = ["local", "pull", "push"] as const;
const mode = z.enum(MODES);

const ClusterSchema = z
  .object({
    mode: z.union([mode, z.array(mode).min(1)]).describe("local, pull or push; a list runs the scenario once per mode, in one report"),
    workers: z
      .object({
        count: z.number().int().min(1).max(32).describe("worker processes (pull and push)"),
        executors: z.number().int().min(1).max(64).describe("executors per worker (local: of the dispatcher's pool)"),
      })
      .strict()
      .default({ count: 2, executors: 2 })
      .describe("the shape of the worker pool"),
    dispatcher: z
      .object({
        taskDeadline: duration.optional().describe("default deadline of a task"),
        heartbeat: duration.optional().describe("heartbeat interval"),
        heartbeatTolerance: z.number().int().min(1).optional().describe("missed heartbeats before a peer is presumed lost"),
        maxAttempts: z.number().int().min(1).optional().describe("starts of a task before WorkerLost"),
      })
      .strict()
      .default({})
      .describe("dispatcher settings (defaults: those of `faas dispatcher`)"),
    redis: z
      .object({
        persistence: z.enum(["none", "aof-always", "aof-everysec"]).default("none").describe("none, or AOF with its fsync policy"),
      })
      .strict()
      .default({ persistence: "none" })
      .describe("the harness's redis-server"),
  })
  .strict()
  .describe("what runs: the mode, the workers, and their settings");

const weight = z.number().positive().default(1).describe("relative frequency of this kind in the mix");
const TaskKindSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("noop"), weight }).strict().describe("returns null"),
  z.object({ kind: z.literal("sleep"), weight, ms: range.describe("how long the task sleeps, in ms") }).strict().describe("waits (I/O-bound), returns the ms it slept"),
  z.object({ kind: z.literal("cpu"), weight, fib: range.describe("n of the recursive fibonacci(n) it computes") }).strict().describe("CPU-bound: fibonacci(n)"),
  z.object({ kind: z.literal("throw"), weight }).strict().describe("throws an Error: the task must end FAILED with it"),
  z
    .object({
      kind: z.literal("function"), weight,
      file: z.string().min(1).describe("a .js file (relative to the scenario file) holding one function's source"),
      args: z.array(z.array(z.unknown())).min(1).describe("argument lists; each task takes one at random"),
    })
    .strict()
    .describe("a user function from a file; its expected results are computed by running it in the harness's own sandbox"),
]);

const PhaseSchema = z
  .object({
    name: z.string().default("load").describe("shown in the history and the progress line"),
    clients: z.number().int().min(1).max(1000).optional().describe("closed loop: this many clients, each submitting a task and awaiting its result, then the next"),
    rate: z.number().positive().max(100_000).optional().describe("open loop: submissions per second, whatever the results"),
    duration: duration.optional().describe("how long the phase lasts"),
    tasks: z.number().int().min(1).optional().describe("or: how many tasks the phase submits"),
    mix: z.array(TaskKindSchema).min(1).describe("the kinds of tasks, with their weights"),
  })
  .strict()
  .refine((phase) => (phase.clients === undefined) !== (phase.rate === undefined), { message: "give exactly one of clients (closed loop) or rate (open loop)" })
  .refine((phase) => (phase.duration === undefined) !== (phase.tasks === undefined), { message: "give exactly one of duration or tasks" });

const WorkloadSchema = z
  .object({
    seed: z.number().int().positive().optional().describe("seed of the arguments and choices (--seed overrides; default: random, printed)"),
    phases: z.array(PhaseSchema).min(1).describe("phases run one after another"),
  })
  .strict()
  .describe("what the clients do");

const workerSelector = z
  .union([z.enum(["random", "oldest", "newest", "all"]), z.number().int().min(0)])
  .describe("which worker: random, oldest, newest, all, or its index");
const ProcessTargetSchema = z
  .union([z.enum(["dispatcher", "api", "redis"]), z.object({ worker: workerSelector }).strict()])
  .describe('"dispatcher", "api", "redis", or { worker: random | oldest | newest | all | <index> }');
const LinkSchema = z
  .union([
    z.object({ workerLink: workerSelector }).strict().describe("between a worker and the dispatcher"),
    z.object({ redisLink: z.enum(["api", "dispatcher", "all"]).describe("which component's link to Redis") }).strict().describe("between a component and Redis"),
  ])
  .describe("{ workerLink: <worker> } or { redisLink: api | dispatcher | all }");

const timing = {
  at: duration.optional().describe("once, this long after the workload starts"),
  every: duration.optional().describe("repeatedly, at this interval"),
  from: duration.optional().describe("with every: first time (default: one interval in)"),
  until: duration.optional().describe("with every: last time (default: the end of the workload)"),
};

/** The faults, each without its timing: what happens, to what, for how long. */
const killFault = z.object({
  action: z.literal("kill"), target: ProcessTargetSchema,
  signal: z.enum(["SIGKILL", "SIGTERM"]).default("SIGKILL").describe("SIGKILL (kill -9: a crash) or SIGTERM (a graceful stop)"),
  restartAfter: duration.optional().describe("start it again this long after (default: when the nemesis heals, after the workload)"),
}).strict();
const pauseFault = z.object({ action: z.literal("pause"), target: ProcessTargetSchema, for: duration.describe("how long it stays stopped (SIGSTOP, then SIGCONT)") }).strict();
const restartFault = z.object({ action: z.literal("restart"), target: ProcessTargetSchema }).strict();
const latencyFault = z.object({
  action: z.literal("latency"), link: LinkSchema,
  ms: z.number().int().min(1).max(60_000).describe("delay added to every chunk, each way"),
  for: duration.describe("how long the latency lasts"),
}).strict();
const cutFault = z.object({ action: z.literal("cut"), link: LinkSchema, for: duration.describe("connections are closed and refused for this long") }).strict();
const blackholeFault = z.object({
  action: z.literal("blackhole"), link: LinkSchema, for: duration.describe("how long the data is dropped"),
  direction: z.enum(["toUpstream", "toDownstream"]).describe("toUpstream drops what the client side sends; toDownstream what it receives"),
}).strict();
const UntimedFaultSchema = z.discriminatedUnion("action", [killFault, pauseFault, restartFault, latencyFault, cutFault, blackholeFault]);

const FaultSchema = z
  .discriminatedUnion("action", [
    killFault.extend(timing),
    pauseFault.extend(timing),
    restartFault.extend(timing),
    latencyFault.extend(timing),
    cutFault.extend(timing),
    blackholeFault.extend(timing),
    z.object({
      action: z.literal("random"), ...timing,
      among: z.array(UntimedFaultSchema).min(1).describe("faults written as above but without timing; each time one is drawn (seeded), each once before any again"),
    }).strict().describe("chaos: one fault drawn at random from a list, each time"),
  ])
  .refine((fault) => (fault.at === undefined) !== (fault.every === undefined), { message: "give exactly one of at or every" })
  .refine((fault) => fault.every !== undefined || (fault.from === undefined && fault.until === undefined), { message: "from and until go with every" });

const CheckSchema = z.discriminatedUnion("check", [
  z.object({
    check: z.literal("no-lost-tasks"),
    fsyncWindow: duration.optional().describe(
      "with Redis on appendfsync everysec: tasks accepted this long before a kill -9 of Redis may be lost; they are counted and listed apart, and do not fail the check",
    ),
  }).strict().describe("every accepted task (answered 201) reaches COMPLETED or FAILED"),
  z.object({
    check: z.literal("errors-only-during-faults"),
    grace: duration.default(2000).describe("how long after a fault ends a client error is still put down to it"),
  }).strict().describe("every submission the API refused or left unanswered was sent while a fault was in force (or within the grace after it)"),
  z.object({
    check: z.literal("results-correct"),
    allowFailures: z.array(z.string()).default([]).describe("error names a task may fail with although it was expected to complete (e.g. WorkerLost)"),
  }).strict().describe("every COMPLETED result equals the value the harness computed; every expected failure failed with its error"),
  z.object({ check: z.literal("no-duplicate-results") }).strict().describe("no task ever shows two different terminal results"),
  z.object({ check: z.literal("monotonic-status") }).strict().describe("no task's status is ever seen moving backwards"),
  z.object({ check: z.literal("recovery"), within: duration }).strict().describe("after each fault ends, a task completes within this long"),
  z.object({
    check: z.literal("latency"),
    p50: duration.optional(), p95: duration.optional(), p99: duration.optional(),
  }).strict().describe("latency percentiles (submission to result seen) must be below these"),
  z.object({ check: z.literal("throughput"), atLeast: z.number().positive().describe("completed tasks per second over the workload") }).strict(),
]);

export const CHARTS = ["latency", "throughput", "states", "percentiles"] as const;

export const ScenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and dashes").describe("the report is reports/<name>.md"),
    description: z.string().min(1).describe("one line, shown by --list"),
    cluster: ClusterSchema,
    workload: WorkloadSchema,
    nemesis: z.array(FaultSchema).default([]).describe("the faults, on a timeline from the start of the workload"),
    drain: duration.default(60_000).describe("after the workload and healing, how long to wait for every accepted task to end"),
    checks: z.array(CheckSchema).min(1).describe("what must hold; a failed check makes the run exit non-zero"),
    report: z
      .object({
        title: z.string().min(1).describe("the report's heading"),
        notes: z.string().optional().describe("markdown shown under the heading: what the scenario shows, and why its bounds are what they are"),
        charts: z.array(z.enum(CHARTS)).default([...CHARTS]).describe("which charts to draw"),
      })
      .strict()
      .describe("what the report shows"),
  })
  .strict();

export type Scenario = z.output<typeof ScenarioSchema>;
export type ClusterSpec = Scenario["cluster"];
export type Phase = Scenario["workload"]["phases"][number];
export type TaskKind = Phase["mix"][number];
export type Fault = Scenario["nemesis"][number];
export type UntimedFault = z.output<typeof UntimedFaultSchema>;
export type ProcessTarget = z.output<typeof ProcessTargetSchema>;
export type Link = z.output<typeof LinkSchema>;
export type WorkerSelector = z.output<typeof workerSelector>;
export type Check = Scenario["checks"][number];
export type Mode = (typeof MODES)[number];
