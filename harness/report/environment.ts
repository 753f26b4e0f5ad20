/** What a report says about where it ran: machine, versions, commit. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { REDIS_SERVER } from "../../system/launcher/redis.js";
import { packageRoot } from "../../system/paths.js";

export interface Environment {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  redis: string;
  commit: string;
  libraries: Record<string, string>;
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: packageRoot, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

function installedVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

export function describeEnvironment(libraries: string[] = ["fastify", "ioredis", "zeromq", "piscina", "devalue", "chart.js"]): Environment {
  const commit = run("git", ["rev-parse", "--short", "HEAD"]);
  const dirty = run("git", ["status", "--porcelain", "--untracked-files=no"]) !== "" ? " (with uncommitted changes)" : "";
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    redis: /v=(\S+)/.exec(run(REDIS_SERVER, ["--version"]))?.[1] ?? "unknown",
    commit: `${commit}${dirty}`,
    libraries: Object.fromEntries(libraries.map((name) => [name, installedVersion(name)])),
  };
}

export function environmentLine(env: Environment): string {
  const libraries = Object.entries(env.libraries).map(([name, version]) => `${name} ${version}`).join(", ");
  return `${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB; Node ${env.node}; Redis ${env.redis}; faaslab ${env.commit}; ${libraries}`;
}
