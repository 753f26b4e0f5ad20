/**
 * The scenario format: one YAML file that names a cluster, a workload, a nemesis, checks and
 * a report. This schema is its only definition; every field says what it means (the field
 * reference in scenarios/README.md is generated from it). A file that does not match is
 * refused before anything starts, with the path and line of each bad field; what the schema
 * cannot say alone (a fault on a worker that does not exist, a fault after the workload ends)
 * is checked by validate.ts.
 */
import { z } from "zod";
import { DISPATCHER_MODES } from "../../system/modes.js";
import { duration, shown, tagError, unlessMissing } from "../format/schema.js";
import { HOSTS } from "../target/schema.js";

/** What `cluster.runtime` may say: the language of the built-in kinds' bodies, or both. */
export const SCENARIO_RUNTIMES = ["javascript", "python", "mixed"] as const;
export type ScenarioRuntime = (typeof SCENARIO_RUNTIMES)[number];

export { shown };

const wholeNumber = z.number().int().nonnegative();
/** A number, or a [min, max] range from which each task draws one (inclusive). */
const range = z
  .union([wholeNumber, z.tuple([wholeNumber, wholeNumber])], {
    error: unlessMissing((input) => `expected a whole number or [min, max], got ${shown(input)}`),
  })
  .transform((value) => (typeof value === "number" ? ([value, value] as const) : value))
  .refine(([min, max]) => min <= max, "the range's first number must not exceed its second")
  .meta({ label: "whole number, or [min, max]" })
  .describe("a whole number, or [min, max] to draw each task's value from");

const mode = z.enum(DISPATCHER_MODES);

