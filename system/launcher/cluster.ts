/**
 * A whole faaslab cluster as real processes on this machine, what `faas up` runs and the
 * harness builds on: its own redis-server (unless given a Redis URL), the API, the dispatcher
 * and, in pull and push mode, its workers, each on its own ports, each awaited until ready,
 * each with a log file in the cluster's directory. `stop()` ends everything it started.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DispatcherMode } from "../modes.js";
import { cliPath } from "../paths.js";
import { addToAllowlist, ensureKeyPairFile } from "../protocol/curve.js";
import { logEvent, ManagedProcess, readyEvent, type ProcessFactory } from "./process.js";
import { RedisServer, type RedisPersistence } from "./redis.js";

export type WorkerComponent = `worker-${number}`;
export type Component = "redis" | "api" | "dispatcher" | WorkerComponent;

/** A worker pool's shape: `count` worker processes of `executors` executors each. */
export interface WorkerShape {
  count: number;
  executors: number;
}

export interface DispatcherSettings {
  taskDeadlineMs?: number;
  executorMemoryMb?: number;
  maxAttempts?: number;
  heartbeatMs?: number;
  heartbeatTolerance?: number;
  /** Pull and push mode: the largest message the dispatcher accepts from a worker. */
  maxMessageBytes?: number;
  /** Serve Prometheus metrics on this port (0: a free one); see `dispatcherMetricsUrl`. */
  metricsPort?: number;
}

/** How the executors of a cluster run Python functions: `false` for JavaScript only. */
export type LaunchPython = false | { pythonPath?: string[]; interpreter?: string };

/** The flags that say so to a local dispatcher or a worker. */
export function pythonArgs(python: LaunchPython | undefined): string[] {
  if (python === undefined) return [];
  if (python === false) return ["--no-python"];
  return [...(python.pythonPath ?? []).flatMap((dir) => ["--python-path", dir]), ...(python.interpreter !== undefined ? ["--python", python.interpreter] : [])];
}

/** A CURVE cluster's keys, in `<dir>/curve/`: each worker gets its own key pair, added to the allowlist. */
export interface CurveFiles {
  dir: string;
  dispatcherPublicKey: string;
  dispatcherKeyFile: string;
  /** The worker public keys the dispatcher allows; it reads the file again when it changes, so a test may add keys. */
  allowlistFile: string;
}

export interface LaunchOptions {
  mode?: DispatcherMode;
  /** Local mode: executors of the dispatcher's pool (default 2). */
  executors?: number;
  /** Pull and push mode: the workers started with the cluster (default 2 × 2). */
  workers?: WorkerShape;
  /** Pull and push mode: the token the dispatcher requires and the workers present. */
  workerToken?: string;
  /** Pull and push mode: encrypt and authenticate the worker links with CURVE. */
  curve?: boolean;
  /** Pull and push mode: the dispatcher's port (default: a free one). Lets workers start before it. */
  dispatcherPort?: number;
  dispatcher?: DispatcherSettings;
  /** Start the dispatcher with the cluster (default true); tests of QUEUED tasks start it later. */
  startDispatcher?: boolean;
  /** Use this Redis instead of starting one. */
  redisUrl?: string;
  redisPersistence?: RedisPersistence;
  apiPort?: number;
  bodyLimit?: number;
  /** More flags for `faas api`, e.g. ["--max-args-bytes", "1000"]. */
  apiArgs?: string[];
  /** Where executor threads run (local dispatcher and workers): "process" (the executor host, default) or "thread". */
  executorIsolation?: "process" | "thread";
  /** The Python runtime of the local dispatcher and the workers (default: on wherever it can run, with no --python-path). */
  python?: LaunchPython;
  /** The API requires this token (`Authorization: Bearer <token>`). */
  apiToken?: string;
  /** Where logs and Redis data go (default: a new temporary directory, removed by stop()). */
  dir?: string;
  logLevel?: string;
  /** false: every component runs with FAAS_METRICS=off, counting nothing (to measure what metrics cost). */
  metrics?: boolean;
}

/** What a component connects to: the harness may put a fault proxy on that link. */
export type LinkTarget = "redis" | "dispatcher";

/** Extra node flags for every component, e.g. FAAS_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them. */
export const NODE_ARGS = (process.env.FAAS_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);

export class LaunchedCluster<P extends ManagedProcess = ManagedProcess> {
  readonly dir: string;
  private readonly ownsDir: boolean;
  private redis: RedisServer<P> | undefined;
  private api: P | undefined;
  private dispatcher: P | undefined;
  private readonly workerProcesses: P[] = [];
  private nextWorkerIndex = 0;
  apiUrl = "";
  redisUrl = "";
  /** Pull and push mode: where workers connect, e.g. tcp://127.0.0.1:41234. */
  dispatcherEndpoint = "";
  /** With `dispatcher.metricsPort`: where the dispatcher serves its metrics, e.g. http://127.0.0.1:41235/metrics. */
  dispatcherMetricsUrl = "";
  /** With `curve`: where the keys are. */
  readonly curve: CurveFiles | undefined;

