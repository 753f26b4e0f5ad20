/** The `faas` command as a user runs it. */
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { Redis } from "ioredis";
import { cliPath } from "../../harness/paths.js";
import { waitFor } from "../../harness/wait.js";
import { FaaSClient } from "../../system/client/index.js";
import { useRedis } from "../support/redis.js";

const redis = useRedis();

/** Runs `faas api` until its ready line, then Ctrl-C; gives every JSON line it wrote. */
async function apiLogLines(args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>[]> {
  const api = execa(process.execPath, [cliPath, "api", "-p", "0", "--redis", redis.url, ...args], { reject: false, env, timeout: 20_000 });
  let output = "";
  api.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  try {
    await waitFor(() => output.includes('"event":"ready"'), { what: "the API's ready line", timeoutMs: 15_000 });
    api.kill("SIGINT");
    const result = await api;
    expect(result.exitCode).toBe(0);
    return output.split("\n").filter(Boolean).map((line) => JSON.parse(line));
  } finally {
    api.kill("SIGKILL");
  }
}

const faas = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [cliPath, ...args], { reject: false, env, timeout: 20_000 });

describe("faas", () => {
  it.each([[[]], [["api"]], [["dispatcher"]], [["up"]], [["pull-worker"]], [["push-worker"]], [["keygen"]]])("%j --help explains itself and exits 0", async (command) => {
    const result = await faas([...command, "--help"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^Usage: faas/);
  });

  it.each([
    [["dispatcher", "-w", "0"], /--workers must be a positive integer/],
    [["dispatcher", "-m", "nowhere"], /Allowed choices are local, pull, push/],
    [["api", "--port", "http"], /--port must be/],
    [["up", "--workers", "2x2"], /local mode runs one pool/],
    [["up", "--workers", "two"], /--workers must look like 2x4/],
    [["pull-worker", "0", "tcp://127.0.0.1:5555"], /<executors> must be a positive integer/],
    [["push-worker", "2", "http://127.0.0.1:5555"], /must look like tcp:\/\/127.0.0.1:5555/],
    [["nonsense"], /unknown command 'nonsense'/],
    [["api", "--log-level", "loud"], /Allowed choices are trace, debug, info, warn, error, fatal/],
    [["dispatcher", "--log-level", "verbose"], /Allowed choices are trace, debug/],
    [["push-worker", "2", "tcp://127.0.0.1:5555", "--log-level", "INFO"], /Allowed choices are trace, debug/],
    [["up", "--log-level", "everything"], /Allowed choices are trace, debug/],
  ])("%j is refused with a message and exit code 1", async (args, message) => {
    const result = await faas(args);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(message);
  });

  it("--log-level warn writes no info line but the ready line, and wins over FAAS_LOG_LEVEL", async () => {
    // Without the flag, Ctrl-C is logged at info ("stopping").
    const chatty = await apiLogLines([], { FAAS_LOG_LEVEL: "info" });
    expect(chatty.some((line) => line.msg === "stopping" && line.level === 30)).toBe(true);

    const quiet = await apiLogLines(["--log-level", "warn"], { FAAS_LOG_LEVEL: "debug" });
    expect(quiet.filter((line) => line.event === "ready")).toHaveLength(1);
    expect(quiet.filter((line) => (line.level as number) < 40 && line.event !== "ready")).toEqual([]);
  });

  it("faas up without redis-server says how to install it", async () => {
    const result = await faas(["up", "-p", "0"], { FAAS_REDIS_SERVER: "/nonexistent/redis-server" });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("apt-get install -y redis-server");
  });

  it("faas up starts a working cluster, prints its URLs, and stops all of it on Ctrl-C", async () => {
    const up = execa(process.execPath, [cliPath, "up", "-p", "0", "-w", "2"], { reject: false, buffer: true, timeout: 30_000 });
    let output = "";
    up.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor(() => output.includes("Press Ctrl-C"), { what: "faas up to print its URLs", timeoutMs: 20_000 });
      const apiUrl = /API:\s+(\S+)/.exec(output)![1];
      const redisUrl = /Redis:\s+(\S+)/.exec(output)![1];
      expect(await new FaaSClient({ baseUrl: apiUrl }).run((a: string) => `${a}!`, "up")).toBe("up!");
      // It prints where both serve their metrics.
      const metrics = /metrics:\s+(\S+) \(API\), (\S+) \(dispatcher\)/.exec(output)!;
      expect(metrics[1]).toBe(`${apiUrl}/metrics`);
      for (const url of metrics.slice(1)) expect(await (await fetch(url)).text()).toContain("faas_redis_errors_total");

      up.kill("SIGINT");
      const result = await up;
      expect(result.exitCode).toBe(0);
      // Everything it started is gone: the API and its Redis refuse connections.
      await expect(fetch(`${apiUrl}/healthz`)).rejects.toThrow();
      const probe = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on("error", () => {});
      await expect(probe.connect()).rejects.toThrow();
      probe.disconnect();
    } finally {
      up.kill("SIGKILL");
    }
  });
});
