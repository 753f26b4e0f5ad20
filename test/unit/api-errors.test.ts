/** How the API answers an error: decided from the error alone (pure: no Redis, no app). */
import { MaxRetriesPerRequestError } from "ioredis/built/errors/index.js";
import { ReplyError } from "ioredis";
import type { FastifyError } from "fastify";
import { describe, expect, it } from "vitest";
import { ApiError, describeClientError, describeError, describeRouterError, isRedisUnavailable } from "../../system/api/errors.js";

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

  it("never answers with a code of fastify's own: a client error it has no code for is BAD_REQUEST (issue 14, defect 7)", () => {
    expect(answer(Object.assign(new Error("'/status/%ZZ' is not a valid url component"), { code: "FST_ERR_BAD_URL", statusCode: 400 }))).toEqual({
      statusCode: 400, body: { error: "'/status/%ZZ' is not a valid url component", code: "BAD_REQUEST" },
    });
    expect(describeRouterError(Object.assign(new Error("bad"), { code: "FST_ERR_BAD_URL", statusCode: 400 }) as FastifyError, "/status/%ZZ")).toEqual({
      statusCode: 400, body: { error: "invalid request: '/status/%ZZ' is not a valid URL (a % must be followed by two hex digits, and encode UTF-8)", code: "BAD_REQUEST" },
    });
  });
});

describe("describeClientError", () => {
  const parserError = (code: string, reason?: string) => Object.assign(new Error(`Parse Error: ${reason}`), { code, reason });

  it("answers what Node's HTTP parser refused in the API's codes, with the documented body", () => {
    expect(describeClientError(parserError("HPE_HEADER_OVERFLOW", "Header overflow"), 16384)).toEqual({
      statusCode: 431, body: { error: "the request's headers take more than 16384 bytes, the most the API reads", code: "HEADERS_TOO_LARGE" }, headers: {},
    });
    expect(describeClientError(parserError("HPE_INVALID_METHOD", "Invalid method encountered"))).toEqual({
      statusCode: 405, body: { error: "the request's method is not one HTTP defines; the API serves GET, HEAD and POST", code: "METHOD_NOT_ALLOWED" }, headers: { allow: "GET, HEAD, POST" },
    });
    expect(describeClientError(parserError("HPE_UNEXPECTED_CONTENT_LENGTH", "Duplicate Content-Length"))).toEqual({
      statusCode: 400, body: { error: "the request is not valid HTTP/1.1: Duplicate Content-Length", code: "MALFORMED_REQUEST" }, headers: {},
    });
  });

  it("a request that did not arrive in time is a 408; an error without llhttp's reason is still a 400 MALFORMED_REQUEST", () => {
    const timeout = Object.assign(new Error("Request timeout"), { code: "ERR_HTTP_REQUEST_TIMEOUT" });
    expect(describeClientError(timeout)).toEqual({ statusCode: 408, body: { error: "the request did not arrive in time", code: "REQUEST_TIMEOUT" }, headers: {} });
    expect(describeClientError(new Error("something else"))).toEqual({ statusCode: 400, body: { error: "the request is not valid HTTP/1.1", code: "MALFORMED_REQUEST" }, headers: {} });
  });
});
