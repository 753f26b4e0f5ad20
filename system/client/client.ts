/**
 * The client SDK: register functions, execute them, and read their status and results,
 * over the REST API. Values cross the wire with the package's codec.
 */
import { Pool } from "undici";
import { FunctionSource, serialize } from "../codec/index.js";
import { decodedResult, pickledArguments, type PythonValue } from "../codec/pickle.js";
import { isTerminal, type TaskRecord, type TaskStatus } from "../task.js";
import { MAX_WAIT_SECONDS } from "../api/limits.js";
import type { ClusterSnapshot } from "../status/snapshot.js";
import { FaaSError, TaskFailedError, TaskTimeoutError } from "./errors.js";

export interface FaaSClientOptions {
  /** The API's base URL, e.g. http://127.0.0.1:8000 */
  baseUrl: string;
  /** Per-request timeout in ms, on top of any `wait` (default 30 s). */
  timeoutMs?: number;
  /** Most connections to the API at once (default: no limit; waiting requests each hold one). */
  connections?: number;
  /** The API's token, when it requires one (sent as `Authorization: Bearer <token>`). */
  token?: string;
}

export interface TaskResult {
  taskId: string;
  status: TaskStatus;
  /** The raw serialized result (null until the task is terminal). */
  result: string | null;
  /** The deserialized return value (COMPLETED) or error (FAILED); undefined before. */
  value: unknown;
}

export class FaaSClient {
  private readonly baseUrl: string;
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly authorization: Record<string, string>;
  /** Keep-alive connections to the API: undici's request API costs far less per call than fetch. */
  private readonly pool: Pool;

  constructor(options: FaaSClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    const url = new URL(this.baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.authorization = options.token ? { authorization: `Bearer ${options.token}` } : {};
    // No cap by default: a held result?wait occupies a connection, and a capped pool would queue
    // new requests behind long waits.
    this.pool = new Pool(url.origin, { connections: options.connections ?? null, pipelining: 1 });
  }

  /** Registers a function (its source travels, not its closure) and returns its id. */
  async register(fn: (...args: never[]) => unknown, name = fn.name || "anonymous"): Promise<string> {
    const body = await this.request<{ function_id: string }>("POST", "/register_function", { name, payload: serialize(fn) });
    return body.function_id;
  }

  /** Registers a function given as source text (e.g. read from a file) and returns its id. */
  async registerSource(source: string, name: string): Promise<string> {
    const body = await this.request<{ function_id: string }>("POST", "/register_function", { name, payload: serialize(new FunctionSource(source)) });
    return body.function_id;
  }

  /**
   * Registers a Python function given as source text defining it (`def name(...):`); its tasks
   * run on executors with Python (see the README's "Python functions").
   */
  async registerPython(source: string, name: string): Promise<string> {
    const body = await this.request<{ function_id: string }>("POST", "/register_function", { name, payload: source, runtime: "python" });
    return body.function_id;
  }

  /**
   * Queues one execution of a Python function, with positional and keyword arguments as JSON-like
   * values (pickled as MPCSFaaS clients do). Its result's `value` is the unpickled return value,
   * or a PythonException for what it raised.
   */
  async executePython(functionId: string, args: readonly PythonValue[] = [], kwargs: Record<string, PythonValue> = {}, options: { deadlineMs?: number } = {}): Promise<string> {
    const body = await this.request<{ task_id: string }>("POST", "/execute_function", {
      function_id: functionId,
      payload: pickledArguments(args, kwargs),
      ...(options.deadlineMs === undefined ? {} : { deadline_ms: options.deadlineMs }),
    });
    return body.task_id;
  }

  /** Queues one execution of a registered function and returns the task id. */
  async execute(functionId: string, ...args: unknown[]): Promise<string> {
    return this.executeWith(functionId, args);
  }

  /** Like `execute`, with options such as a per-task deadline. */
  async executeWith(functionId: string, args: unknown[], options: { deadlineMs?: number } = {}): Promise<string> {
    const body = await this.request<{ task_id: string }>("POST", "/execute_function", {
      function_id: functionId,
      payload: serialize(args),
      ...(options.deadlineMs === undefined ? {} : { deadline_ms: options.deadlineMs }),
    });
    return body.task_id;
  }

  /**
   * Runs a function once in one request (`POST /execute_function?wait=`): the API answers when
   * the task has finished, or after `wait` seconds (default 30, the most one request may wait)
   * with its status so far. Its result's `value` is the deserialized return value or error.
   */
  async executeAndWait(functionId: string, args: unknown[], options: { wait?: number; deadlineMs?: number } = {}): Promise<TaskResult> {
    // At least a millisecond: ?wait=0 is no wait, answered with the id alone.
    const wait = Math.max(0.001, Math.min(options.wait ?? MAX_WAIT_SECONDS, MAX_WAIT_SECONDS));
    const body = await this.request<{ task_id: string; status?: TaskStatus; result?: string | null }>(
      "POST", `/execute_function?wait=${wait.toFixed(3)}`,
      { function_id: functionId, payload: serialize(args), ...(options.deadlineMs === undefined ? {} : { deadline_ms: options.deadlineMs }) },
      wait * 1000,
    );
    // The API gives the id alone when it could not give the outcome with it: read it.
    if (body.status === undefined || body.result === undefined) return this.result(body.task_id);
    return { taskId: body.task_id, status: body.status, result: body.result, value: body.result === null ? undefined : decodedResult(body.result) };
  }

  /** Queues many executions at once (all accepted or none); one argument list per task. */
  async executeMany(functionId: string, argsList: readonly unknown[][], options: { deadlineMs?: number } = {}): Promise<string[]> {
    const body = await this.request<{ task_ids: string[] }>("POST", "/execute_batch", {
      function_id: functionId,
      payloads: argsList.map((args) => serialize(args)),
      ...(options.deadlineMs === undefined ? {} : { deadline_ms: options.deadlineMs }),
    });
    return body.task_ids;
  }

  /**
   * Many tasks' results in one request; with `wait` (seconds) the API holds it until every
   * task is finished or the wait ends (waits over 30 s are made of several requests).
   */
  async results(taskIds: readonly string[], options: { wait?: number } = {}): Promise<TaskResult[]> {
    const deadline = Date.now() + (options.wait ?? 0) * 1000;
    const outcomes = new Map<string, TaskResult>();
    let pending = [...taskIds];
    for (;;) {
      const wait = Math.min(Math.max(0, (deadline - Date.now()) / 1000), MAX_WAIT_SECONDS);
      const body = await this.request<{ results: { task_id: string; status: TaskStatus; result: string | null }[] }>(
        "POST", "/results", { task_ids: pending, ...(wait > 0 ? { wait } : {}) }, wait * 1000,
      );
      for (const { task_id: taskId, status, result } of body.results) {
        outcomes.set(taskId, { taskId, status, result, value: result === null ? undefined : decodedResult(result) });
      }
      pending = pending.filter((taskId) => !isTerminal(outcomes.get(taskId)!.status));
      if (pending.length === 0 || Date.now() >= deadline) return taskIds.map((taskId) => outcomes.get(taskId)!);
    }
  }

  async status(taskId: string): Promise<TaskStatus> {
    const body = await this.request<{ status: TaskStatus }>("GET", `/status/${encodeURIComponent(taskId)}`);
    return body.status;
  }

  /**
   * The task's status and result. With `wait` (seconds) the API holds the request until the
   * task finishes or the wait ends; waits over 30 s are made of several requests.
   */
  async result(taskId: string, options: { wait?: number } = {}): Promise<TaskResult> {
    const deadline = Date.now() + (options.wait ?? 0) * 1000;
    for (;;) {
      const remaining = Math.max(0, (deadline - Date.now()) / 1000);
      const wait = Math.min(remaining, MAX_WAIT_SECONDS);
      const query = wait > 0 ? `?wait=${wait.toFixed(3)}` : "";
      const body = await this.request<{ status: TaskStatus; result: string | null }>(
        "GET", `/result/${encodeURIComponent(taskId)}${query}`, undefined, wait * 1000,
      );
      const finished = body.status === "COMPLETED" || body.status === "FAILED";
      if (finished || Date.now() >= deadline) {
        return { taskId, status: body.status, result: body.result, value: body.result === null ? undefined : decodedResult(body.result) };
      }
    }
  }

  /** The whole task record: timestamps, attempts, and which worker and executor ran it. */
  async task(taskId: string): Promise<TaskRecord> {
    return this.request<TaskRecord>("GET", `/tasks/${encodeURIComponent(taskId)}`);
  }

  /** What the cluster is doing: its dispatchers and workers, task counts by state, recent failures (`GET /cluster`). */
  async cluster(): Promise<ClusterSnapshot> {
    return this.request<ClusterSnapshot>("GET", "/cluster");
  }

  /**
   * Registers `fn`, runs it with `args` and returns its value; throws TaskFailedError if it
   * failed and TaskTimeoutError if it did not finish within `timeoutSeconds` (default 60).
   */
  async run<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>, ...args: A): Promise<Awaited<R>> {
    const functionId = await this.register(fn as (...args: never[]) => unknown);
    const taskId = await this.execute(functionId, ...args);
    return this.valueOf<Awaited<R>>(taskId, 60);
  }

