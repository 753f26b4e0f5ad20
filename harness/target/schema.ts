/**
 * The target format: one YAML file that says how to run an implementation of the FaaS under
 * test (faaslab itself, or an MPCSFaaS system of someone else's): the command of each
 * component, what tells it is ready, how it is stopped, the ports it uses, the runtime and
 * codec of its functions, and its dialect of the API. This schema is its only definition;
 * every field says what it means (the field reference in targets/README.md is generated from
 * it). What the schema cannot say alone (a placeholder a component is not given, a mode
 * listed without its dispatcher) is checked by load.ts, each problem with the path of its field.
 */
import { z } from "zod";
import { DISPATCHER_MODES, type DispatcherMode } from "../../system/modes.js";
import { TASK_STATUSES } from "../../system/task.js";
import { duration, shown, tagError, unlessMissing } from "../format/schema.js";

/**
 * Every placeholder a command template may use, with what it stands for: the one list. Which
 * of them each component is given is COMPONENT_PLACEHOLDERS.
 */
export const PLACEHOLDERS = {
  dir: "the implementation's directory (--target-dir, else the target's `dir`)",
  dataDir: "a directory of this run for the component's own files (e.g. Redis's data), empty at the start",
  port: "the component's own port: Redis's, the API's, or the dispatcher's (pull and push)",
  redisPort: "the port of Redis",
  apiPort: "the port of the API",
  dispatcherPort: "the port workers connect to (pull and push)",
  redisUrl: "redis://<Redis's address>:<redisPort>: 127.0.0.1, or with cluster.hosts: separate the address of Redis's end of this component's link to it",
  dispatcherUrl: "tcp://<the dispatcher's address>:<dispatcherPort> (pull and push): 127.0.0.1, or with cluster.hosts: separate the dispatcher's end of this worker's link",
  listen: "the address to listen on: 127.0.0.1 on the harness's loopback, 0.0.0.0 in network namespaces (so that the links from other hosts reach it)",
  python: "the OS's CPython (/usr/bin/python3, where Debian's python3-fastapi, python3-zmq, python3-redis and python3-dill install), not whatever python3 comes first on PATH",
  mode: "the dispatcher mode: local, pull or push",
  executors: "executors of the local dispatcher's pool, or of one worker (the scenario's cluster.workers.executors)",
  worker: "the worker's index, 0 to count - 1",
} as const;
export type Placeholder = keyof typeof PLACEHOLDERS;
export const PLACEHOLDER_NAMES = Object.keys(PLACEHOLDERS) as Placeholder[];

/** The components a target runs; the dispatcher has one entry per mode. */
export type ComponentKey = "redis" | "api" | `dispatcher.${DispatcherMode}` | "pull-worker" | "push-worker";

const ALWAYS = ["dir", "dataDir", "redisPort", "redisUrl", "listen", "python"] as const satisfies readonly Placeholder[];
const WITH_DISPATCHER = ["dispatcherPort", "dispatcherUrl"] as const satisfies readonly Placeholder[];
/** The placeholders each component is given (a command using another is refused). */
export const COMPONENT_PLACEHOLDERS: Record<ComponentKey, readonly Placeholder[]> = {
  redis: ["dir", "dataDir", "port", "redisPort", "listen"],
  api: [...ALWAYS, "port", "apiPort"],
  "dispatcher.local": [...ALWAYS, "mode", "executors"],
  "dispatcher.pull": [...ALWAYS, "mode", "port", ...WITH_DISPATCHER],
  "dispatcher.push": [...ALWAYS, "mode", "port", ...WITH_DISPATCHER],
  "pull-worker": [...ALWAYS, "mode", "executors", "worker", ...WITH_DISPATCHER],
  "push-worker": [...ALWAYS, "mode", "executors", "worker", ...WITH_DISPATCHER],
};

/** The ports a target declares; each component listening on one has its own. */
export const PORT_NAMES = ["api", "redis", "dispatcher"] as const;
export type PortName = (typeof PORT_NAMES)[number];

const portExpected = (input: unknown) => `expected a port (1 to 65535) or "given", got ${shown(input)}`;
const portIssue = (issue: { input?: unknown }) => portExpected(issue.input);
const PortSchema = z
  .union([z.literal("given"), z.number().int({ error: portIssue }).min(1, { error: portIssue }).max(65_535, { error: portIssue })], {
    error: unlessMissing(portExpected),
  })
  .meta({ label: '`given`, or a port number (1 to 65535)' })
  .describe('a fixed port number, or "given": the harness chooses a free one and passes it in {port}');

