/**
 * How the workload talks to the API under test. faaslab's own API is driven through its SDK
 * (long-polled results, the task record for the final read). Any other implementation is
 * driven as unmodified MPCSFaaS clients drive it, in its dialect (targets/<name>.yaml):
 * functions pickled with dill by a real CPython, arguments pickled as ((args), {kwargs}),
 * /result polled until the task is finished, its status names mapped to faaslab's, and its
 * own success codes. Either way the history records faaslab's status names, so every checker
 * reads every target alike.
 */
import { execa } from "execa";
import { Pool } from "undici";
import { FaaSClient, FaaSError, isTerminal } from "../../system/client/index.js";
import { pickledArguments, type PythonValue } from "../../system/codec/pickle.js";
import { defaultPython } from "../../system/executor/python-jail.js";
import { TASK_STATUSES } from "../../system/task.js";
import type { Dialect } from "../target/schema.js";
import type { TaskTemplate } from "./kinds.js";

export interface TaskOutcome {
  /** faaslab's name for it (QUEUED, RUNNING, COMPLETED, FAILED), or the implementation's own if it has no faaslab name. */
  status: string;
  result: string | null | undefined;
}

export interface TaskApi {
  /** For an API without a long poll: how often a running task's result is asked for (the driver polls, recording each answer). */
  readonly pollMs?: number;
  /** Registers a template's function and returns its id. */
  register(template: TaskTemplate): Promise<string>;
  /** Submits one task and returns its id; an HTTP refusal throws a FaaSError with its status. */
  execute(template: TaskTemplate, functionId: string, args: unknown[]): Promise<string>;
  status(taskId: string): Promise<string>;
  /** The task's status and result, waiting up to `waitSeconds` for it to finish. */
  result(taskId: string, waitSeconds: number): Promise<TaskOutcome>;
  /** The final read: status, result and (where the API says) attempts; undefined when the API does not know the task. */
  final(taskId: string): Promise<(TaskOutcome & { attempts?: number }) | undefined>;
  close(): Promise<void>;
}

/** faaslab's API, through its SDK. */
export class FaaslabApi implements TaskApi {
  readonly client: FaaSClient;

  constructor(apiUrl: string, timeoutMs: number) {
    this.client = new FaaSClient({ baseUrl: apiUrl, timeoutMs });
  }

  register(template: TaskTemplate): Promise<string> {
    return template.runtime === "python" ? this.client.registerPython(template.source, template.name) : this.client.registerSource(template.source, template.name);
  }

  execute(template: TaskTemplate, functionId: string, args: unknown[]): Promise<string> {
    return template.runtime === "python" ? this.client.executePython(functionId, args as PythonValue[]) : this.client.execute(functionId, ...args);
  }

  status(taskId: string): Promise<string> {
    return this.client.status(taskId);
  }

  async result(taskId: string, waitSeconds: number): Promise<TaskOutcome> {
    const outcome = await this.client.result(taskId, { wait: waitSeconds });
    return { status: outcome.status, result: outcome.result };
  }

