/**
 * The workload's MPCSFaaS client against an implementation whose dialect differs from faaslab's
 * everywhere a target file lets it: it says COMPLETE and ERROR, its /result answers 404 until a
 * task has finished, and it accepts with 202. The implementation is a small real HTTP server
 * here, which unpickles nothing: it checks that what it receives is what an MPCSFaaS client
 * sends (a dill pickle of a function, the pickled arguments), and answers as such a system would.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pythonBase64 } from "../../system/codec/pickle.js";
import { parseTarget } from "../../harness/target/load.js";
import { DialectApi } from "../../harness/workload/api.js";
import { templatesFor } from "../../harness/workload/kinds.js";
import { pythonPrerequisites } from "../support/python.js";

const prerequisites = pythonPrerequisites();

const dialect = parseTarget(`
name: odd
description: a dialect unlike faaslab's
modes: [local]
functions: { runtime: python, codec: dill-base64 }
components:
  redis: { command: "redis-server --port {port}", ready: { kind: tcp } }
  api: { command: "x --port {port}", ready: { kind: http, path: /docs } }
  dispatcher: { local: { command: "y -w {executors}", ready: { kind: running, for: 1s } } }
dialect:
  statuses: { RUNNING: [RUNNING, STARTED], COMPLETED: COMPLETE, FAILED: ERROR }
  resultBeforeFinish: "404"
  successCodes: { register: [200], execute: [202] }
`).dialect;

/** A task finishes on its third status read; until then it is STARTED, and /result is 404. */
const reads = new Map<string, number>();
const received: { path: string; body: Record<string, string> }[] = [];
let server: Server;
let url = "";

beforeAll(async () => {
  server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => {
      const send = (status: number, body: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (request.method === "POST") received.push({ path: request.url!, body: JSON.parse(text) as Record<string, string> });
      if (request.url === "/register_function") return send(200, { function_id: "f-1" });
      if (request.url === "/execute_function") {
        const id = `t-${received.length}`;
        reads.set(id, 0);
        return send(202, { task_id: id });
      }
      const [, kind, id] = request.url!.split("/");
      if (!reads.has(id)) return send(404, { detail: "no such task" });
      const finished = reads.get(id)! >= 2;
      if (kind === "status") {
        reads.set(id, reads.get(id)! + 1);
        return send(200, { task_id: id, status: finished ? "COMPLETE" : "STARTED" });
      }
      // The pickle of 42 (protocol 4), base64 as the course's serialize writes it.
      return finished ? send(200, { task_id: id, status: "COMPLETE", result: pythonBase64(Buffer.from("80044b2a2e", "hex")) }) : send(404, { detail: "not finished" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe.skipIf(!prerequisites.ok)(`the MPCSFaaS dialect client${prerequisites.ok ? "" : ` (skipped: ${prerequisites.why})`}`, () => {
  it("registers a dill pickle of the function, submits pickled arguments, and reads statuses and results in the target's spelling", async () => {
    const api = new DialectApi(url, dialect, 5000);
    try {
      const [template] = await templatesFor([{ kind: "cpu", weight: 1, fib: [10, 10] }], "/x/s.yaml", { runtime: "python" });
      const functionId = await api.register(template);
      expect(functionId).toBe("f-1");
      // What a course client sends: the function pickled by dill, by value; CPython can load and call it.
      const payload = received[0].body.payload;
      const called = execFileSync("/usr/bin/python3", ["-c", "import sys, codecs, dill; f = dill.loads(codecs.decode(sys.stdin.read().encode(), 'base64')); print(f.__name__, f(10))"], { input: payload, encoding: "utf8" });
      expect(called.trim()).toBe("fibonacci 55");

      const taskId = await api.execute(template, functionId, [10]);
      expect(received[1]).toEqual({ path: "/execute_function", body: { function_id: "f-1", payload: expect.any(String) } });
      const args = execFileSync("/usr/bin/python3", ["-c", "import sys, codecs, dill; print(repr(dill.loads(codecs.decode(sys.stdin.read().encode(), 'base64'))))"], { input: received[1].body.payload, encoding: "utf8" });
      expect(args.trim()).toBe("((10,), {})");

      // 404 before the end: the status comes from /status, in faaslab's name.
      expect(await api.final(taskId)).toEqual({ status: "RUNNING", result: null });
      expect(await api.status(taskId)).toBe("RUNNING");
      const outcome = await api.result(taskId, 5);
      expect(outcome.status).toBe("COMPLETED");
      expect(outcome.result).toBe(pythonBase64(Buffer.from("80044b2a2e", "hex")));
      // A task it does not know is missing, not an error.
      expect(await api.final("t-unknown")).toBeUndefined();
    } finally {
      await api.close();
    }
  });

  it("an answer outside the target's success codes is a refusal with its HTTP status", async () => {
    const strict = new DialectApi(url, { ...dialect, successCodes: { register: [201], execute: [202] } }, 5000);
    try {
      const [template] = await templatesFor([{ kind: "noop", weight: 1 }], "/x/s.yaml", { runtime: "python" });
      await expect(strict.register(template)).rejects.toMatchObject({ status: 200, message: expect.stringContaining("/register_function answered 200") });
    } finally {
      await strict.close();
    }
  });
});
