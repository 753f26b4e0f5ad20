/**
 * The API keeps its documented contract at its edges (issue 14, defect 7): bytes that are not
 * valid HTTP/1.1, sent over a raw socket exactly as written here, and paths the router cannot
 * read are answered with the API's own status and `{error, code}` body, and the API goes on
 * serving; an id is a plain UUID or a 400, on every route; a function among a task's
 * arguments is refused at submission, not at run time.
 */
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { FaaSError, serialize } from "../../system/client/index.js";
import { http, useCluster } from "../support/cluster.js";

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: any;
  /** Everything the server sent, for messages. */
  text: string;
}

/** Sends `bytes` on a new connection and reads until the server closes it. */
function rawRequest(baseUrl: string, bytes: string): Promise<RawReply> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const [head, ...rest] = text.split("\r\n\r\n");
      const [statusLine, ...headerLines] = head.split("\r\n");
      const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
      const bodyText = rest.join("\r\n\r\n");
      let body: unknown = bodyText;
      try {
        body = JSON.parse(bodyText);
      } catch {
        /* not JSON: the assertion says so */
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body, text });
    });
    socket.write(bytes, "latin1");
  });
}

const fx = useCluster({ mode: "local", executors: 1 });

describe("the API's answers to requests that are not valid HTTP", () => {
  it.each([
    [
      "headers over the 16 KiB Node reads",
      `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${"a".repeat(20_000)}\r\n\r\n`,
      431, { code: "HEADERS_TOO_LARGE", error: "the request's headers take more than 16384 bytes, the most the API reads" },
    ],
    [
      "Content-Length twice",
      `POST /results HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
      400, { code: "MALFORMED_REQUEST", error: "the request is not valid HTTP/1.1: Duplicate Content-Length" },
    ],
    [
      "Transfer-Encoding with Content-Length",
      `POST /results HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      400, { code: "MALFORMED_REQUEST", error: "the request is not valid HTTP/1.1: Transfer-Encoding can't be present with Content-Length" },
    ],
    [
      "an HTTP version that does not exist",
      `GET /healthz HTTP/9.9\r\nHost: localhost\r\n\r\n`,
      400, { code: "MALFORMED_REQUEST", error: "the request is not valid HTTP/1.1: Invalid HTTP version" },
    ],
    [
      "an unknown method",
      `FOO / HTTP/1.1\r\nHost: localhost\r\n\r\n`,
      405, { code: "METHOD_NOT_ALLOWED", error: "the request's method is not one HTTP defines; the API serves GET, HEAD and POST" },
    ],
  ])("%s: the documented status and JSON {error, code}, the connection closed, and the API still serving", async (_case, bytes, status, body) => {
    const reply = await rawRequest(fx.url, bytes);
    expect(reply.status, reply.text).toBe(status);
    expect(reply.body, reply.text).toEqual(body);
    expect(reply.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(reply.headers["connection"]).toBe("close");
    expect(Number(reply.headers["content-length"])).toBe(Buffer.byteLength(JSON.stringify(body)));
    if (status === 405) expect(reply.headers["allow"]).toBe("GET, HEAD, POST");
    expect((await http(fx.url, "GET", "/healthz")).body).toEqual({ status: "ok" });
  });

  it("bad bytes after pipelined requests: their answers first, in order, then the error's", async () => {
    const good = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    const reply = await rawRequest(fx.url, `${good}${good}FOO / HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    const statusLines = reply.text.match(/HTTP\/1\.1 \d{3} [^\r]*/g);
    expect(statusLines, reply.text).toEqual(["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 405 Method Not Allowed"]);
    expect(reply.text.match(/\{"status":"ok"\}/g)).toHaveLength(2);
    expect(reply.text.endsWith(`{"error":"the request's method is not one HTTP defines; the API serves GET, HEAD and POST","code":"METHOD_NOT_ALLOWED"}`), reply.text).toBe(true);
  });
});

describe("the API's answers to paths the router cannot read", () => {
  it.each(["/status/", "/result/", "/tasks/"])("%s with a broken percent-encoding or an overlong id: 400 BAD_REQUEST, not fastify's own codes", async (prefix) => {
    for (const id of ["%ZZ", "%", "%C0%80"]) {
      const reply = await http(fx.url, "GET", `${prefix}${id}`);
      expect([reply.status, reply.body], id).toEqual([400, { error: `invalid request: '${prefix}${id}' is not a valid URL (a % must be followed by two hex digits, and encode UTF-8)`, code: "BAD_REQUEST" }]);
    }
    const long = `${prefix}${"a".repeat(101)}`;
    const reply = await http(fx.url, "GET", long);
    expect([reply.status, reply.body]).toEqual([400, { error: `invalid request: '${long}' has a path parameter longer than 100 characters`, code: "BAD_REQUEST" }]);
    expect((await http(fx.url, "GET", "/healthz")).status).toBe(200);
  });
});

describe("ids are UUIDs in their plain form only", () => {
  const pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

  it("urn:uuid:<id> of a real function or task is a 400 BAD_REQUEST naming the field on every route that takes an id; the id itself, in any case, is served", async () => {
    const functionId = await fx.client.register((x: number) => x + 1);
    const taskId = await fx.client.execute(functionId, 1);
    expect((await fx.client.result(taskId, { wait: 30 })).value).toBe(2);
    const refusals: [string, string, unknown, string][] = [
      ["GET", `/status/urn:uuid:${taskId}`, undefined, "params/task_id"],
      ["GET", `/result/urn:uuid:${taskId}`, undefined, "params/task_id"],
      ["GET", `/tasks/urn:uuid:${taskId}`, undefined, "params/task_id"],
      ["GET", `/status/URN:UUID:${taskId.toUpperCase()}`, undefined, "params/task_id"],
      ["POST", "/results", { task_ids: [taskId, `urn:uuid:${taskId}`] }, "body/task_ids/1"],
      ["POST", "/execute_function", { function_id: `urn:uuid:${functionId}`, payload: serialize([1]) }, "body/function_id"],
      ["POST", "/execute_batch", { function_id: `urn:uuid:${functionId}`, payloads: [serialize([1])] }, "body/function_id"],
    ];
    const answers = [];
    for (const [method, path, body] of refusals) {
      const reply = await http(fx.url, method, path, body);
      answers.push([`${method} ${path}`, reply.status, reply.body]);
    }
    expect(answers).toEqual(refusals.map(([method, path, , field]) => [`${method} ${path}`, 400, { error: `invalid request: ${field} must match pattern "${pattern}"`, code: "BAD_REQUEST" }]));
    for (const id of [taskId, taskId.toUpperCase()]) {
      expect((await http(fx.url, "GET", `/status/${id}`)).body).toEqual({ task_id: taskId, status: "COMPLETED" });
      expect((await http(fx.url, "POST", "/results", { task_ids: [id] })).body.results[0].status).toBe("COMPLETED");
    }
    const upper = await http(fx.url, "POST", "/execute_function", { function_id: functionId.toUpperCase(), payload: serialize([2]) });
    expect(upper.status).toBe(201);
    expect(await fx.client.valueOf(upper.body.task_id)).toBe(3);
  });
});

describe("a function cannot be an argument", () => {
  const refusal = (field: string, path: string) => `invalid ${field}: ${path} is a function, which cannot be an argument: arguments are data (register a function to run it)`;

  it("POST /execute_function and /execute_batch refuse it at submission: 400 INVALID_ARGUMENTS naming where it is, and nothing is queued", async () => {
    const functionId = await fx.client.register((...args: unknown[]) => args.length);
    const accepted = async () => Object.values((await fx.client.cluster()).tasks).reduce((sum, count) => sum + count, 0);
    const before = await accepted();
    const one = await http(fx.url, "POST", "/execute_function", { function_id: functionId, payload: serialize([1, (x: number) => x]) });
    expect([one.status, one.body]).toEqual([400, { error: refusal("payload", "arguments[1]"), code: "INVALID_ARGUMENTS" }]);
    const nested = await http(fx.url, "POST", "/execute_function", { function_id: functionId, payload: serialize([{ onDone: () => 1 }]) });
    expect([nested.status, nested.body]).toEqual([400, { error: refusal("payload", "arguments[0].onDone"), code: "INVALID_ARGUMENTS" }]);
    const batch = await http(fx.url, "POST", "/execute_batch", { function_id: functionId, payloads: [serialize([1]), serialize([2, [() => 3]])] });
    expect([batch.status, batch.body]).toEqual([400, { error: refusal("payloads[1]", "arguments[1][0]"), code: "INVALID_ARGUMENTS" }]);
    // None was stored, the batch's first task neither (a batch is accepted whole or not at all).
    expect(await accepted()).toBe(before);
    // Data is still accepted and runs.
    expect(await fx.client.valueOf(await fx.client.execute(functionId, 1, { f: "not a function" }))).toBe(2);
  });

  it("the SDK's execute, executeMany and run throw a FaaSError saying which argument is a function", async () => {
    const functionId = await fx.client.register((x: unknown) => x);
    const error = (promise: Promise<unknown>) => promise.then(() => undefined, (reason: unknown) => reason);
    const execute = await error(fx.client.execute(functionId, () => 1));
    expect(execute).toBeInstanceOf(FaaSError);
    expect(execute).toMatchObject({ status: 400, code: "INVALID_ARGUMENTS", message: refusal("payload", "arguments[0]") });
    expect(await error(fx.client.executeMany(functionId, [[1], [{ callback: () => 1 }]]))).toMatchObject({ status: 400, code: "INVALID_ARGUMENTS", message: refusal("payloads[1]", "arguments[0].callback") });
    expect(await error(fx.client.run((f: () => number) => f(), () => 1))).toMatchObject({ status: 400, code: "INVALID_ARGUMENTS", message: refusal("payload", "arguments[0]") });
  });
});
