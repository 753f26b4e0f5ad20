/** A redis-server of faaslab's own (for `faas up`, the harness, tests): a free port, a directory of its own, optional AOF. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import getPort from "get-port";
import { findExecutable, ManagedProcess, ProcessStartError, type ProcessFactory } from "./process.js";

export type RedisPersistence = { kind: "none" } | { kind: "aof"; fsync: "always" | "everysec" };

export interface RedisSpec {
  dir: string;
  persistence?: RedisPersistence;
  /** Keep this port (a restart uses the port it had). */
  port?: number;
}

export const REDIS_SERVER = process.env.FAAS_REDIS_SERVER ?? "redis-server";
export const MISSING_REDIS_MESSAGE =
  `redis-server was not found (looked for "${REDIS_SERVER}"). Install it with: apt-get install -y redis-server ` +
  "(or set FAAS_REDIS_SERVER to its path)";

export class RedisServer<P extends ManagedProcess = ManagedProcess> {
  private process: P | undefined;
  port = 0;

  constructor(private readonly spec: RedisSpec, private readonly createProcess: ProcessFactory<P> = (spec) => new ManagedProcess(spec) as P) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get managed(): P | undefined {
    return this.process;
  }

  /** Starts on the given or a free port, trying another port if the chosen one was taken meanwhile. */
  async start(): Promise<void> {
    const executable = findExecutable(REDIS_SERVER);
    if (!executable) throw new ProcessStartError(MISSING_REDIS_MESSAGE);
    mkdirSync(this.spec.dir, { recursive: true });
    for (let attempt = 1; ; attempt++) {
      this.port = this.spec.port ?? this.port;
      if (!this.port) this.port = await getPort({ host: "127.0.0.1" });
      this.process = this.createProcess({
        name: "redis",
        command: executable,
        args: this.args(),
        logFile: join(this.spec.dir, "redis.log"),
        readyWhen: (line) => (line.includes("Ready to accept connections") ? { url: this.url } : undefined),
        failsWhen: (line) => (/Address already in use|Could not create server TCP listening socket/.test(line) ? line.trim() : undefined),
      });
      try {
        await this.process.start();
        return;
      } catch (error) {
        const portTaken = /Address already in use|TCP listening socket/.test((error as Error).message);
        if (!portTaken || this.spec.port !== undefined || attempt >= 5) throw error;
        this.port = 0;
      }
    }
  }

  private args(): string[] {
    const persistence = this.spec.persistence ?? { kind: "none" };
    const args = [
      "--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.spec.dir,
      "--save", "", "--daemonize", "no", "--logfile", "", "--protected-mode", "no",
    ];
    if (persistence.kind === "aof") args.push("--appendonly", "yes", "--appendfsync", persistence.fsync);
    else args.push("--appendonly", "no");
    return args;
  }
}
