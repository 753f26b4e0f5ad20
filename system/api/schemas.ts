/** The REST contract: request and response schemas, used by fastify to validate and serialize. */
import { MAX_DEADLINE_MS, TASK_STATUSES } from "../task.js";

const uuid = { type: "string", format: "uuid" } as const;
export const MAX_WAIT_SECONDS = 30;
/** The most tasks one batch request may submit or wait for. */
export const MAX_BATCH = 10_000;

const errorBody = {
  type: "object",
  properties: { error: { type: "string" }, code: { type: "string" } },
} as const;

export const registerFunction = {
  body: {
    type: "object",
    required: ["name", "payload"],
    properties: {
      name: { type: "string", minLength: 1, maxLength: 200 },
      payload: { type: "string", minLength: 1 },
    },
  },
  response: { 201: { type: "object", properties: { function_id: { type: "string" } } }, "4xx": errorBody, "5xx": errorBody },
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
  response: { 201: { type: "object", properties: { task_id: { type: "string" } } }, "4xx": errorBody, "5xx": errorBody },
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
  response: { 201: { type: "object", properties: { task_ids: { type: "array", items: { type: "string" } } } }, "4xx": errorBody, "5xx": errorBody },
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
      properties: {
        results: {
          type: "array",
          items: { type: "object", properties: { task_id: { type: "string" }, status: { type: "string" }, result: { type: ["string", "null"] } } },
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
  response: { 200: { type: "object", properties: { task_id: { type: "string" }, status } }, "4xx": errorBody, "5xx": errorBody },
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
