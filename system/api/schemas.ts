/**
 * The REST contract: request and response schemas, used by fastify to validate and serialize,
 * and, through the json-schema-to-ts type provider, the types of every route's request and
 * reply (so a handler cannot read a field the schema does not declare).
 */
import { MAX_DEADLINE_MS, TASK_STATUSES } from "../task.js";
import { RUNTIMES } from "../runtimes.js";
import { MAX_BATCH, MAX_WAIT_SECONDS } from "./limits.js";

/**
 * An id: a UUID in its plain form, 8-4-4-4-12 hex digits in either case. Not ajv's "uuid"
 * format, which also accepts `urn:uuid:<uuid>`, an id the store would then not know (404).
 */
export const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const uuid = { type: "string", pattern: UUID_PATTERN } as const;

/** Response objects say `additionalProperties: false`: what fast-json-stringify does anyway (undeclared fields are left out), said so the derived types are exact. */
const errorBody = {
  type: "object",
  additionalProperties: false,
  properties: { error: { type: "string" }, code: { type: "string" } },
} as const;

export const registerFunction = {
  body: {
    type: "object",
    required: ["name", "payload"],
    properties: {
      name: { type: "string", minLength: 1, maxLength: 200 },
      payload: { type: "string", minLength: 1 },
      /** Wins over what the payload looks like; needed for Python source text. */
      runtime: { type: "string", enum: RUNTIMES },
    },
  },
  response: { 201: { type: "object", additionalProperties: false, properties: { function_id: { type: "string" } } }, "4xx": errorBody, "5xx": errorBody },
} as const;

export const executeFunction = {
  body: {
    type: "object",
    required: ["function_id", "payload"],
    properties: {
      function_id: uuid,
      payload: { type: "string", minLength: 1 },
      deadline_ms: { type: "integer", minimum: 1, maximum: MAX_DEADLINE_MS },
    },
  },
  response: { 201: { type: "object", additionalProperties: false, properties: { task_id: { type: "string" } } }, "4xx": errorBody, "5xx": errorBody },
} as const;

export const executeBatch = {
  body: {
    type: "object",
    required: ["function_id", "payloads"],
    properties: {
      function_id: uuid,
      payloads: { type: "array", minItems: 1, maxItems: MAX_BATCH, items: { type: "string", minLength: 1 } },
      deadline_ms: { type: "integer", minimum: 1, maximum: MAX_DEADLINE_MS },
    },
  },
  response: { 201: { type: "object", additionalProperties: false, properties: { task_ids: { type: "array", items: { type: "string" } } } }, "4xx": errorBody, "5xx": errorBody },
} as const;

export const getResults = {
  body: {
    type: "object",
    required: ["task_ids"],
    properties: {
      task_ids: { type: "array", minItems: 1, maxItems: MAX_BATCH, items: uuid },
      wait: { type: "number", minimum: 0, maximum: MAX_WAIT_SECONDS },
    },
  },
  response: {
    200: {
      type: "object",
      additionalProperties: false,
      properties: {
        results: {
          type: "array",
          items: { type: "object", additionalProperties: false, properties: { task_id: { type: "string" }, status: { type: "string" }, result: { type: ["string", "null"] } } },
        },
      },
    },
    "4xx": errorBody,
    "5xx": errorBody,
  },
} as const;

const taskParams = { type: "object", required: ["task_id"], properties: { task_id: uuid } } as const;
const status = { type: "string", enum: [...TASK_STATUSES] } as const;

export const getStatus = {
  params: taskParams,
  response: { 200: { type: "object", additionalProperties: false, properties: { task_id: { type: "string" }, status } }, "4xx": errorBody, "5xx": errorBody },
} as const;

export const getResult = {
  params: taskParams,
  querystring: {
    type: "object",
    // A query string is text: wait is a number of seconds written in decimal, checked for range by the route.
    properties: { wait: { type: "string", pattern: "^[0-9]+(\\.[0-9]+)?$" } },
  },
  response: {
    200: {
      type: "object",
      additionalProperties: false,
      properties: { task_id: { type: "string" }, status, result: { type: ["string", "null"] } },
    },
    "4xx": errorBody,
    "5xx": errorBody,
  },
} as const;

export const getTask = {
  params: taskParams,
  response: {
    200: {
      type: "object",
      additionalProperties: false,
      properties: {
        task_id: { type: "string" },
        function_id: { type: "string" },
        status,
        result: { type: ["string", "null"] },
        created_at: { type: "number" },
        started_at: { type: ["number", "null"] },
        finished_at: { type: ["number", "null"] },
        attempts: { type: "integer" },
        deadline_ms: { type: ["integer", "null"] },
        worker: { type: ["string", "null"] },
        executor: { type: ["string", "null"] },
      },
    },
    "4xx": errorBody,
    "5xx": errorBody,
  },
} as const;
