/**
 * The REST contract: request and response schemas, used by fastify to validate and serialize,
 * and, through the json-schema-to-ts type provider, the types of every route's request and
 * reply (so a handler cannot read a field the schema does not declare). They are also what
 * GET /openapi.json is made of (openapi.ts): each route's operationId, tags, summary and
 * description, and the fields' descriptions, are annotations that validation and
 * serialization ignore.
 */
import { MAX_DEADLINE_MS, TASK_STATUSES } from "../task.js";
import { RUNTIMES } from "../runtimes.js";
import { API_ERRORS } from "./errors.js";
import { MAX_BATCH, MAX_WAIT_SECONDS } from "./limits.js";

/**
 * An id: a UUID in its plain form, 8-4-4-4-12 hex digits in either case. Not ajv's "uuid"
 * format, which also accepts `urn:uuid:<uuid>`, an id the store would then not know (404).
 */
export const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const uuid = { type: "string", pattern: UUID_PATTERN } as const;
const functionId = { ...uuid, description: "The function's id, as /register_function answered it (in either case)." } as const;
const deadlineMs = { type: "integer", minimum: 1, maximum: MAX_DEADLINE_MS, description: "How long the task may run, in ms, overriding the dispatcher's default (1 ms to 24 h)." } as const;
const argumentsPayload = { type: "string", minLength: 1, description: "The task's arguments: an array, serialized with faaslab's codec (the SDK's serialize)." } as const;
const result = { type: ["string", "null"], description: "The serialized return value when COMPLETED, the serialized error when FAILED, null before." } as const;

/** Response objects say `additionalProperties: false`: what fast-json-stringify does anyway (undeclared fields are left out), said so the derived types are exact. */
const status = {
  type: "string",
  enum: [...TASK_STATUSES],
  description: "QUEUED (accepted, not started), RUNNING (an executor has started it), COMPLETED or FAILED; states only move forward.",
} as const;
const errorBody = {
  type: "object",
  additionalProperties: false,
  description: "An error: what was wrong, and a code.",
  properties: {
    error: { type: "string", description: "What was wrong, for a person." },
    code: { type: "string", description: `For a program: one of ${Object.keys(API_ERRORS).join(", ")}.` },
  },
} as const;

export const registerFunction = {
  operationId: "registerFunction",
  tags: ["functions"],
  summary: "Register a function",
  description: "Stores a function (JavaScript source checked to be one function, or a Python pickle checked for its framing only, or Python source) with its runtime, and answers its id. The function is not run here.",
  body: {
    type: "object",
    required: ["name", "payload"],
    properties: {
      name: { type: "string", minLength: 1, maxLength: 200, description: "A name for people: logs, errors and the dashboard show it." },
      payload: {
        type: "string", minLength: 1,
        description: "The function: serialized with faaslab's codec (the SDK's serialize) for JavaScript; for Python, base64 of its dill pickle (an MPCSFaaS client's serialize(fn)) or, with runtime python, its source.",
      },
      runtime: { type: "string", enum: RUNTIMES, description: "javascript or python; wins over what the payload looks like (needed for Python source)." },
    },
  },
  response: {
    201: { type: "object", additionalProperties: false, description: "Registered.", properties: { function_id: { type: "string", description: "The function's id, a UUID." } } },
    "4xx": errorBody,
    "5xx": errorBody,
  },
} as const;

/** `?wait=<seconds>`: a query string is text, so a number written in decimal, checked for range by the route. */
const waitQuery = {
  type: "object",
  properties: { wait: { type: "string", pattern: "^[0-9]+(\\.[0-9]+)?$", description: `Seconds to wait for the task to finish, in decimal (up to ${MAX_WAIT_SECONDS}; default 0, no wait).` } },
} as const;

