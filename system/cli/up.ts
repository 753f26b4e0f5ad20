/** `faas up`: a whole cluster for manual use, started by the harness launcher, stopped on Ctrl-C. */
import { Command, InvalidArgumentError, Option } from "commander";
import { Cluster } from "../../harness/cluster/cluster.js";
import { createLogger } from "../log.js";
import { runUntilStopped } from "./lifecycle.js";

/** "4" or "1x4" (one dispatcher pool of 4 executors in local mode). */
export function parseWorkers(value: string): number {
  const match = /^(?:(\d+)x)?(\d+)$/.exec(value.trim());
  const count = match ? Number(match[1] ?? 1) : NaN;
  const executors = match ? Number(match[2]) : NaN;
  if (!match || count !== 1 || executors < 1) {
    throw new InvalidArgumentError(`--workers must be <executors> or 1x<executors> in local mode, got "${value}"`);
  }
  return executors;
}

export function registerUp(program: Command): void {
  program
    .command("up")
    .description("start a whole cluster (its own redis-server unless --redis is given, the API and a dispatcher); Ctrl-C stops it")
    .addOption(new Option("-m, --mode <mode>", "dispatcher mode").choices(["local"]).default("local"))
    .option("-w, --workers <shape>", "executors of the local dispatcher, as N or 1xN", parseWorkers, 4)
    .option("--redis <url>", "use this Redis instead of starting one")
    .option("-p, --port <port>", "API port", (value) => {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`--port must be a port number, got "${value}"`);
      return port;
    }, 8000)
    .option("--dir <dir>", "where logs and Redis data go (default: a temporary directory, removed on exit)")
    .action(async (options) => {
      const log = createLogger("up");
      const cluster = await Cluster.start({
        mode: options.mode,
        executors: options.workers,
        redisUrl: options.redis,
        apiPort: options.port,
        dir: options.dir,
      });
      process.stdout.write(
        [
          "faaslab is up",
          `  API:        ${cluster.apiUrl}`,
          `  Redis:      ${cluster.redisUrl}`,
          `  dispatcher: ${cluster.mode} mode, ${options.workers} executors`,
          `  logs:       ${cluster.dir}`,
          "Press Ctrl-C to stop.",
          "",
        ].join("\n"),
      );
      runUntilStopped(log, () => cluster.stop());
    });
}
