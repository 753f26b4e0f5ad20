/** How the API answers an error: decided from the error alone (pure: no Redis, no app). */
import { MaxRetriesPerRequestError } from "ioredis/built/errors/index.js";
import { ReplyError } from "ioredis";
import type { FastifyError } from "fastify";
import { describe, expect, it } from "vitest";
import { ApiError, describeError, isRedisUnavailable } from "../../system/api/errors.js";

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe("isRedisUnavailable", () => {
  it.each([
    ["ioredis's MaxRetriesPerRequestError", new MaxRetriesPerRequestError(1)],
    ["a command cut off with its connection", new Error("Connection is closed.")],
    ["a serving connection while it reconnects", new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ["a command timeout", new Error("Command timed out")],
    ["a refused connection", withCode("connect ECONNREFUSED 127.0.0.1:6390", "ECONNREFUSED")],
    ["a reset connection", withCode("read ECONNRESET", "ECONNRESET")],
    ["Redis loading its data after a restart", new ReplyError("LOADING Redis is loading the dataset in memory")],
    ["a Redis error wrapped in another", new Error("could not read the task", { cause: new Error("Connection is closed.") })],
  ])("says yes to %s", (_what, error) => {
    expect(isRedisUnavailable(error)).toBe(true);
  });

  it.each([
    ["a TypeError in a handler", new TypeError("Cannot read properties of undefined (reading 'status')")],
    ["a command Redis refused", new ReplyError("ERR wrong number of arguments for 'hget' command")],
    ["a script's own error", new ReplyError("ERR user_script:1: attempt to compare nil with number")],
    ["something that is not an Error", "Connection is closed."],
    ["a message that only mentions a timeout", new Error("the function timed out")],
  ])("says no to %s", (_what, error) => {
    expect(isRedisUnavailable(error)).toBe(false);
  });
});

describe("describeError", () => {
  const answer = (error: unknown) => describeError(error as FastifyError);

  it("answers a Redis error 503 and a bug 500, whatever else is going on", () => {
    expect(answer(new MaxRetriesPerRequestError(1))).toEqual({ statusCode: 503, body: { error: "Redis is unreachable; try again shortly", code: "REDIS_UNAVAILABLE" } });
    expect(answer(new TypeError("x is not a function"))).toEqual({ statusCode: 500, body: { error: "internal error", code: "INTERNAL" } });
  });

  it("keeps the API's own errors and fastify's client errors", () => {
    expect(answer(new ApiError("FUNCTION_BUSY", "busy", 1))).toEqual({ statusCode: 429, body: { error: "busy", code: "FUNCTION_BUSY" } });
    expect(answer(Object.assign(new Error("Body is too large"), { code: "FST_ERR_CTP_BODY_TOO_LARGE", statusCode: 413 }))).toEqual({ statusCode: 413, body: { error: "Body is too large", code: "BODY_TOO_LARGE" } });
    expect(answer(Object.assign(new Error("body must have required property 'name'"), { validation: [{}], statusCode: 400 }))).toEqual({
      statusCode: 400, body: { error: "invalid request: body must have required property 'name'", code: "BAD_REQUEST" },
    });
  });
});
