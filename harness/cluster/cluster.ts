/**
 * A whole faaslab cluster as real processes: its own redis-server (unless given a Redis
 * URL), the API and the dispatcher, each on its own ports, each awaited until ready, each
 * with a log file in the cluster's directory. Any component can be killed with any signal,
 * paused, resumed and restarted; `stop()` ends everything it started.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliPath } from "../paths.js";
import { ManagedProcess, readyEvent } from "./process.js";
import { RedisServer, type RedisPersistence } from "./redis.js";

export type DispatcherMode = "local";
export type Component = "redis" | "api" | "dispatcher";

export interface DispatcherSettings {
  taskDeadlineMs?: number;
  executorMemoryMb?: number;
  maxAttempts?: number;
  heartbeatMs?: number;
  heartbeatTolerance?: number;
}

export interface ClusterOptions {
  mode?: DispatcherMode;
  /** Executors of the local dispatcher's pool. */
  executors?: number;
  dispatcher?: DispatcherSettings;
  /** Start the dispatcher with the cluster (default true); tests of QUEUED tasks start it later. */
  startDispatcher?: boolean;
  /** Use this Redis instead of starting one. */
  redisUrl?: string;
  redisPersistence?: RedisPersistence;
  apiPort?: number;
  bodyLimit?: number;
  /** Where logs and Redis data go (default: a new temporary directory, removed by stop()). */
  dir?: string;
  logLevel?: string;
}

export class Cluster {
  readonly dir: string;
  private readonly ownsDir: boolean;
  private redis: RedisServer | undefined;
  private api: ManagedProcess | undefined;
  private dispatcher: ManagedProcess | undefined;
  apiUrl = "";
  redisUrl = "";

  private constructor(readonly options: ClusterOptions) {
    this.ownsDir = options.dir === undefined;
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), "faaslab-"));
  }

  /** Starts every component and resolves once each is ready; on failure, stops what it started. */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = new Cluster(options);
    try {
      if (options.redisUrl) {
        cluster.redisUrl = options.redisUrl;
      } else {
        cluster.redis = new RedisServer({ dir: join(cluster.dir, "redis"), persistence: options.redisPersistence });
        await cluster.redis.start();
        cluster.redisUrl = cluster.redis.url;
      }
      await cluster.startApi();
      if (options.startDispatcher !== false) await cluster.startDispatcher();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  get mode(): DispatcherMode {
    return this.options.mode ?? "local";
  }

  /** The process of a component, to signal it or read its pid. */
  process(component: Component): ManagedProcess | undefined {
    if (component === "redis") return this.redis?.managed;
    return component === "api" ? this.api : this.dispatcher;
  }

  logFile(component: Component): string {
    return join(this.dir, component === "redis" ? "redis/redis.log" : `${component}.log`);
  }

  async startApi(): Promise<void> {
    const port = this.options.apiPort ?? (this.apiUrl ? Number(new URL(this.apiUrl).port) : 0);
    const args = ["api", "--host", "127.0.0.1", "--port", String(port), "--redis", this.redisUrl];
    if (this.options.bodyLimit) args.push("--body-limit", String(this.options.bodyLimit));
    this.api = this.component("api", args);
    const ready = await this.api.start();
    this.apiUrl = String(ready.url);
  }

  async startDispatcher(): Promise<void> {
    if (this.dispatcher?.running) throw new Error("the dispatcher is already running");
    const settings = this.options.dispatcher ?? {};
    const args = ["dispatcher", "-m", this.mode, "-w", String(this.options.executors ?? 2), "--redis", this.redisUrl];
    const flags: [string, number | undefined][] = [
      ["--task-deadline", settings.taskDeadlineMs],
      ["--executor-memory-mb", settings.executorMemoryMb],
      ["--max-attempts", settings.maxAttempts],
      ["--heartbeat", settings.heartbeatMs],
      ["--heartbeat-tolerance", settings.heartbeatTolerance],
    ];
    for (const [flag, value] of flags) if (value !== undefined) args.push(flag, String(value));
    this.dispatcher = this.component("dispatcher", args);
    await this.dispatcher.start();
  }

  /** Kills a component with a signal (default SIGKILL) and waits until it has exited. */
  async kill(component: Component, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.process(component)?.kill(signal);
  }

  /** SIGSTOP: the process keeps its sockets open but does nothing. */
  pause(component: Component): void {
    this.process(component)?.signal("SIGSTOP");
  }

  resume(component: Component): void {
    this.process(component)?.signal("SIGCONT");
  }

  /** Stops a component if it still runs, then starts it again (Redis on the same port and data). */
  async restart(component: Component): Promise<void> {
    const process = this.process(component);
    await process?.stop();
    if (component === "redis") {
      if (!this.redis) throw new Error("this cluster uses an external Redis, which it cannot restart");
      await this.redis.start();
    } else if (component === "api") {
      await this.startApi();
    } else {
      await this.startDispatcher();
    }
  }

  /** Stops everything: dispatcher and API first (so they do not log Redis errors), Redis last. */
  async stop(): Promise<void> {
    await Promise.allSettled([this.dispatcher?.stop(), this.api?.stop()]);
    await this.redis?.managed?.stop();
    if (this.ownsDir && !process.env.FAAS_KEEP_LOGS) rmSync(this.dir, { recursive: true, force: true });
  }

  private component(name: "api" | "dispatcher", args: string[]): ManagedProcess {
    return new ManagedProcess({
      name,
      command: process.execPath,
      args: [cliPath, ...args],
      logFile: join(this.dir, `${name}.log`),
      env: this.options.logLevel ? { FAAS_LOG_LEVEL: this.options.logLevel } : undefined,
      readyWhen: readyEvent,
    });
  }
}