  async final(taskId: string): Promise<(TaskOutcome & { attempts?: number }) | undefined> {
    try {
      const task = await this.client.task(taskId);
      return { status: task.status, result: task.result, attempts: task.attempts };
    } catch (error) {
      if (error instanceof FaaSError && error.status === 404) return undefined;
      throw error;
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** How often a task's result is asked for while it runs: MPCSFaaS has no long poll (the seeds' clients poll every 10–100 ms). */
const POLL_MS = 25;

/** An MPCSFaaS implementation's API: the course's endpoints and wire format, in the target's dialect. */
export class DialectApi implements TaskApi {
  readonly pollMs = POLL_MS;
  private readonly pool: Pool;
  private readonly origin: string;
  private readonly statusOf: Map<string, string>;
  private readonly pickled = new Map<string, Promise<string>>();

  constructor(apiUrl: string, private readonly dialect: Dialect, private readonly timeoutMs: number, private readonly python = defaultPython()) {
    this.origin = new URL(apiUrl).origin;
    this.pool = new Pool(this.origin, { connections: null, pipelining: 1 });
    this.statusOf = new Map(TASK_STATUSES.flatMap((status) => dialect.statuses[status].map((name) => [name, status] as const)));
  }

  async register(template: TaskTemplate): Promise<string> {
    if (template.runtime !== "python") throw new Error(`${template.name} is a JavaScript function: a target with the dill-base64 codec runs Python functions only`);
    const payload = await this.dillPickled(template.source);
    const body = await this.post("/register_function", { name: template.name, payload }, this.dialect.successCodes.register);
    return requiredText(body, "function_id", "/register_function");
  }

  async execute(_template: TaskTemplate, functionId: string, args: unknown[]): Promise<string> {
    const body = await this.post("/execute_function", { function_id: functionId, payload: pickledArguments(args as PythonValue[]) }, this.dialect.successCodes.execute);
    return requiredText(body, "task_id", "/execute_function");
  }

  async status(taskId: string): Promise<string> {
    const body = await this.get(`/status/${encodeURIComponent(taskId)}`);
    return this.faaslabStatus(body.status);
  }

  async result(taskId: string, waitSeconds: number): Promise<TaskOutcome> {
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const outcome = await this.readResult(taskId);
      if (isTerminal(outcome.status) || Date.now() >= deadline) return outcome;
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
    }
  }

  async final(taskId: string): Promise<TaskOutcome | undefined> {
    try {
      return await this.readResult(taskId);
    } catch (error) {
      if (error instanceof FaaSError && error.status === 404) return undefined;
      throw error;
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** GET /result; where the dialect answers 404 until a task finishes, its status comes from /status. */
  private async readResult(taskId: string): Promise<TaskOutcome> {
    try {
      const body = await this.get(`/result/${encodeURIComponent(taskId)}`);
      const status = this.faaslabStatus(body.status);
      return { status, result: typeof body.result === "string" ? body.result : null };
    } catch (error) {
      if (!(error instanceof FaaSError && error.status === 404 && this.dialect.resultBeforeFinish === "404")) throw error;
      const status = await this.status(taskId);
      if (!isTerminal(status)) return { status, result: null };
      // It finished between the two reads: its result is there now, or the implementation contradicts itself.
      const body = await this.get(`/result/${encodeURIComponent(taskId)}`).catch((again: unknown) => {
        if (again instanceof FaaSError && again.status === 404) throw new FaaSError(`/status/${taskId} says ${status}, and /result/${taskId} still answers 404`, 502, "INCONSISTENT");
        throw again;
      });
      return { status: this.faaslabStatus(body.status), result: typeof body.result === "string" ? body.result : null };
    }
  }

  private faaslabStatus(status: unknown): string {
    if (typeof status !== "string") throw new FaaSError(`the API answered a status that is not text: ${JSON.stringify(status)}`, 502, "BAD_STATUS");
    return this.statusOf.get(status) ?? status;
  }

  /** base64 of a dill pickle of the function the source defines, made by the OS's CPython, once per source. */
  private dillPickled(source: string): Promise<string> {
    let pickled = this.pickled.get(source);
    if (!pickled) {
      pickled = execa(this.python, ["-c", DILL_FUNCTION], { input: source, timeout: 30_000 }).then((result) => String(result.stdout));
      this.pickled.set(source, pickled);
    }
    return pickled;
  }

  private post(path: string, body: unknown, success: readonly number[]): Promise<Record<string, unknown>> {
    return this.request("POST", path, body, success);
  }

  private get(path: string): Promise<Record<string, unknown>> {
    return this.request("GET", path, undefined, [200]);
  }

  private async request(method: "GET" | "POST", path: string, body: unknown, success: readonly number[]): Promise<Record<string, unknown>> {
    let statusCode: number;
    let text: string;
    try {
      const response = await this.pool.request({
        method, path,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs,
      });
      statusCode = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      throw new FaaSError(`${method} ${path}: the API could not be reached: ${(error as Error).message}`, 0, "UNREACHABLE");
    }
    if (!success.includes(statusCode)) throw new FaaSError(`${method} ${path} answered ${statusCode}: ${text.slice(0, 200)}`, statusCode, "HTTP_STATUS");
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed === "object" && parsed !== null) return parsed as Record<string, unknown>;
    } catch {
      /* reported below */
    }
    throw new FaaSError(`${method} ${path} answered ${statusCode} with a body that is not a JSON object: ${text.slice(0, 200)}`, 502, "BAD_BODY");
  }
}

function requiredText(body: Record<string, unknown>, field: string, path: string): string {
  const value = body[field];
  if (typeof value !== "string" || value === "") throw new FaaSError(`${path} answered without a ${field}: ${JSON.stringify(body).slice(0, 200)}`, 502, "BAD_BODY");
  return value;
}

/**
 * Run by CPython with the source on stdin: defines the function in __main__ (so dill pickles it
 * by value, as an MPCSFaaS client's own functions travel) and prints base64 of its pickle, the
 * way the course's `serialize` writes it. `recurse` takes the globals it uses (itself, for a
 * recursive function; `time`, by reference) rather than the whole module.
 */
const DILL_FUNCTION = `
import codecs, sys, types
import dill
source = sys.stdin.read()
module = sys.modules["__main__"]
before = set(vars(module))
exec(compile(source, "<function>", "exec"), vars(module))
defined = [value for key, value in vars(module).items() if key not in before and isinstance(value, types.FunctionType)]
if not defined:
    sys.exit("the source defines no function")
sys.stdout.write(codecs.encode(dill.dumps(defined[-1], recurse=True), "base64").decode())
`;