export const executeFunction = {
  operationId: "executeFunction",
  tags: ["tasks"],
  summary: "Run a function once",
  description:
    "Submits one task: the function with these arguments, stored and queued in one step. Answers at once with the task's id; the result is read with /result or /results. With ?wait=s the answer is held until the task finishes or s seconds pass, and also carries its status and result: the whole round trip in one request.",
  querystring: waitQuery,
  body: {
    type: "object",
    required: ["function_id", "payload"],
    properties: {
      function_id: functionId,
      payload: argumentsPayload,
      deadline_ms: deadlineMs,
    },
  },
  response: {
    201: {
      type: "object",
      additionalProperties: false,
      description: "Accepted and queued; with ?wait, also the task's outcome when it finished (or so far, when the wait ended first). An outcome that cannot be given with it (too large, or Redis failing meanwhile) is left out: read it from /result.",
      properties: { task_id: { type: "string", description: "The task's id, a UUID." }, status, result },
    },
    "4xx": errorBody,
    "5xx": errorBody,
  },
} as const;

export const executeBatch = {
  operationId: "executeBatch",
  tags: ["tasks"],
  summary: "Run a function on many argument lists",
  description: "Submits one task per payload, all accepted or none; a bad payload is named (payloads[3]).",
  body: {
    type: "object",
    required: ["function_id", "payloads"],
    properties: {
      function_id: functionId,
      payloads: { type: "array", minItems: 1, maxItems: MAX_BATCH, items: argumentsPayload, description: `One task's arguments each (1 to ${MAX_BATCH}).` },
      deadline_ms: deadlineMs,
    },
  },
  response: {
    201: {
      type: "object",
      additionalProperties: false,
      description: "All accepted and queued.",
      properties: { task_ids: { type: "array", items: { type: "string" }, description: "The tasks' ids, in the order of the payloads." } },
    },
    "4xx": errorBody,
    "5xx": errorBody,
  },
} as const;

export const getResults = {
  operationId: "getResults",
  tags: ["results"],
  summary: "Read many tasks' outcomes",
  description: "The status and result of each task named, in order. With wait, the answer is held until all of them have finished or the wait ends.",
  body: {
    type: "object",
    required: ["task_ids"],
    properties: {
      task_ids: { type: "array", minItems: 1, maxItems: MAX_BATCH, items: uuid, description: `The tasks, each named once (1 to ${MAX_BATCH}).` },
      wait: { type: "number", minimum: 0, maximum: MAX_WAIT_SECONDS, description: `Seconds to wait for all of them to finish (up to ${MAX_WAIT_SECONDS}; default 0, no wait).` },
    },
  },
  response: {
    200: {
      type: "object",
      additionalProperties: false,
      description: "The outcomes, in the order asked for.",
      properties: {
        results: {
          type: "array",
          items: { type: "object", additionalProperties: false, properties: { task_id: { type: "string" }, status: { type: "string" }, result } },
        },
      },
    },
    "4xx": errorBody,
    "5xx": errorBody,
  },
} as const;

const taskParams = { type: "object", required: ["task_id"], properties: { task_id: { ...uuid, description: "The task's id, as the submission answered it (in either case)." } } } as const;

export const getStatus = {
  operationId: "getStatus",
  tags: ["tasks"],
  summary: "Read a task's status",
  params: taskParams,
  response: { 200: { type: "object", additionalProperties: false, description: "The task's status.", properties: { task_id: { type: "string" }, status } }, "4xx": errorBody, "5xx": errorBody },
} as const;

export const getResult = {
  operationId: "getResult",
  tags: ["results"],
  summary: "Read a task's outcome",
  description: "The task's status and result. With ?wait=s the answer is held until the task finishes or s seconds pass.",
  params: taskParams,
  querystring: waitQuery,
  response: {
    200: {
      type: "object",
      additionalProperties: false,
      description: "The task's outcome so far.",
      properties: { task_id: { type: "string" }, status, result },
    },
    "4xx": errorBody,
    "5xx": errorBody,
  },
} as const;

