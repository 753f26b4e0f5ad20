/**
 * The second wall itself: code run with the executor host's own flags cannot write, start
 * processes, read outside its code, or see an environment; a killed host is replaced, and a
 * host whose parent died exits.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../system/paths.js";
import { waitFor } from "../../harness/wait.js";
import { deserialize, serialize } from "../../system/codec/index.js";
import { ExecutorPool } from "../../system/executor/pool.js";
import { HOST_FILE, hostExecArgv } from "../../system/executor/permissions.js";
import { frame } from "../../system/executor/frames.js";
import { provesThread, threadKey } from "../../system/executor/host-protocol.js";
import { SECRET_NAME, SECRET, scratch, expectServing, cpuMs, isGone, childrenOf, startEnvironment, cmdlineOf, useIsolationScratch } from "../support/isolation.js";

useIsolationScratch();

describe("the second wall: the executor host process", () => {
  it("the host runs with the permission model, no write/child/addon permission, no code generation and an empty environment", async () => {
    const pool = new ExecutorPool({ executors: 1, memoryMb: 64, name: "flags" });
    try {
      await expectServing(pool);
      const pid = pool.hostPid!;
      expect(startEnvironment(pid)).toEqual([]);
      expect(process.env[SECRET_NAME]).toBe(SECRET);
      const flags = cmdlineOf(pid);
      expect(flags).toContain("--experimental-permission");
      expect(flags).toContain("--disallow-code-generation-from-strings");
      expect(flags.filter((flag) => /--allow-(fs-write|child-process|addons|wasi)/.test(flag))).toEqual([]);
      expect(flags.filter((flag) => flag.startsWith("--allow-fs-read=")).every((flag) => flag.includes(`${packageRoot}/dist/system/`) || flag.includes("/node_modules/"))).toBe(true);
    } finally {
      await pool.close();
    }
  });

  // Code that escaped every sandbox would run as this probe does: in a process with the host's flags.
  it("code run with the host's flags cannot write, start processes, load addons, read outside its code, generate code or see an environment", async () => {
    const probeFile = join(scratch, "probe.mjs");
    const marker = join(scratch, "second-wall.marker");
    writeFileSync(probeFile, `
      import { Worker } from "node:worker_threads";
      const fs = process.getBuiltinModule("fs");
      const attempt = async (f) => { try { await f(); return "ALLOWED" } catch (error) { return error.code ?? error.name } };
      const report = {
        env: Object.keys(process.env),
        write: await attempt(() => fs.writeFileSync(${JSON.stringify(marker)}, "escaped")),
        childProcess: await attempt(() => process.getBuiltinModule("child_process").execFileSync("/bin/true")),
        readPackageJson: await attempt(() => fs.readFileSync(${JSON.stringify(join(packageRoot, "package.json"))})),
        readParentEnviron: await attempt(() => fs.readFileSync("/proc/" + process.ppid + "/environ")),
        addon: await attempt(() => process.dlopen({ exports: {} }, ${JSON.stringify(join(scratch, "addon.node"))})),
        inspector: await attempt(() => process.getBuiltinModule("inspector").open(0)),
        evalCode: await attempt(() => eval("1")),
        newFunction: await attempt(() => new Function("return 1")),
        writeFromWorker: await new Promise((resolve) => {
          const worker = new Worker("require('fs').writeFileSync(" + JSON.stringify(${JSON.stringify(marker)}) + ", 'escaped')", { eval: true });
          worker.on("error", (error) => resolve(error.code ?? error.name));
          worker.on("exit", () => resolve("exited"));
        }),
      };
      process.send(report, () => process.disconnect());
    `);
    const probe = fork(probeFile, [], { execArgv: hostExecArgv([probeFile]), env: {}, serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    try {
      const report = await new Promise<Record<string, unknown>>((resolve, reject) => {
        probe.once("message", resolve);
        probe.once("exit", (code) => reject(new Error(`the probe exited (${code}) without a report`)));
      });
      expect(report).toEqual({
        env: [],
        write: "ERR_ACCESS_DENIED",
        childProcess: "ERR_ACCESS_DENIED",
        readPackageJson: "ERR_ACCESS_DENIED",
        readParentEnviron: "ERR_ACCESS_DENIED",
        addon: "ERR_DLOPEN_DISABLED",
        inspector: "ERR_ACCESS_DENIED",
        evalCode: "EvalError",
        newFunction: "EvalError",
        writeFromWorker: "ERR_ACCESS_DENIED",
      });
      expect(existsSync(marker)).toBe(false);
    } finally {
      probe.kill("SIGKILL");
    }
  });

  it("the executor channel admits only the pool's own threads: forged hellos, oversized frames and silent connections are cut off, and the pool serves on", async () => {
    const pool = new ExecutorPool({ executors: 2, memoryMb: 64, name: "channel" });
    try {
      await expectServing(pool);
      const [address, ...others] = executorChannelsOfThisProcess();
      expect(others).toEqual([]);
      const strangers: [string, Buffer][] = [
        ["a hello with a forged key for a connected slot", frame({ type: "hello", slot: 0, generation: 0, key: "forged" })],
        ["a hello for the slot's next thread, with a key made under another secret", frame({ type: "hello", slot: 1, generation: 1, key: threadKey("another secret", 1, 1) })],
        ["a hello for a slot that does not exist", frame({ type: "hello", slot: 7, generation: 0, key: threadKey("another secret", 7, 0) })],
        ["an outcome before any hello", frame({ type: "outcome", id: 1, status: "COMPLETED", result: "[[1],1]", executor: "forged" })],
        ["a frame header announcing 1 GiB", Buffer.from([0x40, 0, 0, 0, 1, 2, 3])],
        ["bytes that are not a frame", Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from("???")])],
        ["a hello of over 1 KiB (what a connection may send before it is admitted)", frame({ type: "hello", slot: 0, generation: 0, key: "k".repeat(2000) })],
      ];
      for (const [what, bytes] of strangers) {
        const socket = connect(address);
        socket.on("error", () => {});
        socket.write(bytes);
        await closedBy(socket, what);
      }
      // Connections that say nothing are closed too: at once past a few, the rest after 2 s.
      const silent = Array.from({ length: 8 }, () => connect(address).on("error", () => {}));
      await Promise.all(silent.map((socket, n) => closedBy(socket, `silent connection ${n + 1} of 8`)));
      await expectServing(pool, 6);
      // Each thread's key is its own: it proves neither another slot, nor the slot's next thread, nor anything under another secret.
      const key = threadKey("secret", 0, 0);
      expect(provesThread("secret", 0, 0, key)).toBe(true);
      expect([provesThread("secret", 1, 0, key), provesThread("secret", 0, 1, key), provesThread("other", 0, 0, key)]).toEqual([false, false, false]);
      expect([provesThread("secret", 0, 0, key.slice(1)), provesThread("secret", 0, 0, undefined), provesThread("secret", 0, 0, 42)]).toEqual([false, false, false]);
    } finally {
      await pool.close();
    }
  });

  it("threads stopped at their deadlines over and over are each replaced: every late task is DeadlineExceeded, the host stays, and the pool serves on", async () => {
    const pool = new ExecutorPool({ executors: 2, memoryMb: 64, name: "replaced" });
    try {
      await expectServing(pool);
      const pid = pool.hostPid!;
      const late = await Promise.all(Array.from({ length: 40 }, (_, n) =>
        pool.run({ functionId: `spin-${n % 3}`, source: "() => { for (;;) {} }", args: serialize([]) }, 30)));
      for (const outcome of late) {
        expect(outcome.status).toBe("FAILED");
        expect((deserialize(outcome.result) as Error).name).toBe("DeadlineExceeded");
      }
      await expectServing(pool, 4);
      expect(pool.hostPid).toBe(pid);
    } finally {
      await pool.close();
    }
  });

  it("a killed host fails its running tasks with ExecutorCrashed and is replaced for the next ones", async () => {
    const pool = new ExecutorPool({ executors: 2, memoryMb: 64, name: "killed" });
    try {
      await expectServing(pool);
      const pid = pool.hostPid!;
      const cpuBefore = cpuMs(pid);
      const spinning = [0, 1].map((n) => pool.run({ functionId: `spin-${n}`, source: "() => { for (;;) {} }", args: serialize([]) }, 60_000));
      // Both threads are spinning once the host has used some CPU time beyond what it had.
      await waitFor(() => cpuMs(pid) > cpuBefore + 300, { what: "the host to run the spinning tasks" });
      process.kill(pid, "SIGKILL");
      for (const outcome of await Promise.all(spinning)) {
        expect(outcome.status).toBe("FAILED");
        const error = deserialize(outcome.result) as Error;
        expect([error.name, error.message]).toEqual(["ExecutorCrashed", "the executor host process died (signal SIGKILL) while running the task"]);
      }
      await expectServing(pool);
      expect(pool.hostPid).not.toBe(pid);
    } finally {
      await pool.close();
    }
  });

  it("close() ends the host, and a closed pool fails tasks instead of hanging", async () => {
    const pool = new ExecutorPool({ executors: 1, memoryMb: 64, name: "closed" });
    await expectServing(pool);
    const pid = pool.hostPid!;
    await pool.close();
    await waitFor(() => isGone(pid), { what: `host ${pid} to exit` });
    const outcome = await pool.run({ functionId: "late", source: "() => 1", args: serialize([]) }, 1000);
    expect(outcome.status).toBe("FAILED");
    expect((deserialize(outcome.result) as Error).name).toBe("ExecutorCrashed");
  });

  it("a host whose parent died exits by itself", async () => {
    const parentFile = join(scratch, "parent.mjs");
    writeFileSync(parentFile, `
      import { ExecutorPool } from ${JSON.stringify(HOST_FILE.replace(/host\.js$/, "pool.js"))};
      const pool = new ExecutorPool({ executors: 1, memoryMb: 64, name: "orphan" });
      const outcome = await pool.run({ functionId: "f", source: "() => 1", args: '[[1],1]' }, 10000);
      process.stdout.write(JSON.stringify({ host: pool.hostPid, status: outcome.status }) + "\\n");
      setInterval(() => {}, 1000);
    `);
    const parent: ChildProcess = spawn(process.execPath, [parentFile], { stdio: ["ignore", "pipe", "inherit"] });
    let host: number | undefined;
    try {
      const line = await new Promise<string>((resolve, reject) => {
        parent.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString()));
        parent.once("exit", (code) => reject(new Error(`the parent exited (${code}) before its host was ready`)));
      });
      const started = JSON.parse(line) as { host: number; status: string };
      host = started.host;
      expect(started.status).toBe("COMPLETED");
      expect(childrenOf(parent.pid!)).toContain(host);
      parent.kill("SIGKILL");
      await waitFor(() => isGone(host!), { what: `the orphaned host ${host} to exit` });
    } finally {
      parent.kill("SIGKILL");
      if (host !== undefined && !isGone(host)) process.kill(host, "SIGKILL");
    }
  });
});

/** The executor channels this process listens on (abstract Unix sockets, from /proc/net/unix by the inodes of its descriptors). */
function executorChannelsOfThisProcess(): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  return readFileSync("/proc/net/unix", "utf8").split("\n").slice(1)
    .map((line) => line.trim().split(/\s+/))
    // Num RefCount Protocol Flags Type St Inode Path: a listener has the accept flag (0x10000).
    .filter((fields) => fields.length >= 8 && (parseInt(fields[3], 16) & 0x10000) !== 0 && inodes.has(fields[6]) && fields[7].startsWith("@faaslab-executors-"))
    // The listing shows the name's NULs (the leading one and the padding after it) as '@'.
    .map((fields) => `\0${fields[7].slice(1).replace(/@+$/, "")}`);
}

/** Resolves once the other end closed `socket`, which connected first; fails, saying `what` was not refused, after 3 s. */
function closedBy(socket: Socket, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let connected = false;
    socket.once("connect", () => (connected = true));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the executor channel did not cut off ${what} within 3 s`));
    }, 3_000);
    socket.on("close", () => {
      clearTimeout(timer);
      if (connected) resolve();
      else reject(new Error(`${what}: could not even connect to the executor channel`));
    });
    socket.resume();
  });
}