  /** Waits for a task and returns its value, or throws as `run` does. */
  async valueOf<R = unknown>(taskId: string, timeoutSeconds = 60): Promise<R> {
    const outcome = await this.result(taskId, { wait: timeoutSeconds });
    if (outcome.status === "COMPLETED") return outcome.value as R;
    if (outcome.status === "FAILED") throw new TaskFailedError(taskId, outcome.value);
    throw new TaskTimeoutError(taskId, timeoutSeconds * 1000);
  }

  /** Closes the client's connections (a client that is dropped closes them when idle). */
  async close(): Promise<void> {
    await this.pool.close();
  }

  private async request<T>(method: "GET" | "POST", path: string, body?: unknown, extraTimeoutMs = 0): Promise<T> {
    let statusCode: number;
    let text: string;
    try {
      const response = await this.pool.request({
        method,
        path: `${this.basePath}${path}`,
        headers: body === undefined ? this.authorization : { ...this.authorization, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.timeoutMs + extraTimeoutMs,
        bodyTimeout: this.timeoutMs + extraTimeoutMs,
      });
      statusCode = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      throw new FaaSError(`cannot reach the API at ${this.baseUrl}: ${(error as Error).message}`, 0, "UNREACHABLE");
    }
    let parsed: unknown;
    try {
      parsed = text === "" ? {} : JSON.parse(text);
    } catch {
      throw new FaaSError(`the API answered ${statusCode} with a body that is not JSON`, statusCode, "BAD_RESPONSE");
    }
    if (statusCode >= 400) {
      const { error, code } = parsed as { error?: string; code?: string };
      throw new FaaSError(error ?? `HTTP ${statusCode}`, statusCode, code ?? "HTTP_ERROR");
    }
    return parsed as T;
  }
}