export const getTask = {
  operationId: "getTask",
  tags: ["tasks"],
  summary: "Read a task's whole record",
  description: "Everything stored about the task: its outcome, its times (ms since the epoch, by Redis's clock), its attempts and where it ran.",
  params: taskParams,
  response: {
    200: {
      type: "object",
      additionalProperties: false,
      description: "The task's record.",
      properties: {
        task_id: { type: "string" },
        function_id: { type: "string" },
        status,
        result,
        created_at: { type: "number", description: "When it was accepted." },
        started_at: { type: ["number", "null"], description: "When an executor last started it." },
        finished_at: { type: ["number", "null"], description: "When its result was recorded." },
        attempts: { type: "integer", description: "How many times it was started." },
        deadline_ms: { type: ["integer", "null"], description: "Its own deadline, when the submission gave one." },
        worker: { type: ["string", "null"], description: "The dispatcher that last claimed it." },
        executor: { type: ["string", "null"], description: "The executor thread that produced the result." },
      },
    },
    "4xx": errorBody,
    "5xx": errorBody,
  },
} as const;

/**
 * The routes fastify answers without a response schema, as they always were: /cluster's
 * snapshot is open-ended (a response schema would have fast-json-stringify drop whatever it
 * does not declare), /metrics is Prometheus text, and /healthz is two fixed answers. Their
 * route schemas are annotations only, with nothing for fastify to compile; what they answer
 * is in `documentedResponses`, which only the OpenAPI document reads.
 */
export const getCluster = {
  operationId: "getCluster",
  tags: ["operations"],
  summary: "Read the cluster's status",
  description: "A snapshot of the cluster read from Redis: the live dispatchers and workers, capacity, queue depth, task counts and the latest failures (what `faas status` and the dashboard show).",
} as const;

export const getHealth = {
  operationId: "getHealth",
  tags: ["operations"],
  summary: "Check that the API can serve",
  description: "200 while Redis answers, 503 otherwise. Served without the token, for load balancers and probes.",
  // No token, even when the API has one.
  security: [],
} as const;

export const getMetrics = {
  operationId: "getMetrics",
  tags: ["operations"],
  summary: "Read the API's Prometheus metrics",
  description: "The API process's metrics in Prometheus's text format (an empty page when the process counts nothing: FAAS_METRICS=off).",
} as const;

const count = { type: "integer", minimum: 0 } as const;

/** What the routes above answer, by operationId: for the document, never for fastify. */
export const documentedResponses: Record<string, { response: Record<string, unknown> }> = {
  getCluster: {
    response: {
      200: {
        type: "object",
        description: "The snapshot (README: Seeing the cluster).",
        properties: {
          at: { type: "number", description: "When the API read it (ms since the epoch, its clock)." },
          mode: { type: ["string", "null"], enum: ["local", "pull", "push", "mixed", null], description: "The live dispatchers' mode: mixed when they differ, null when none is live." },
          dispatchers: { type: "array", items: { type: "object" }, description: "The live dispatchers." },
          workers: { type: "array", items: { type: "object" }, description: "Every live dispatcher's workers, each with its dispatcherId." },
          capacity: { ...count, description: "Executors in all." },
          busy: { ...count, description: "Executors running a task." },
          queueDepth: { ...count, description: "Tasks accepted and not yet started." },
          tasks: {
            type: "object",
            description: "Tasks in each state: QUEUED and RUNNING now, COMPLETED and FAILED ever.",
            properties: Object.fromEntries(TASK_STATUSES.map((name) => [name, count])),
          },
          recentFailures: { type: "array", items: { type: "object" }, description: "The latest failures, newest first." },
        },
      },
      "4xx": errorBody,
      "5xx": errorBody,
    },
  },
  getHealth: {
    response: {
      200: { type: "object", description: "Redis answers.", properties: { status: { type: "string", enum: ["ok"] } } },
      503: { ...errorBody, description: "Redis does not answer (REDIS_UNAVAILABLE); with Retry-After: 1." },
    },
  },
  getMetrics: {
    response: {
      200: { description: "The metrics.", content: { "text/plain": { schema: { type: "string", description: "Prometheus's text exposition format." } } } },
      "4xx": errorBody,
    },
  },
};
