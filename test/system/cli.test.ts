/** The `faas` command as a user runs it. */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa, type ResultPromise } from "execa";
import { Redis } from "ioredis";
import { cliPath, packageRoot } from "../../system/paths.js";
import { waitFor } from "../../harness/wait.js";
import { FaaSClient, FaaSError } from "../../system/client/index.js";
import { useRedis } from "../support/redis.js";

const redis = useRedis();

/** A long-running faas command, its output collected as it comes. */
function spawnFaas(args: string[], env: Record<string, string> = {}, timeout = 30_000) {
  // A graceful stop may take seconds on a loaded machine (a local pool's executors close first): SIGKILL only after 20 s.
  const child = execa(process.execPath, [cliPath, ...args], { reject: false, env, timeout, forceKillAfterDelay: 20_000 });
  const output = { stdout: "", stderr: "" };
  child.stdout!.on("data", (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output.stderr += chunk.toString()));
  return { child, output };
}

/** Runs `faas api` until its ready line, then Ctrl-C; gives every JSON line it wrote, and its stderr. */
async function apiRun(args: string[], env: Record<string, string> = {}): Promise<{ lines: Record<string, unknown>[]; stderr: string }> {
  const { child, output } = spawnFaas(["api", "-p", "0", "--redis", redis.url, ...args], env, 20_000);
  try {
    await waitFor(() => output.stdout.includes('"event":"ready"'), { what: "the API's ready line", timeoutMs: 15_000 });
    child.kill("SIGINT");
    const result = await child;
    expect(result.exitCode).toBe(0);
    return { lines: output.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line)), stderr: output.stderr };
  } finally {
    child.kill("SIGKILL");
  }
}

const apiLogLines = async (args: string[], env: Record<string, string> = {}) => (await apiRun(args, env)).lines;

const faas = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [cliPath, ...args], { reject: false, env, timeout: 20_000 });