  protected constructor(readonly options: LaunchOptions, private readonly createProcess: ProcessFactory<P>) {
    if (options.dispatcherPort) this.dispatcherEndpoint = `tcp://127.0.0.1:${options.dispatcherPort}`;
    this.ownsDir = options.dir === undefined;
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), "faaslab-"));
    if (options.curve && this.mode !== "local") {
      const dir = join(this.dir, "curve");
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const dispatcherKeyFile = join(dir, "dispatcher.key");
      this.curve = { dir, dispatcherKeyFile, dispatcherPublicKey: ensureKeyPairFile(dispatcherKeyFile).publicKey, allowlistFile: join(dir, "allowed-workers") };
      // Empty until workers start: each one's key is added as it is started.
      if (!existsSync(this.curve.allowlistFile)) writeFileSync(this.curve.allowlistFile, "# worker public keys the dispatcher allows\n");
    }
  }

  /** Starts every component and resolves once each is ready; on failure, stops what it started. */
  static async start(options: LaunchOptions = {}): Promise<LaunchedCluster> {
    const cluster = new LaunchedCluster(options, (spec) => new ManagedProcess(spec));
    await cluster.launch();
    return cluster;
  }

  /** Redis (unless external), the API, then the dispatcher and its workers; on failure, stops what it started. */
  protected async launch(): Promise<void> {
    try {
      if (this.options.redisUrl) {
        this.redisUrl = this.options.redisUrl;
      } else {
        this.redis = new RedisServer({ dir: join(this.dir, "redis"), persistence: this.options.redisPersistence }, this.createProcess);
        await this.redis.start();
        this.redisUrl = this.redis.url;
      }
      await this.startApi();
      if (this.options.startDispatcher !== false) {
        await this.startDispatcher();
        if (this.mode !== "local") {
          const shape = this.options.workers ?? { count: 2, executors: 2 };
          await Promise.all(Array.from({ length: shape.count }, () => this.startWorker({ executors: shape.executors })));
        }
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  get mode(): DispatcherMode {
    return this.options.mode ?? "local";
  }

  /** The process of a component, to signal it or read its pid. */
  process(component: Component): P | undefined {
    if (component === "redis") return this.redis?.managed;
    if (component === "api") return this.api;
    if (component === "dispatcher") return this.dispatcher;
    return this.workerProcesses[Number(component.slice("worker-".length))];
  }

  /** Every worker started so far (also the ones killed since), as component names. */
  get workers(): WorkerComponent[] {
    const names: WorkerComponent[] = [];
    this.workerProcesses.forEach((_, index) => names.push(`worker-${index}`));
    return names;
  }

  /** The workers whose process runs. */
  get runningWorkers(): WorkerComponent[] {
    return this.workers.filter((worker) => this.process(worker)?.running);
  }

  logFile(component: Component): string {
    return join(this.dir, component === "redis" ? "redis/redis.log" : `${component}.log`);
  }

  /** Starts the cluster's own Redis, again on the port and data it had. */
  async startRedis(): Promise<void> {
    if (!this.redis) throw new Error("this cluster uses an external Redis, which it cannot restart");
    await this.redis.start();
  }

  async startApi(): Promise<void> {
    const port = this.options.apiPort ?? (this.apiUrl ? Number(new URL(this.apiUrl).port) : 0);
    const args = ["api", "--host", "127.0.0.1", "--port", String(port), "--redis", await this.linkAddress("api", "redis", this.redisUrl)];
    if (this.options.bodyLimit) args.push("--body-limit", String(this.options.bodyLimit));
    args.push(...(this.options.apiArgs ?? []));
    // The token goes by environment, not on the command line where `ps` would show it.
    this.api = this.component("api", args, this.options.apiToken ? { FAAS_API_TOKEN: this.options.apiToken } : {});
    const ready = await this.api.start();
    this.apiUrl = String(ready.url);
  }

  async startDispatcher(): Promise<void> {
    if (this.dispatcher?.running) throw new Error("the dispatcher is already running");
    const settings = this.options.dispatcher ?? {};
    const args = ["dispatcher", "-m", this.mode, "--redis", await this.linkAddress("dispatcher", "redis", this.redisUrl)];
    if (this.mode === "local") {
      args.push("--executors", String(this.options.executors ?? 2));
      if (this.options.executorIsolation) args.push("--executor-isolation", this.options.executorIsolation);
      args.push(...pythonArgs(this.options.python));
    } else {
      // A restarted dispatcher binds the port it had, where its workers reconnect.
      const port = this.dispatcherEndpoint ? new URL(this.dispatcherEndpoint.replace("tcp:", "http:")).port : "0";
      args.push("-p", port, "--host", "127.0.0.1");
      if (this.curve) args.push("--curve-secret-key-file", this.curve.dispatcherKeyFile, "--curve-allow", this.curve.allowlistFile);
    }
    const flags: [string, number | undefined][] = [
      ["--task-deadline", settings.taskDeadlineMs],
      ["--executor-memory-mb", settings.executorMemoryMb],
      ["--max-attempts", settings.maxAttempts],
      ["--heartbeat", settings.heartbeatMs],
      ["--heartbeat-tolerance", settings.heartbeatTolerance],
      ["--max-message-bytes", settings.maxMessageBytes],
      ["--metrics-port", settings.metricsPort],
    ];
    for (const [flag, value] of flags) {
      if (value === undefined || (flag === "--executor-memory-mb" && this.mode !== "local")) continue;
      args.push(flag, String(value));
    }
    this.dispatcher = this.component("dispatcher", args, this.options.workerToken ? { FAAS_WORKER_TOKEN: this.options.workerToken } : {});
    const ready = await this.dispatcher.start();
    if (ready.endpoint) this.dispatcherEndpoint = String(ready.endpoint).replace("0.0.0.0", "127.0.0.1");
    if (ready.metricsUrl) this.dispatcherMetricsUrl = String(ready.metricsUrl);
  }

  /**
   * Starts one more worker (pull and push mode) and resolves once the dispatcher has
   * registered it, or, with `waitForDispatcher: false`, once the process runs (to start a
   * worker before its dispatcher). `index` starts a given worker again.
   */
  async startWorker(options: { executors?: number; token?: string; waitForDispatcher?: boolean; index?: number; python?: LaunchPython } = {}): Promise<WorkerComponent> {
    if (this.mode === "local") throw new Error("a local-mode cluster has no workers");
    if (!this.dispatcherEndpoint) throw new Error("start the dispatcher first, or give the cluster a dispatcherPort: workers need its endpoint");
    // The index is taken before any await, so workers started together get different ones.
    const index = options.index ?? this.nextWorkerIndex++;
    const name = `worker-${index}` as WorkerComponent;
    const executors = options.executors ?? this.options.workers?.executors ?? 2;
    const endpoint = await this.linkAddress(name, "dispatcher", this.dispatcherEndpoint);
    const args = [`${this.mode}-worker`, String(executors), endpoint];
    const token = options.token ?? this.options.workerToken;
    const memory = this.options.dispatcher?.executorMemoryMb;
    if (memory !== undefined) args.push("--executor-memory-mb", String(memory));
    if (this.options.executorIsolation) args.push("--executor-isolation", this.options.executorIsolation);
    args.push(...pythonArgs(options.python ?? this.options.python));
    if (this.curve) {
      // Key files, not keys, on the command line: `ps` shows it.
      const keyFile = join(this.curve.dir, `${name}.key`);
      addToAllowlist(this.curve.allowlistFile, ensureKeyPairFile(keyFile).publicKey, name);
      args.push("--curve-server-key", this.curve.dispatcherPublicKey, "--curve-secret-key-file", keyFile);
    }
    const waitForDispatcher = options.waitForDispatcher ?? true;
    // The token goes by environment, not on the command line where `ps` would show it.
    const worker = this.component(name, args, token !== undefined ? { FAAS_WORKER_TOKEN: token } : {}, (line) => {
      const event = logEvent(line);
      return event?.event === (waitForDispatcher ? "registered" : "ready") ? event : undefined;
    });
    this.workerProcesses[index] = worker;
    await worker.start();
    return name;
  }

  /** Stops everything: workers first (they hand in their results), Redis last. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.workerProcesses.filter(Boolean).map((worker) => worker.stop()));
    await Promise.allSettled([this.dispatcher?.stop(), this.api?.stop()]);
    await this.redis?.managed?.stop();
    if (this.ownsDir && !process.env.FAAS_KEEP_LOGS) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * The address through which `from` reaches `to` (a Redis URL, or the dispatcher's ZeroMQ
   * endpoint): the address itself here; the harness puts a fault proxy in between.
   */
  protected async linkAddress(_from: Component, _to: LinkTarget, address: string): Promise<string> {
    return address;
  }

  /** A faaslab process of this cluster: the compiled CLI, its log file, and when it counts as ready. */
  private component(name: string, args: string[], env: Record<string, string> = {}, readyWhen = readyEvent): P {
    return this.createProcess({
      name,
      command: process.execPath,
      args: [...NODE_ARGS, cliPath, ...args],
      logFile: join(this.dir, `${name}.log`),
      env: {
        ...(this.options.logLevel ? { FAAS_LOG_LEVEL: this.options.logLevel } : {}),
        ...(this.options.metrics === false ? { FAAS_METRICS: "off" } : {}),
        ...env,
      },
      readyWhen,
    });
  }
}