const PortsSchema = z
  .object({
    api: PortSchema.default("given").describe("the API's HTTP port, where the harness's clients send their requests"),
    redis: PortSchema.default("given").describe("Redis's port"),
    dispatcher: PortSchema.default("given").describe("the port the dispatcher binds for its workers (pull and push)"),
  })
  .strict()
  .prefault({})
  .describe('the ports the components use: fixed (the implementation hard-codes them: then the cluster needs a network namespace of its own) or "given"');

const timeout = duration.prefault("30s").describe("how long the component may take to be ready before its start counts as failed");
const readyPort = z
  .enum(PORT_NAMES, { error: unlessMissing((input) => `port must be one of ${PORT_NAMES.join(", ")}, got ${shown(input)}`) })
  .optional()
  .meta({ fallback: "its own port" })
  .describe("which of the target's ports (api, redis, dispatcher); default: the component's own");

const READY_KINDS = ["http", "tcp", "log", "running"] as const;
const ReadySchema = z
  .discriminatedUnion(
    "kind",
    [
      z
        .object({
          kind: z.literal("http"),
          path: z.string().regex(/^\//, { error: unlessMissing((input) => `expected a path starting with /, got ${shown(input)}`) }).meta({ label: "a path, from /" }).describe("the path asked for with GET, e.g. /healthz or /docs"),
          port: readyPort,
          timeout,
        })
        .strict()
        .describe("ready once GET http://127.0.0.1:<port><path> answers with a 2xx status"),
      z.object({ kind: z.literal("tcp"), port: readyPort, timeout }).strict().describe("ready once the port accepts a TCP connection"),
      z
        .object({
          kind: z.literal("log"),
          pattern: z
            .string()
            .min(1)
            .refine((pattern) => {
              try {
                new RegExp(pattern);
                return true;
              } catch {
                return false;
              }
            }, "not a valid regular expression")
            .meta({ label: "regular expression" })
            .describe("a JavaScript regular expression, matched against each line the process writes (stdout or stderr)"),
          timeout,
        })
        .strict()
        .describe("ready once a line of its output matches the pattern"),
      z
        .object({ kind: z.literal("running"), for: duration.describe("how long it must have run") })
        .strict()
        .describe("ready once it has run this long without exiting (for a process that says nothing and listens on no port, e.g. a worker)"),
    ],
    { error: tagError("kind", READY_KINDS) },
  )
  .meta({ label: "a readiness, by its `kind`: http, tcp, log or running" })
  .describe("what tells the harness the component is ready");

export const STOP_SIGNALS = ["SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGKILL"] as const;
const StopSchema = z
  .object({
    signal: z.enum(STOP_SIGNALS).default("SIGTERM").describe("the signal that asks it to stop"),
    grace: duration.prefault("5s").describe("how long it may take to exit after the signal before it is killed with SIGKILL"),
  })
  .strict()
  .prefault({})
  .describe("how a graceful stop is asked for (a scenario's kill faults send their own signal)");

/** A command template: a list of words, or one line split at spaces. */
const CommandSchema = z
  .union([z.string().min(1), z.array(z.string()).min(1)], {
    error: unlessMissing((input) => `expected a command line or a list of words, got ${shown(input)}`),
  })
  .meta({ label: "text, or a list of words" })
  .describe(
    "the program and its arguments, with placeholders such as {port} ({{ and }} write a brace): one line, split at spaces (no shell: no quotes, pipes or $VARS), or a list of words (for a word with spaces in it, or an empty one)",
  );

const ProcessSchema = z
  .object({
    command: CommandSchema,
    cwd: z.string().min(1).default("{dir}").describe("the working directory (placeholders allowed)"),
    env: z.record(z.string(), z.string()).default({}).meta({ label: "mapping of names to text" }).describe("environment variables added to the harness's (values may use placeholders)"),
    ready: ReadySchema,
    stop: StopSchema,
  })
  .strict();

const component = (what: string) => ProcessSchema.describe(what);

const DispatcherSchema = z
  .object({
    local: component("the dispatcher in local mode (it runs tasks on its own pool of {executors})").optional(),
    pull: component("the dispatcher in pull mode (workers ask it for tasks on {port})").optional(),
    push: component("the dispatcher in push mode (it sends tasks to workers on {port})").optional(),
  })
  .strict()
  .describe("the dispatcher, one entry per mode the target supports (each mode in `modes`, and no other)");

const ComponentsSchema = z
  .object({
    redis: component("the Redis server the API and the dispatcher use"),
    api: component("the HTTP API the harness's clients talk to"),
    dispatcher: DispatcherSchema,
    "pull-worker": component("one pull worker (started once per worker, with its index in {worker})").optional(),
    "push-worker": component("one push worker (started once per worker, with its index in {worker})").optional(),
  })
  .strict()
  .describe("how to run each component");

/** Where a cluster's components run: on one host, or each on a host of its own (cluster.hosts). */
export const HOSTS = ["shared", "separate"] as const;
export type Hosts = (typeof HOSTS)[number];

export const FUNCTION_RUNTIMES = ["python", "javascript"] as const;
export const CODECS = ["dill-base64", "faaslab"] as const;
const FunctionsSchema = z
  .object({
    runtime: z.enum(FUNCTION_RUNTIMES).describe("the language of the functions it registers and runs: the harness sends the Python version of each task kind to a python target"),
    codec: z
      .enum(CODECS)
      .describe("how functions, arguments and results travel: dill-base64 (Python objects pickled with dill, then base64, as MPCSFaaS does) or faaslab (faaslab's own codec)"),
  })
  .strict()
  .refine((functions) => !(functions.runtime === "javascript" && functions.codec === "dill-base64"), {
    message: "dill-base64 carries Python objects: a javascript runtime needs the faaslab codec",
  })
  .describe("the functions it runs");

const statusNames = (status: string) =>
  z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: unlessMissing((input) => `expected a status name or a list of them, got ${shown(input)}`) })
    .transform((names) => (typeof names === "string" ? [names] : names))
    .default([status])
    .meta({ label: "text, or a list of spellings" })
    .describe(`what it calls ${status}: a name, or every name it may use`);

