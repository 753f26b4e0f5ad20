/**
 * Network namespaces and real link faults, with real namespaces (root and `ip` needed; skipped
 * with the reason otherwise). Every namespace a test makes is removed after it, also when it fails.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { packageRoot } from "../../system/paths.js";
import { ManagedProcess } from "../../system/launcher/process.js";
import { waitFor } from "../../harness/wait.js";
import { NetworkNamespace, listNamespaces, namespacesAvailable, ownerOf, reapStaleNamespaces } from "../../harness/cluster/netns.js";
import { delay, linkFaultSupport, LinkFaultUnsupported, loss, partition, type FaultSupport } from "../../harness/cluster/link-faults.js";

const available = namespacesAvailable();
const logDir = mkdtempSync(join(tmpdir(), "faaslab-netns-test-"));
const made: NetworkNamespace[] = [];
const processes: ManagedProcess[] = [];

async function namespace(name: string): Promise<NetworkNamespace> {
  const ns = await NetworkNamespace.create({ name });
  made.push(ns);
  return ns;
}

/** A redis-server inside `ns` on the fixed port 6379, reachable on every address of the namespace. */
async function redisIn(ns: NetworkNamespace): Promise<ManagedProcess> {
  const redis = new ManagedProcess(
    ns.spec({
      name: `redis-${ns.name}`,
      command: "redis-server",
      args: ["--port", "6379", "--bind", "0.0.0.0", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no", "--dir", logDir],
      logFile: join(logDir, `redis-${ns.name}.log`),
      readyWhen: (line) => (line.includes("Ready to accept connections") ? {} : undefined),
      failsWhen: (line) => (/Address already in use/.test(line) ? line.trim() : undefined),
    }),
  );
  processes.push(redis);
  await redis.start();
  return redis;
}

/** PING over a raw TCP socket: the reply line, or an error message (refused, timed out). */
function ping(host: string, port = 6379, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done("timeout"), timeoutMs);
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => done(data.toString().trim()));
    socket.on("error", (error) => done(error.message));
  });
}

/** The median time of `count` TCP connects (ms). */
async function connectRtt(host: string, port: number, count = 15): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve();
      });
      socket.on("error", reject);
    });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}

/** A UDP echo server inside `ns` on port 9999. */
async function udpEchoIn(ns: NetworkNamespace): Promise<void> {
  const script = `const s=require("dgram").createSocket("udp4");s.on("message",(m,r)=>s.send(m,r.port,r.address));s.bind(9999,"0.0.0.0",()=>console.log("ready"));`;
  const echo = new ManagedProcess(ns.spec({ name: "udp-echo", command: process.execPath, args: ["-e", script], logFile: join(logDir, `udp-${ns.name}.log`), readyWhen: (l) => (l === "ready" ? {} : undefined) }));
  processes.push(echo);
  await echo.start();
}

const BURST = 50;

function echoesOf(seen: Set<number>, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (seen.has(i)) n++;
  return n;
}