const ClusterSchema = z
  .object({
    mode: z
      .union([mode, z.array(mode).min(1)], {
        error: unlessMissing((input) => `mode must be one of ${DISPATCHER_MODES.join(", ")} (or a list of them), got ${shown(input)}`),
      })
      .describe("local (the dispatcher runs tasks on its own executors), pull or push (on worker processes); a list runs the scenario once per mode, in one report"),
    runtime: z
      .enum(SCENARIO_RUNTIMES, { error: unlessMissing((input) => `runtime must be one of ${SCENARIO_RUNTIMES.join(", ")}, got ${shown(input)}`) })
      .default("javascript")
      .describe(
        "the language of the built-in kinds (noop, sleep, cpu, throw): javascript, python, or mixed (each kind twice, a JavaScript and a Python version, each with half its weight, in one history); a function file runs in its own language (.py: Python). Python needs the machine's CPython with dill and bubblewrap: without them a scenario that has Python tasks is refused before it starts",
      ),
    workers: z
      .object({
        count: z.number().int().min(1).max(32).describe("worker processes (pull and push), numbered 0 to count - 1"),
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
    hosts: z
      .enum(HOSTS, { error: unlessMissing((input) => `hosts must be shared or separate, got ${shown(input)}`) })
      .default("shared")
      .describe(
        "shared: the cluster on one host (the harness's loopback, or one network namespace for a target); separate: each component in a network namespace of its own with a veth pair for each link, as on separate machines, so packet faults act on one link (a target run: needs root and `ip`; the target must list hosts: separate)",
      ),
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

/** An expected outcome written in the scenario: a value, or an error. */
const ExpectationSchema = z
  .union(
    [
      z.object({ value: z.unknown().describe("the value it returns: any YAML value (`~` is null), an object's fields in the order the function makes them") }).strict(),
      z
        .object({
          error: z.string().min(1).describe("the name of the error it throws, e.g. RangeError"),
          message: z.string().optional().describe("the error's message (default: empty, as `new RangeError()` has)"),
        })
        .strict(),
    ],
    { error: unlessMissing((input) => `expected { value: <any> } or { error: <name>, message: <text> }, got ${shown(input)}`) },
  )
  .describe("{ value: <any> } or { error: <name>, message: <text> }");

const TASK_KINDS = ["noop", "sleep", "cpu", "throw", "function"] as const;
const weight = z.number().positive().default(1).describe("relative frequency of this kind in the mix");
const TaskKindSchema = z.discriminatedUnion(
  "kind",
  [
    z.object({ kind: z.literal("noop"), weight }).strict().describe("returns null"),
    z.object({ kind: z.literal("sleep"), weight, ms: range.describe("how long the task sleeps, in ms") }).strict().describe("waits (I/O-bound), returns the ms it slept"),
    z.object({ kind: z.literal("cpu"), weight, fib: range.describe("n of the recursive fibonacci(n) it computes") }).strict().describe("CPU-bound: fibonacci(n)"),
    z.object({ kind: z.literal("throw"), weight }).strict().describe("throws an Error (JavaScript: a RangeError; Python: a ValueError): the task must end FAILED with it"),
    z
      .object({
        kind: z.literal("function"), weight,
        file: z
          .string()
          .min(1)
          .describe("a file relative to the scenario file: a .js file holding one function's source (a declaration, a function expression or an arrow), or a .py file that defines one Python function (def name(...):), which runs as a Python task whatever cluster.runtime says"),
        args: z.array(z.array(z.unknown())).min(1).meta({ label: "list of argument lists" }).describe("argument lists; each task takes one at random"),
        expect: z
          .array(ExpectationSchema)
          .optional()
          .describe("the outcome of each argument list, in the same order: { value: <any> } or { error: <name>, message: <text> }; without it, the harness runs the file with plain Node (a .py file: with /usr/bin/python3) to find them"),
      })
      .strict()
      .describe(
        "a user function from a file. Its expected results are the scenario's `expect`, or else what the file's function returns (or throws) when the harness evaluates it with plain Node (a .py file: the OS's CPython) in a child process, apart from faaslab's own sandbox; a value the codec carries (bigint, undefined, Map, Date…) compares as such, and a Python result as the plain data it unpickles to (a tuple as a list, a dict as an object)",
      ),
  ],
  { error: tagError("kind", TASK_KINDS) },
);

const PhaseSchema = z
  .object({
    name: z.string().default("load").describe("shown in the history and the progress line"),
    clients: z.number().int().min(1).max(1000).optional().describe("closed loop: this many clients, each submitting a task and awaiting its result, then the next"),
    rate: z.number().positive().max(100_000).optional().describe("open loop: submissions per second, whatever the results"),
    duration: duration.optional().describe("how long the phase lasts"),
    tasks: z.number().int().min(1).optional().describe("or: how many tasks the phase submits (then the workload's length is not known beforehand, and fault times are not checked against it)"),
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

const WORKER_SELECTORS = ["random", "oldest", "newest", "all"] as const;
const workerSelector = z
  .union([z.enum(WORKER_SELECTORS), z.number().int().min(0, "a worker's index is 0 or more")], {
    error: unlessMissing((input) => `expected ${WORKER_SELECTORS.join(", ")} or a worker's index (0 to count - 1), got ${shown(input)}`),
  })
  .meta({ label: "`random`, `oldest`, `newest`, `all` or an index" })
  .describe("which worker: random, oldest, newest, all, or its index (0 to count - 1; a restarted worker keeps its index)");
const ProcessTargetSchema = z
  .union([z.enum(["dispatcher", "api", "redis"]), z.object({ worker: workerSelector }).strict()], {
    error: unlessMissing((input) => `expected dispatcher, api, redis or { worker: random | oldest | newest | all | <index> }, got ${shown(input)}`),
  })
  .describe('"dispatcher", "api", "redis", or { worker: random | oldest | newest | all | <index> } (pull and push only)');
const LinkSchema = z
  .union(
    [
      z.object({ workerLink: workerSelector }).strict().describe("between a worker and the dispatcher (pull and push only)"),
      z.object({ redisLink: z.enum(["api", "dispatcher", "all"]).describe("which component's link to Redis") }).strict().describe("between a component and Redis"),
      z.object({ clientLink: z.literal("api").describe("the API") }).strict().describe("between the harness's clients and the API (packet faults only)"),
    ],
    { error: unlessMissing((input) => `expected { workerLink: <worker> }, { redisLink: api | dispatcher | all } or { clientLink: api }, got ${shown(input)}`) },
  )
  .describe("{ workerLink: <worker> } (pull and push only), { redisLink: api | dispatcher | all }, or { clientLink: api } (packet faults only)");

const timing = {
  at: duration.optional().describe("once, this long after the workload starts (before it ends)"),
  every: duration.optional().describe("repeatedly, at this interval"),
  from: duration.optional().describe("with every: first time (default: one interval in; before the workload ends)"),
  until: duration.optional().describe("with every: last time (default: the end of the workload; not after it)"),
};

/** The faults, each without its timing: what happens, to what, for how long. */
const killFault = z.object({
  action: z.literal("kill"), target: ProcessTargetSchema,
  signal: z.enum(["SIGKILL", "SIGTERM"]).default("SIGKILL").describe("SIGKILL (kill -9: a crash) or SIGTERM (a graceful stop)"),
  restartAfter: duration.optional().describe("start it again this long after (default: when the nemesis heals, after the workload)"),
}).strict().describe("stops a process with a signal, and starts it again after restartAfter");
const pauseFault = z
  .object({ action: z.literal("pause"), target: ProcessTargetSchema, for: duration.describe("how long it stays stopped (SIGSTOP, then SIGCONT)") })
  .strict()
  .describe("freezes a process, then lets it go on");
const restartFault = z.object({ action: z.literal("restart"), target: ProcessTargetSchema }).strict().describe("stops a process and starts it again at once");
const latencyFault = z.object({
  action: z.literal("latency"), link: LinkSchema,
  ms: z.number().int().min(1).max(60_000).describe("delay added to every chunk, each way"),
  for: duration.describe("how long the latency lasts"),
}).strict().describe("delays the traffic on a link (through the harness's TCP fault proxy: faaslab's built-in launcher)");
const cutFault = z
  .object({ action: z.literal("cut"), link: LinkSchema, for: duration.describe("connections are closed and refused for this long") })
  .strict()
  .describe("closes a link's connections and refuses new ones");
const blackholeFault = z.object({
  action: z.literal("blackhole"), link: LinkSchema, for: duration.describe("how long the data is dropped"),
  direction: z.enum(["toUpstream", "toDownstream"]).describe("toUpstream drops what the client side sends; toDownstream what it receives"),
}).strict().describe("drops a link's data one way while its connections stay open");
const packetDirection = z
  .enum(["both", "toUpstream", "toDownstream"])
  .default("both")
  .describe("both ways, or one: toUpstream is what the connecting side (client, API, dispatcher, worker) sends to the side it connects to (API, Redis, dispatcher), toDownstream the way back");
const PACKET_FAULTS_NEED = "(real packets: the cluster runs in network namespaces, a target run; a link between components needs cluster.hosts: separate)";
const partitionFault = z.object({
  action: z.literal("partition"), link: LinkSchema, direction: packetDirection,
  for: duration.describe("how long every packet is dropped"),
}).strict().describe(`drops every packet on a link, both ways or one way, with nftables; connections stay open and time out as on a real network ${PACKET_FAULTS_NEED}`);
const lossFault = z.object({
  action: z.literal("loss"), link: LinkSchema, direction: packetDirection,
  percent: z.number().gt(0).max(100).describe("the share of packets dropped, each one independently"),
  for: duration.describe("how long the loss lasts"),
}).strict().describe(`drops a share of a link's packets at random, with nftables ${PACKET_FAULTS_NEED}`);
const delayFault = z.object({
  action: z.literal("delay"), link: LinkSchema, direction: packetDirection,
  ms: z.number().int().min(1).max(60_000).describe("delay of every packet"),
  jitter: z.number().int().min(0).max(60_000).default(0).describe("each packet's delay varies by up to this much, in ms (normal distribution)"),
  for: duration.describe("how long the delay lasts"),
}).strict().describe(`delays every packet on a link, with tc netem (a kernel without the netem qdisc refuses it: the fault is then skipped, saying so) ${PACKET_FAULTS_NEED}`);
const reorderFault = z.object({
  action: z.literal("reorder"), link: LinkSchema, direction: packetDirection,
  percent: z.number().gt(0).max(100).describe("the share of packets sent at once, overtaking the others"),
  ms: z.number().int().min(1).max(60_000).describe("the delay of the others"),
  for: duration.describe("how long the reordering lasts"),
}).strict().describe(`reorders a link's packets, with tc netem (skipped, saying so, on a kernel without it) ${PACKET_FAULTS_NEED}`);

const FAULT_ACTIONS = ["kill", "pause", "restart", "latency", "cut", "blackhole", "partition", "loss", "delay", "reorder"] as const;
const UntimedFaultSchema = z.discriminatedUnion("action", [killFault, pauseFault, restartFault, latencyFault, cutFault, blackholeFault, partitionFault, lossFault, delayFault, reorderFault], {
  error: tagError("action", FAULT_ACTIONS),
});

const FaultSchema = z
  .discriminatedUnion(
    "action",
    [
      killFault.extend(timing).describe(killFault.description!),
      pauseFault.extend(timing).describe(pauseFault.description!),
      restartFault.extend(timing).describe(restartFault.description!),
      latencyFault.extend(timing).describe(latencyFault.description!),
      cutFault.extend(timing).describe(cutFault.description!),
      blackholeFault.extend(timing).describe(blackholeFault.description!),
      partitionFault.extend(timing).describe(partitionFault.description!),
      lossFault.extend(timing).describe(lossFault.description!),
      delayFault.extend(timing).describe(delayFault.description!),
      reorderFault.extend(timing).describe(reorderFault.description!),
      z.object({
        action: z.literal("random"), ...timing,
        among: z.array(UntimedFaultSchema).min(1).describe("faults written as above but without timing; each time one is drawn (seeded), each once before any again"),
      }).strict().describe("chaos: one fault drawn at random from a list, each time"),
    ],
    { error: tagError("action", [...FAULT_ACTIONS, "random"]) },
  )
  .refine((fault) => (fault.at === undefined) !== (fault.every === undefined), { message: "give exactly one of at or every" })
  .refine((fault) => fault.every !== undefined || (fault.from === undefined && fault.until === undefined), { message: "from and until go with every" });

const CHECKS = ["no-lost-tasks", "errors-only-during-faults", "results-correct", "no-duplicate-results", "monotonic-status", "recovery", "latency", "throughput", "capacity"] as const;
const CheckSchema = z.discriminatedUnion(
  "check",
  [
    z.object({
      check: z.literal("no-lost-tasks"),
      fsyncWindow: duration.optional().describe(
        "with Redis on appendfsync everysec (and only then): tasks accepted this long before a kill -9 of Redis may be lost; they are counted and listed apart, and do not fail the check",
      ),
    }).strict().describe("every accepted task (answered 201) reaches COMPLETED or FAILED"),
    z.object({
      check: z.literal("errors-only-during-faults"),
      grace: duration.prefault("2s").describe("how long after a fault ends a client error is still put down to it"),
    }).strict().describe("every submission the API refused or left unanswered was sent while a fault was in force (or within the grace after it)"),
    z.object({
      check: z.literal("results-correct"),
      allowFailures: z.array(z.string()).default([]).meta({ label: "list of error names" }).describe("error names a task may fail with although it was expected to complete (e.g. WorkerLost)"),
    }).strict().describe("every COMPLETED result equals the value the harness expected; every expected failure failed with its error"),
    z.object({ check: z.literal("no-duplicate-results") }).strict().describe("no task ever shows two different terminal results"),
    z.object({ check: z.literal("monotonic-status") }).strict().describe("no task's status is ever seen moving backwards"),
    z.object({ check: z.literal("recovery"), within: duration.describe("the bound: how soon after a fault ends a task must complete") }).strict().describe("after each fault ends, a task completes within this long"),
    z.object({
      check: z.literal("latency"),
      p50: duration.optional().describe("median latency must be below this"),
      p95: duration.optional().describe("95th percentile must be below this"),
      p99: duration.optional().describe("99th percentile must be below this"),
    }).strict().describe("latency percentiles (submission to result seen) must be below these"),
    z.object({ check: z.literal("throughput"), atLeast: z.number().positive().describe("completed tasks per second over the workload") }).strict().describe("the workload's throughput must reach this"),
    z.object({
      check: z.literal("capacity"),
      grace: duration.prefault("2s").describe("how long after a fault ends RUNNING tasks are not counted (a task whose worker was lost stays RUNNING until it runs again)"),
    }).strict().describe("at no time are more tasks RUNNING than the cluster has executors, as the harness's status observations show (outside faults)"),
  ],
  { error: tagError("check", CHECKS) },
);

export const CHARTS = ["latency", "throughput", "states", "percentiles"] as const;

/** A report title from a scenario's name: "kill-one" gives "Kill one". */
export function titleFromName(name: string): string {
  const words = name.split("-").filter(Boolean).join(" ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export const ScenarioSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, { error: unlessMissing((input) => `expected lowercase letters, digits and dashes (like kill-one), got ${shown(input)}`) })
      .meta({ label: "lowercase letters, digits and dashes" })
      .describe("the report is reports/<name>.md"),
    description: z.string().min(1).describe("one line, shown by --list"),
    targets: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .meta({ fallback: "faaslab through its built-in launcher" })
      .describe(
        "the implementations to run it against, each a target name (targets/<name>.yaml) or a path to a target file (relative to the scenario file); the report shows every target's runs side by side. --target overrides. Without it: faaslab through its built-in launcher, with the scenario's dispatcher and Redis settings and the TCP fault proxies",
      ),
    cluster: ClusterSchema,
    workload: WorkloadSchema,
    nemesis: z.array(FaultSchema).default([]).describe("the faults, on a timeline from the start of the workload"),
    drain: duration.prefault("60s").describe("after the workload and healing, how long to wait for every accepted task to end"),
    checks: z.array(CheckSchema).min(1).describe("what must hold; a failed check makes the run exit non-zero"),
    report: z
      .object({
        title: z.string().min(1).optional().meta({ fallback: "from the name" }).describe('the report\'s heading (default: the name in words: kill-one gives "Kill one")'),
        notes: z.string().optional().describe("markdown shown under the heading: what the scenario shows, and why its bounds are what they are"),
        charts: z.array(z.enum(CHARTS)).default([...CHARTS]).describe("which charts to draw"),
      })
      .strict()
      .prefault({})
      .meta({ fallback: "optional" })
      .describe("what the report shows"),
  })
  .strict()
  .transform((scenario) => ({ ...scenario, report: { ...scenario.report, title: scenario.report.title ?? titleFromName(scenario.name) } }));

export type Scenario = z.output<typeof ScenarioSchema>;
export type ClusterSpec = Scenario["cluster"];
export type Phase = Scenario["workload"]["phases"][number];
export type TaskKind = Phase["mix"][number];
export type Expectation = z.output<typeof ExpectationSchema>;
export type Fault = Scenario["nemesis"][number];
export type UntimedFault = z.output<typeof UntimedFaultSchema>;
export type ProcessTarget = z.output<typeof ProcessTargetSchema>;
export type Link = z.output<typeof LinkSchema>;
export type WorkerSelector = z.output<typeof workerSelector>;
export type Check = Scenario["checks"][number];