/** A port that something else holds, for the "already in use" messages. */
async function holdPort(): Promise<{ port: number; release(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Every line of an error as `faas <command>: <message>` (continuation lines indented, or a hint). */
function expectFaasError(stderr: string, command: string): void {
  const [first] = stderr.split("\n");
  expect(first).toMatch(new RegExp(`^faas${command ? ` ${command}` : ""}: \\S`));
  expect(stderr).not.toMatch(/^error: /m);
  expect(stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
}

describe("faas", () => {
  it.each([[[]], [["api"]], [["dispatcher"]], [["up"]], [["pull-worker"]], [["push-worker"]], [["keygen"]], [["status"]], [["recount"]]])("%j --help explains itself and exits 0", async (command) => {
    const result = await faas([...command, "--help"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^Usage: faas/);
  });

  it("--version prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const result = await faas([flag]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe(version);
    }
  });

  it("help off a terminal wraps at 100 columns, not commander's 80", async () => {
    for (const command of ["dispatcher", "up", "api"]) {
      const lines = (await faas([command, "--help"])).stdout.split("\n");
      expect(Math.max(...lines.map((line) => line.length)), command).toBeLessThanOrEqual(100);
      expect(lines.some((line) => line.length > 80), command).toBe(true);
    }
  });

  it("--help tells the truth about the flags: one meaning each", async () => {
    const help = async (command: string) => (await faas([command, "--help"])).stdout;
    const dispatcher = await help("dispatcher");
    expect(dispatcher).toMatch(/-w, --executors <n>\s+local mode: executors of the pool \(-w is the MPCSFaaS spelling/);
    expect(dispatcher).toContain("--worker-token <token>");
    for (const command of ["pull-worker", "push-worker"]) expect(await help(command)).toContain("--worker-token <token>");
    const up = await help("up");
    for (const flag of ["--executors <n>", "--workers <count>", "--api-token <token>", "--worker-token <token>"]) expect(up).toContain(flag);
    const status = await help("status");
    expect(status).toContain("--api-token <token>");
    expect(status).toMatch(/^ {2}--watch \[seconds\]/m);
    // Old spellings are not offered, and -w means nothing but the dispatcher's pool.
    for (const text of [dispatcher, up, status, await help("pull-worker"), await help("api")]) expect(text).not.toMatch(/--token\b/);
    for (const text of [up, status, await help("push-worker")]) expect(text).not.toMatch(/(^|\s)-w\b/m);
  });

  it.each([
    [["dispatcher", "-w", "0"], "dispatcher", /--executors must be a positive integer, got "0"/],
    [["dispatcher", "--executors", "two"], "dispatcher", /--executors must be a positive integer, got "two"/],
    [["dispatcher", "-m", "nowhere"], "dispatcher", /--mode must be one of local, pull, push, got "nowhere"/],
    [["api", "--port", "http"], "api", /--port must be a port number from 0 to 65535, got http/],
    [["api", "--port", "99999"], "api", /^faas api: --port must be a port number from 0 to 65535, got 99999$/],
    [["dispatcher", "-m", "push", "-p", "65536"], "dispatcher", /--port must be a port number from 0 to 65535, got 65536/],
    [["dispatcher", "--metrics-port", "70000"], "dispatcher", /--metrics-port must be a port number from 0 to 65535, got 70000/],
    [["up", "--port", "99999"], "up", /--port must be a port number from 0 to 65535, got 99999/],
    [["up", "-p", "-1"], "up", /--port must be a port number from 0 to 65535, got -1/],
    [["up", "--workers", "2x2"], "up", /--workers applies to pull and push mode: local mode runs one pool, of --executors/],
    [["up", "--workers", "two"], "up", /--workers must be a number of workers, or <count>x<executors> such as 2x4, got "two"/],
    [["up", "-m", "push", "--workers", "2x4", "--executors", "3"], "up", /--workers 2x4 and --executors 3 disagree/],
    [["up", "--executors", "0"], "up", /--executors must be a positive integer/],
    [["pull-worker", "0", "tcp://127.0.0.1:5555"], "pull-worker", /<executors> must be a positive integer/],
    [["push-worker", "2", "http://127.0.0.1:5555"], "push-worker", /must look like tcp:\/\/127.0.0.1:5555/],
    [["pull-worker"], "pull-worker", /missing required argument 'executors' \(see faas pull-worker --help\)/],
    [["nonsense"], "", /^faas: unknown command 'nonsense' \(see faas --help\)$/],
    [["dispatcher", "--bogus"], "dispatcher", /^faas dispatcher: unknown option '--bogus' \(see faas dispatcher --help\)$/],
    [["api", "--log-level", "loud"], "api", /--log-level must be one of trace, debug, info, warn, error, fatal, got "loud"/],
    [["dispatcher", "--log-level", "verbose"], "dispatcher", /--log-level must be one of trace, debug/],
    [["push-worker", "2", "tcp://127.0.0.1:5555", "--log-level", "INFO"], "push-worker", /--log-level must be one of trace, debug/],
    [["up", "--log-level", "everything"], "up", /--log-level must be one of trace, debug/],
    [["status", "--api", "ftp://example"], "status", /--api must be an http\(s\) URL/],
    // Renamed flags are refused with their new name, never taken for another meaning.
    [["dispatcher", "--workers", "3"], "dispatcher", /--workers is now --executors \(or -w, the MPCSFaaS spelling\)/],
    [["dispatcher", "-m", "push", "--token", "t"], "dispatcher", /--token is now --worker-token$/m],
    [["push-worker", "2", "tcp://127.0.0.1:5555", "--token", "t"], "push-worker", /--token is now --worker-token$/m],
    [["up", "--token", "t"], "up", /--token is now --worker-token \(the workers' token\); the API's is --api-token/],
    [["up", "-w", "2"], "up", /-w is no longer an option: give --executors <n>/],
    [["status", "--token", "t"], "status", /--token is now --api-token/],
    [["status", "-w"], "status", /-w is no longer an option: give --watch/],
  ] as const)("%j is refused as faas <command>: <message>, exit code 1", async (args, command, message) => {
    const result = await faas([...args], { FAAS_REDIS_URL: "redis://127.0.0.1:1" });
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toMatch(message);
    expectFaasError(result.stderr, command);
  });

  it("--log-level warn writes no info line but the ready line, and wins over FAAS_LOG_LEVEL", async () => {
    // Without the flag, Ctrl-C is logged at info ("stopping").
    const chatty = await apiLogLines([], { FAAS_LOG_LEVEL: "info" });
    expect(chatty.some((line) => line.msg === "stopping" && line.level === 30)).toBe(true);

    const quiet = await apiLogLines(["--log-level", "warn"], { FAAS_LOG_LEVEL: "debug" });
    expect(quiet.filter((line) => line.event === "ready")).toHaveLength(1);
    expect(quiet.filter((line) => (line.level as number) < 40 && line.event !== "ready")).toEqual([]);
  });

  it("the API starts without a deprecation warning on stderr", async () => {
    const { stderr } = await apiRun([]);
    expect(stderr).not.toMatch(/FSTDEP|DeprecationWarning|Deprecation/);
    expect(stderr).toBe("");
  });

  it("faas dispatcher -m local -w N, the MPCSFaaS command line, runs a pool of N executors", async () => {
    const { child, output } = spawnFaas(["dispatcher", "-m", "local", "-w", "1", "--redis", redis.url]);
    try {
      const ready = await waitFor(
        () => output.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line)).find((line) => line.event === "ready"),
        { what: "the dispatcher's ready line", timeoutMs: 20_000 },
      );
      expect(ready).toMatchObject({ mode: "local", executors: 1 });
      child.kill("SIGINT");
      const result = await child;
      expect(result.exitCode, `the dispatcher did not exit 0 after SIGINT (signal ${result.signal}); it wrote:\n${output.stdout.slice(-2000)}\n${output.stderr.slice(-1000)}`).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  describe("a port already in use is named", () => {
    let held: Awaited<ReturnType<typeof holdPort>>;
    beforeAll(async () => {
      held = await holdPort();
    });
    afterAll(async () => {
      await held?.release();
    });

    it("by faas api", async () => {
      const result = await faas(["api", "-p", String(held.port), "--redis", redis.url]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr.trim()).toBe(`faas api: port ${held.port} on 127.0.0.1 is already in use`);
    });

    it("by faas dispatcher, for its ZeroMQ port and its metrics port", async () => {
      const zmq = await faas(["dispatcher", "-m", "push", "-p", String(held.port), "--redis", redis.url, "--log-level", "error"]);
      expect(zmq.exitCode).toBe(1);
      expect(zmq.stderr.trim()).toBe(`faas dispatcher: ZeroMQ port ${held.port} on 127.0.0.1 is already in use`);
      const metrics = await faas(["dispatcher", "-m", "pull", "-p", "0", "--metrics-port", String(held.port), "--redis", redis.url, "--log-level", "error"]);
      expect(metrics.exitCode).toBe(1);
      expect(metrics.stderr.trim()).toBe(`faas dispatcher: metrics port ${held.port} on 127.0.0.1 is already in use`);
    });

    it("by faas up, with what the API said rather than a pointer to a log it removed", async () => {
      const result = await faas(["up", "-p", String(held.port)]);
      expect(result.exitCode).toBe(1);
      expectFaasError(result.stderr, "up");
      expect(result.stderr).toContain(`faas api: port ${held.port} on 127.0.0.1 is already in use`);
      expect(result.stderr).toContain("Give faas up another --port");
      // Every path it names still exists (it names none: the temporary directory is gone).
      for (const path of result.stderr.match(/\/\S+/g) ?? []) expect(existsSync(path.replace(/[),.;:]+$/, "")), path).toBe(true);
      expect(result.stderr).not.toMatch(/faaslab-\w+/);
    });
  });

  describe("faas status on a closed pipe (| head -1) exits quietly", () => {
    let api: ReturnType<typeof spawnFaas>;
    let apiUrl = "";
    beforeAll(async () => {
      api = spawnFaas(["api", "-p", "0", "--redis", redis.url, "--api-token", "pipe-token"], {}, 60_000);
      const ready = await waitFor(() => /"event":"ready".*?"url":"([^"]+)"/.exec(api.output.stdout)?.[1], { what: "the API's ready line", timeoutMs: 15_000 });
      apiUrl = ready;
    });
    afterAll(async () => {
      api?.child.kill("SIGINT");
      await api?.child;
    });

    /** Runs faas status with its stdout a pipe whose reader goes away after `linesRead` lines (0: before any). */
    async function statusIntoClosedPipe(args: string[], linesRead: number) {
      const child: ResultPromise = execa(process.execPath, [cliPath, "status", "--api", apiUrl, ...args], {
        reject: false, buffer: { stdout: false, stderr: true }, env: { FAAS_API_TOKEN: "pipe-token" }, timeout: 20_000,
      });
      if (linesRead === 0) {
        child.stdout!.destroy();
      } else {
        let seen = "";
        await new Promise<void>((resolve) => {
          child.stdout!.on("data", (chunk: Buffer) => {
            seen += chunk.toString();
            if (seen.split("\n").length > linesRead) {
              child.stdout!.destroy();
              resolve();
            }
          });
        });
      }
      return child;
    }

    it("with --watch --json: exit code 0, nothing on stderr", async () => {
      const result = await statusIntoClosedPipe(["--watch", "0.2", "--json"], 1);
      expect(result.exitCode).toBe(0);
      expect(result.stderr).toBe("");
    });

    it("without --watch, as tables and as JSON", async () => {
      for (const args of [[], ["--json"]]) {
        const result = await statusIntoClosedPipe(args, 0);
        expect(result.exitCode, args.join(" ")).toBe(0);
        expect(result.stderr, args.join(" ")).toBe("");
      }
    });

    it("and a missing token is asked for by its name, --api-token", async () => {
      const result = await faas(["status", "--api", apiUrl], { FAAS_API_TOKEN: "" });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/^faas status: the API at \S+ requires a token: give --api-token or set FAAS_API_TOKEN/);
    });
  });

  it("faas up without redis-server says how to install it", async () => {
    const result = await faas(["up", "-p", "0"], { FAAS_REDIS_SERVER: "/nonexistent/redis-server" });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("apt-get install -y redis-server");
    expectFaasError(result.stderr, "up");
  });

  it("faas up starts a working cluster, prints its URLs, and stops all of it on Ctrl-C", async () => {
    const up = execa(process.execPath, [cliPath, "up", "-p", "0", "--executors", "2"], { reject: false, buffer: true, timeout: 30_000 });
    let output = "";
    up.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor(() => output.includes("Press Ctrl-C"), { what: "faas up to print its URLs", timeoutMs: 20_000 });
      const apiUrl = /API:\s+(\S+)/.exec(output)![1];
      const redisUrl = /Redis:\s+(\S+)/.exec(output)![1];
      expect(output).toContain("dispatcher: local mode, 2 executors");
      expect(output).not.toContain("API token");
      expect(await new FaaSClient({ baseUrl: apiUrl }).run((a: string) => `${a}!`, "up")).toBe("up!");
      // It prints where both serve their metrics.
      const metrics = /metrics:\s+(\S+) \(API\), (\S+) \(dispatcher\)/.exec(output)!;
      expect(metrics[1]).toBe(`${apiUrl}/metrics`);
      for (const url of metrics.slice(1)) expect(await (await fetch(url)).text()).toContain("faas_redis_errors_total");
      const logs = /logs:\s+(\S+)/.exec(output)![1];
      expect(existsSync(logs)).toBe(true);

      up.kill("SIGINT");
      const result = await up;
      expect(result.exitCode).toBe(0);
      // Everything it started is gone: the API and its Redis refuse connections, its directory is removed.
      await expect(fetch(`${apiUrl}/healthz`)).rejects.toThrow();
      const probe = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on("error", () => {});
      await expect(probe.connect()).rejects.toThrow();
      probe.disconnect();
      expect(existsSync(logs)).toBe(false);
    } finally {
      up.kill("SIGKILL");
    }
  });

  it("faas up --api-token: the API requires it, the banner says so without printing it; --workers and --executors shape the workers", async () => {
    const token = "up-api-token-4f1c";
    const up = execa(process.execPath, [cliPath, "up", "-p", "0", "-m", "push", "--workers", "1", "--executors", "3", "--api-token", token], {
      reject: false, buffer: true, timeout: 40_000,
    });
    let output = "";
    up.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor(() => output.includes("Press Ctrl-C"), { what: "faas up to print its URLs", timeoutMs: 30_000 });
      expect(output).toMatch(/API token:\s+required \(from --api-token\)/);
      expect(output).toContain("1 worker x 3 executors");
      expect(output).not.toContain(token);
      const apiUrl = /API:\s+(\S+)/.exec(output)![1];
      const refused = await new FaaSClient({ baseUrl: apiUrl }).cluster().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(FaaSError);
      expect((refused as FaaSError).status).toBe(401);
      const client = new FaaSClient({ baseUrl: apiUrl, token });
      expect(await client.run((a: number) => a * 3, 14)).toBe(42);
      // The dispatcher publishes its workers at each heartbeat: wait for the first that lists one.
      const snapshot = await waitFor(async () => {
        const seen = await client.cluster();
        return seen.workers.length > 0 && seen;
      }, { what: "GET /cluster to list the worker", timeoutMs: 10_000 });
      expect(snapshot.workers.map((worker) => worker.capacity)).toEqual([3]);
      await client.close();
      up.kill("SIGINT");
      expect((await up).exitCode).toBe(0);
    } finally {
      up.kill("SIGKILL");
    }
  });
});