const statusMapping = Object.fromEntries(TASK_STATUSES.map((status) => [status, statusNames(status)])) as {
  [S in (typeof TASK_STATUSES)[number]]: ReturnType<typeof statusNames>;
};

export const RESULT_BEFORE_FINISH = ["200-with-status", "404"] as const;
const successCodes = (what: string) =>
  z
    .array(z.number().int().min(200).max(299))
    .min(1)
    .default([200, 201])
    .meta({ label: "list of 2xx codes" })
    .describe(`the HTTP statuses that mean ${what} was accepted`);

const DialectSchema = z
  .object({
    statuses: z.object(statusMapping).strict().prefault({}).describe("the task statuses as it spells them (faaslab's names on the left)"),
    resultBeforeFinish: z
      .enum(RESULT_BEFORE_FINISH, { error: unlessMissing((input) => `expected 200-with-status or "404", got ${shown(input)}`) })
      .default("200-with-status")
      .describe("what GET /result/<id> answers before the task has finished: 200 with its status (QUEUED, RUNNING), or 404"),
    successCodes: z
      .object({
        register: successCodes("a function's registration (POST /register_function)"),
        execute: successCodes("a task's submission (POST /execute_function)"),
      })
      .strict()
      .prefault({})
      .describe("the statuses of success"),
  })
  .strict()
  .prefault({})
  .describe("where its API differs from faaslab's");

export const TargetSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, { error: unlessMissing((input) => `expected lowercase letters, digits and dashes (like mpcsfaas), got ${shown(input)}`) })
      .meta({ label: "lowercase letters, digits and dashes" })
      .describe("how reports name it (a shipped target is targets/<name>.yaml)"),
    description: z.string().min(1).describe("one line: what implementation, laid out how"),
    dir: z
      .string()
      .min(1)
      .optional()
      .meta({ fallback: "none: --target-dir is required" })
      .describe("the implementation's directory, relative to the target file, when --target-dir does not give one"),
    modes: z
      .array(z.enum(DISPATCHER_MODES, { error: unlessMissing((input) => `expected one of ${DISPATCHER_MODES.join(", ")}, got ${shown(input)}`) }))
      .min(1)
      .refine((modes) => new Set(modes).size === modes.length, "a mode is listed twice")
      .describe("the dispatcher modes it supports: a scenario run in another mode is reported not applicable to it"),
    ports: PortsSchema,
    hosts: z
      .array(z.enum(HOSTS, { error: unlessMissing((input) => `expected shared or separate, got ${shown(input)}`) }))
      .min(1)
      .default(["shared"])
      .describe(
        "how its components can be placed: shared (one host: one network namespace for the whole cluster, or the harness's loopback) and, if it takes every address it connects to from {redisUrl} and {dispatcherUrl} and listens on {listen}, separate (each component in a namespace of its own, as on separate machines: cluster.hosts: separate)",
      ),
    functions: FunctionsSchema,
    components: ComponentsSchema,
    dialect: DialectSchema,
  })
  .strict();

export type Target = z.output<typeof TargetSchema>;
export type TargetProcess = z.output<typeof ProcessSchema>;
export type Readiness = TargetProcess["ready"];
export type Dialect = Target["dialect"];
export type PortSpec = z.output<typeof PortSchema>;