/** Sends `count` numbered datagrams to host:9999 and counts the distinct echoes that come back. */
async function echoed(host: string, count: number): Promise<number> {
  const socket = createSocket("udp4");
  const seen = new Set<number>();
  socket.on("message", (message) => seen.add(message.readUInt32BE(0)));
  await new Promise<void>((resolve) => socket.bind(0, resolve));
  // In bursts of 50, each sent once the last one's echoes are in or have stopped coming for
  // 100 ms: at most 50 in flight, well within either socket's receive buffer, so on a loaded
  // machine (the echo server paused) no datagram is dropped but the ones the fault drops.
  for (let start = 0; start < count; start += BURST) {
    const end = Math.min(count, start + BURST);
    for (let i = start; i < end; i++) {
      const message = Buffer.alloc(4);
      message.writeUInt32BE(i);
      await new Promise<void>((resolve, reject) => socket.send(message, 9999, host, (error) => (error ? reject(error) : resolve())));
    }
    let heard = -1;
    let quietFrom = Date.now();
    await waitFor(async () => {
      if (seen.size !== heard) quietFrom = Date.now();
      heard = seen.size;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return echoesOf(seen, start, end) === end - start || Date.now() - quietFrom >= 100;
    }, { what: `the echoes of datagrams ${start}-${end - 1} to come or stop coming`, timeoutMs: 15_000 });
  }
  // Every echo has come, or none has for a whole second (the dropped ones never will): on a
  // loaded machine the echo server may pause for a while between two echoes.
  let last = -1;
  let quietSince = Date.now();
  await waitFor(
    async () => {
      const now = seen.size;
      if (now !== last) quietSince = Date.now();
      last = now;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return now === count || Date.now() - quietSince >= 1000;
    },
    { what: "the echoes to stop coming", timeoutMs: 15_000 },
  );
  socket.close();
  return seen.size;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// CI runs as root with iproute2 and nftables installed: there a machine that cannot fails the tests rather than skipping them.
if (!available.available && process.env.CI) throw new Error(`CI runs the network namespace tests, and this machine cannot: ${available.reason}`);

/** nftables is what partitions and loss are made with: CI installs it; elsewhere its absence skips those tests, saying why. */
function requireNftables(support: FaultSupport, context: { skip(note?: string): void }): void {
  if (support.nftables.available) return;
  if (process.env.CI) throw new Error(`CI runs the link fault tests, and this machine has no nftables: ${support.nftables.reason}`);
  context.skip(support.nftables.reason);
}

describe.skipIf(!available.available)(`network namespaces${available.available ? "" : ` (skipped: ${available.reason})`}`, () => {
  afterEach(async () => {
    for (const p of processes.splice(0)) p.killNow();
    for (const ns of made.splice(0)) await ns.remove();
  });
  afterAll(() => {
    rmSync(logDir, { recursive: true, force: true });
    expect(listNamespaces().filter((name) => ownerOf(name) === process.pid)).toEqual([]);
  });

  it("names each namespace after the harness pid, with loopback up and an uplink on a /30 of its own", async () => {
    const a = await namespace("a");
    const b = await namespace("b");
    expect(a.name).toMatch(new RegExp(`^faaslab-${process.pid}-\\d+-a$`));
    expect(listNamespaces()).toEqual(expect.arrayContaining([a.name, b.name]));
    expect((await a.exec("ip", ["-o", "link", "show", "lo"])).stdout).toMatch(/UP/);
    expect(a.uplink.subnet).not.toBe(b.uplink.subnet);
    expect(new Set([a.address, a.hostAddress, b.address, b.hostAddress]).size).toBe(4);
    await a.remove();
    expect(listNamespaces()).not.toContain(a.name);
    expect((await execa("ip", ["link", "show", a.uplink.a.device], { reject: false })).exitCode).not.toBe(0);
  });

  it("a redis-server on the fixed port 6379 inside a namespace does not meet the machine's 6379, and is reachable through the veth", async () => {
    const ns = await namespace("redis");
    await redisIn(ns);
    expect(await ping(ns.address)).toBe("+PONG");
    // Inside, 127.0.0.1:6379 is its own Redis, not the machine's: it has none of the machine's keys.
    const dbsize = await ns.exec("redis-cli", ["-h", "127.0.0.1", "-p", "6379", "DBSIZE"]);
    expect(dbsize.stdout.trim()).toBe("0");
  });

  it("two namespaces each have their own 6379", async () => {
    const [a, b] = [await namespace("r1"), await namespace("r2")];
    await Promise.all([redisIn(a), redisIn(b)]);
    await a.exec("redis-cli", ["-p", "6379", "SET", "which", "a"]);
    await b.exec("redis-cli", ["-p", "6379", "SET", "which", "b"]);
    expect((await a.exec("redis-cli", ["-p", "6379", "GET", "which"])).stdout.trim()).toBe("a");
    expect((await b.exec("redis-cli", ["-p", "6379", "GET", "which"])).stdout.trim()).toBe("b");
    expect(await ping(a.address)).toBe("+PONG");
    expect(await ping(b.address)).toBe("+PONG");
  });

  it("removing a namespace kills what runs inside", async () => {
    const ns = await namespace("kill");
    const redis = await redisIn(ns);
    expect(ns.pids()).toContain(redis.pid);
    await ns.remove();
    await waitFor(() => !isAlive(redis.pid!) || redis.exitCode !== undefined, { what: "redis inside the removed namespace to be gone", timeoutMs: 5000 });
  });

  describe("link faults", () => {
    let support: FaultSupport;
    beforeAll(async () => {
      const probe = await NetworkNamespace.create({ name: "probe" });
      support = linkFaultSupport(probe);
      await probe.remove();
    });

    it("a partition stops traffic on exactly that link, and heals", async (context) => {
      requireNftables(support, context);
      const [a, b] = [await namespace("p1"), await namespace("p2")];
      await Promise.all([redisIn(a), redisIn(b)]);
      const tablesBefore = (await a.exec("nft", ["list", "ruleset"])).stdout;
      const fault = partition(a.uplink);
      try {
        expect(await ping(a.address, 6379, 500)).toBe("timeout");
        expect(await ping(b.address)).toBe("+PONG");
        // Inside the partitioned namespace its own loopback still works.
        expect((await a.exec("redis-cli", ["-p", "6379", "PING"])).stdout.trim()).toBe("PONG");
      } finally {
        fault.heal();
      }
      expect((await a.exec("nft", ["list", "ruleset"])).stdout).toBe(tablesBefore);
      expect(await ping(a.address)).toBe("+PONG");
    });

    it("a partition of a link between two namespaces stops only that link", async (context) => {
      requireNftables(support, context);
      const [a, b] = [await namespace("n1"), await namespace("n2")];
      await redisIn(b);
      const link = await NetworkNamespace.connect(a, b);
      const pingFromA = async () => (await a.exec("timeout", ["1", "redis-cli", "-h", link.b.address, "-p", "6379", "PING"], { reject: false })).stdout.trim();
      expect(await pingFromA()).toBe("PONG");
      const fault = partition(link);
      try {
        expect(await pingFromA()).not.toBe("PONG");
        expect(await ping(b.address)).toBe("+PONG");
      } finally {
        fault.heal();
      }
      expect(await pingFromA()).toBe("PONG");
    });

    it("a one-way partition drops only that direction", async (context) => {
      requireNftables(support, context);
      const ns = await namespace("oneway");
      await udpEchoIn(ns);
      expect(await echoed(ns.address, 50)).toBe(50);
      // What the namespace sends (its echoes) is dropped: nothing comes back. That the root's
      // datagrams still arrive is not observed here (the runner's checks will see one-way faults).
      const back = partition(ns.uplink, "b->a");
      try {
        expect(await echoed(ns.address, 50)).toBe(0);
      } finally {
        back.heal();
      }
      expect(await echoed(ns.address, 50)).toBe(50);
    });

    it("loss drops about the given share of N packets, and heals", async (context) => {
      requireNftables(support, context);
      const ns = await namespace("loss");
      await udpEchoIn(ns);
      const count = 1000;
      expect(await echoed(ns.address, count)).toBe(count);
      const fault = loss(ns.uplink, 30, "a->b");
      let received: number;
      try {
        received = await echoed(ns.address, count);
      } finally {
        fault.heal();
      }
      // 30 % of 1000 independently: 700 ± 14.5 (one standard deviation); ±7 σ here.
      expect(received).toBeGreaterThan(600);
      expect(received).toBeLessThan(800);
      expect(await echoed(ns.address, count)).toBe(count);
    });

    it("delay with jitter lengthens the TCP connect time well above the baseline and heals; on a kernel without netem it is refused, the link untouched", async () => {
      const ns = await namespace("delay");
      await redisIn(ns);
      const baseline = await connectRtt(ns.address, 6379);
      if (!support.netem.available) {
        // This machine's kernel lacks netem: the fault must say so, not pretend to act.
        expect(() => delay(ns.uplink, { ms: 50, jitterMs: 5 })).toThrow(LinkFaultUnsupported);
        expect(() => delay(ns.uplink, { ms: 50, jitterMs: 5 })).toThrow(/netem/);
        expect(await connectRtt(ns.address, 6379)).toBeLessThan(40);
        return;
      }
      const fault = delay(ns.uplink, { ms: 50, jitterMs: 5 });
      let delayed: number;
      try {
        delayed = await connectRtt(ns.address, 6379);
      } finally {
        fault.heal();
      }
      // A connect is a SYN one way and a SYN-ACK the other: both delayed, ≥ 2 × 50 - jitter.
      expect(delayed).toBeGreaterThan(80);
      expect(delayed).toBeGreaterThan(baseline * 5);
      expect(await connectRtt(ns.address, 6379)).toBeLessThan(40);
    });
  });

  describe("cleanup after the harness is gone", () => {
    it("a namespace whose owner pid is dead is removed by the reaper, with what runs inside", async () => {
      const dead = await execa(process.execPath, ["-e", "console.log(process.pid)"]);
      const deadPid = Number(dead.stdout.trim());
      const name = `faaslab-${deadPid}-1-stale`;
      await execa("ip", ["netns", "add", name]);
      try {
        const sleeper = execa("ip", ["netns", "exec", name, "sleep", "1000"], { reject: false, detached: true });
        await waitFor(async () => (await execa("ip", ["netns", "pids", name])).stdout.trim().length > 0, { what: "sleep to run inside the stale namespace" });
        expect(reapStaleNamespaces()).toContain(name);
        expect(listNamespaces()).not.toContain(name);
        await waitFor(() => !isAlive(sleeper.pid!), { what: "the process inside the stale namespace to be killed", timeoutMs: 5000 });
      } finally {
        await execa("ip", ["netns", "del", name], { reject: false });
      }
    });

    it.each(["SIGKILL", "SIGTERM"] as const)("a harness killed with %s: the watchdog removes its namespaces and their processes", async (signal) => {
      const dir = mkdtempSync(join(tmpdir(), "faaslab-netns-child-"));
      const script = join(dir, "child.mjs");
      writeFileSync(
        script,
        `import { spawn } from "node:child_process";
import { NetworkNamespace } from ${JSON.stringify(join(packageRoot, "dist/harness/cluster/netns.js"))};
const names = [], pids = [], devices = [];
for (const n of ["x", "y"]) {
  const ns = await NetworkNamespace.create({ name: n });
  // No parent-death signal: only the watchdog can end it.
  const { command, args } = ns.command("sleep", ["1000"]);
  const child = spawn(command, args, { detached: true, stdio: "ignore" });
  child.unref();
  names.push(ns.name); pids.push(child.pid); devices.push(ns.uplink.a.device);
}
console.log(JSON.stringify({ names, pids, devices }));
setInterval(() => {}, 1000);
`,
      );
      const harness = execa(process.execPath, [script], { reject: false, buffer: false, stdout: "pipe" });
      const made = await new Promise<{ names: string[]; pids: number[]; devices: string[] }>((resolve, reject) => {
        let out = "";
        harness.stdout!.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]));
        });
        void harness.then((r) => reject(new Error(`the child exited before making namespaces: ${r.exitCode} ${r.stderr ?? ""}`)));
      });
      try {
        await waitFor(async () => made.pids.every((pid) => isAlive(pid)) && (await execa("ip", ["netns", "pids", made.names[0]])).stdout.trim().length > 0, {
          what: "the sleeps to run inside the child's namespaces",
        });
        expect(listNamespaces()).toEqual(expect.arrayContaining(made.names));
        harness.kill(signal);
        await harness;
        await waitFor(() => made.names.every((name) => !listNamespaces().includes(name)), { what: `the child's namespaces ${made.names.join(", ")} to be removed`, timeoutMs: 10_000 });
        await waitFor(() => made.pids.every((pid) => !isAlive(pid)), { what: `the processes inside (${made.pids.join(", ")}) to be killed`, timeoutMs: 10_000 });
        const rootLinks = async () => (await execa("ip", ["-o", "link", "show"])).stdout;
        await waitFor(async () => { const links = await rootLinks(); return made.devices.every((d) => !links.includes(`${d}@`)); }, { what: `the veths ${made.devices.join(", ")} to be gone`, timeoutMs: 10_000 });
      } finally {
        harness.kill("SIGKILL");
        for (const pid of made.pids) if (isAlive(pid)) process.kill(pid, "SIGKILL");
        for (const name of made.names) await execa("ip", ["netns", "del", name], { reject: false });
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
