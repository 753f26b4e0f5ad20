/**
 * CURVE on the dispatcher–worker link: encrypted, and only workers whose public key the
 * dispatcher allows get in. Real clusters, real worker processes, and `faas keygen`.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execa, type ResultPromise } from "execa";
import { cliPath } from "../../system/paths.js";
import { waitFor } from "../../harness/wait.js";
import { addToAllowlist, generateKeyPair, parseKeyPairFile, publicKeyOf, writeKeyPairFile, Z85_KEY_LENGTH } from "../../system/protocol/curve.js";
import { findLogged, logEvents } from "../support/logs.js";
import { useCluster, type ClusterFixture } from "../support/cluster.js";

const scratch = mkdtempSync(join(tmpdir(), "faaslab-curve-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const faas = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [cliPath, ...args], { reject: false, env, timeout: 20_000 });

type WorkerProcess = ResultPromise & { output: () => string; end: () => Promise<void> };

/**
 * A worker process outside the harness (a rogue, a misconfigured one). It leads its own process
 * group, so that `end()` kills it together with the executor host it started.
 */
function spawnWorker(args: string[], env: Record<string, string> = {}): WorkerProcess {
  const child = execa(process.execPath, [cliPath, ...args], {
    reject: false, all: true, detached: true, env: { FAAS_PARENT_PID: String(process.pid), ...env }, timeout: 30_000,
  });
  let output = "";
  child.all!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const end = async () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* already gone */
    }
    await child;
  };
  return Object.assign(child, { output: () => output, end });
}

/** A fresh key pair file in the scratch directory; `allowIn` adds its public key to a cluster's allowlist. */
function keyFile(name: string, allowIn?: ClusterFixture): { file: string; publicKey: string } {
  const pair = generateKeyPair();
  const file = join(scratch, `${name}-${Date.now()}.key`);
  writeKeyPairFile(file, pair);
  if (allowIn) addToAllowlist(allowIn.cluster.curve!.allowlistFile, pair.publicKey, name);
  return { file, publicKey: pair.publicKey };
}

const readyId = (output: string): string | undefined => {
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    const event = JSON.parse(line) as { event?: string; id?: string };
    if (event.event === "ready") return event.id;
  }
  return undefined;
};

const harnessWorkerIds = (fx: ClusterFixture) =>
  fx.cluster.workers.map((name) => String(logEvents(fx.cluster.logFile(name)).find((event) => event.event === "ready")!.id));

describe.each(["push", "pull"] as const)("a %s cluster with CURVE", (mode) => {
  const fx = useCluster({ mode, curve: true, workers: { count: 2, executors: 2 } });

  it("runs tasks correctly on its workers", async () => {
    const square = await fx.client.register((n: number, label: string) => ({ label, square: n * n }));
    const taskIds = await fx.client.executeMany(square, Array.from({ length: 60 }, (_, i) => [i, `t${i}`]));
    const values = await Promise.all(taskIds.map((id) => fx.client.valueOf(id)));
    expect(values).toEqual(Array.from({ length: 60 }, (_, i) => ({ label: `t${i}`, square: i * i })));
    const ranOn = new Set((await Promise.all(taskIds.map((id) => fx.client.task(id)))).map((task) => task.worker));
    expect([...ranOn].sort()).toEqual(harnessWorkerIds(fx).sort());
    const ready = logEvents(fx.cluster.logFile("dispatcher")).find((event) => event.event === "ready");
    expect(ready?.curvePublicKey).toBe(fx.cluster.curve!.dispatcherPublicKey);
  });

  it("a restarted dispatcher (same key pair) gets its workers back over new CURVE sessions", async () => {
    const registrations = () => fx.cluster.workers.map((name) => logEvents(fx.cluster.logFile(name)).filter((event) => event.event === "registered").length);
    const before = registrations();
    await fx.cluster.restart("dispatcher");
    await waitFor(() => registrations().every((count, i) => count > before[i]), { what: "both workers to register with the restarted dispatcher", timeoutMs: 20_000 });
    expect(await fx.client.run((a: number, b: number) => a * b, 6, 7)).toBe(42);
  });
});

describe("who may connect to a CURVE dispatcher", () => {
  const fx = useCluster({ mode: "push", curve: true, workers: { count: 2, executors: 2 } });
  const dispatcherLog = () => fx.cluster.logFile("dispatcher");

  it("a worker with an unknown key is refused: it exits (code 2), is never sent a task, the dispatcher logs its key once and keeps serving", async () => {
    const slow = await fx.client.register(async (i: number) => new Promise((resolve) => setTimeout(() => resolve(i), 50)));
    const taskIds = await fx.client.executeMany(slow, Array.from({ length: 40 }, (_, i) => [i]));
    const unknown = keyFile("unknown");
    // Twice, with the same key: the second refusal is not logged again.
    for (let attempt = 0; attempt < 2; attempt++) {
      const rogue = spawnWorker(["push-worker", "2", fx.cluster.dispatcherEndpoint, "--curve-server-key", fx.cluster.curve!.dispatcherPublicKey, "--curve-secret-key-file", unknown.file]);
      try {
        const result = await rogue;
        expect(result.exitCode).toBe(2);
        expect(rogue.output()).toContain(`refused by the dispatcher: its CURVE allowlist does not hold this worker's public key ${unknown.publicKey}`);
        const rogueId = readyId(rogue.output());
        expect(rogueId).toBeDefined();
        expect(logEvents(dispatcherLog()).filter((event) => event.workerId === rogueId)).toEqual([]);
      } finally {
        await rogue.end();
      }
    }
    await waitFor(() => findLogged(dispatcherLog(), "worker refused: its CURVE public key is not in the allowlist", { key: unknown.publicKey }).length === 1, {
      what: "the dispatcher to log the unknown key's refusal",
    });
    expect(await Promise.all(taskIds.map((id) => fx.client.valueOf(id)))).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const ranOn = new Set((await Promise.all(taskIds.map((id) => fx.client.task(id)))).map((task) => task.worker));
    for (const worker of ranOn) expect(harnessWorkerIds(fx)).toContain(worker);
    expect(findLogged(dispatcherLog(), "worker refused: its CURVE public key is not in the allowlist", { key: unknown.publicKey })).toHaveLength(1);
    expect(await fx.client.run((x: number) => x + 1, 41)).toBe(42);
  });

  it("a worker that does not use CURVE cannot connect: it is told the dispatcher requires CURVE", async () => {
    const plain = spawnWorker(["push-worker", "1", fx.cluster.dispatcherEndpoint]);
    try {
      const result = await plain;
      expect(result.exitCode).toBe(2);
      expect(plain.output()).toContain("the dispatcher requires CURVE: give this worker --curve-server-key");
      const plainId = readyId(plain.output());
      expect(logEvents(dispatcherLog()).filter((event) => event.workerId === plainId)).toEqual([]);
    } finally {
      await plain.end();
    }
    // Which side notices the mismatch first is a race: the dispatcher logs it, or a broken pipe.
    await waitFor(() => findLogged(dispatcherLog(), "handshake with a peer failed").length > 0, { what: "the dispatcher to log the failed handshake" });
    expect(await fx.client.run((x: number) => x * 2, 21)).toBe(42);
  });

  it("a worker given the wrong dispatcher key never gets in, and says what to check", async () => {
    const allowed = keyFile("wrong-server-key", fx);
    const wrong = spawnWorker(["push-worker", "1", fx.cluster.dispatcherEndpoint, "--curve-server-key", generateKeyPair().publicKey, "--curve-secret-key-file", allowed.file]);
    try {
      await waitFor(() => wrong.output().includes("check that --curve-server-key is the dispatcher's public key"), { what: "the worker to warn about its handshake", timeoutMs: 20_000 });
      await waitFor(() => findLogged(dispatcherLog(), "handshake with a peer failed", { code: "ERR_ZMTP_CRYPTOGRAPHIC" }).length > 0, {
        what: "the dispatcher to log the failed CURVE handshake", timeoutMs: 20_000,
      });
      expect(wrong.output()).not.toContain('"event":"registered"');
      expect(wrong.exitCode).toBeNull();
    } finally {
      await wrong.end();
    }
  });

  it("a key added to the allowlist while the dispatcher runs is let in (the file is read again)", async () => {
    const added = keyFile("added-later", fx);
    const worker = spawnWorker(["push-worker", "1", fx.cluster.dispatcherEndpoint, "--curve-secret-key-file", added.file], {
      FAAS_CURVE_SERVER_KEY: fx.cluster.curve!.dispatcherPublicKey,
    });
    try {
      await waitFor(() => worker.output().includes('"event":"registered"'), { what: "the worker with the newly allowed key to register" });
    } finally {
      await worker.end();
    }
  });
});

describe("the CURVE link on the wire", () => {
  const fx = useCluster({ mode: "push", curve: true, workers: { count: 0, executors: 1 } });

  it("carries nothing of a task or its result in clear text", async () => {
    // A tap between one worker and the dispatcher records every byte, each way.
    const captured = { toDispatcher: [] as Buffer[], toWorker: [] as Buffer[] };
    const upstreamPort = Number(fx.cluster.dispatcherEndpoint.split(":").pop());
    const tap = net.createServer((client) => {
      const upstream = net.connect(upstreamPort, "127.0.0.1");
      for (const [from, to, record] of [[client, upstream, captured.toDispatcher], [upstream, client, captured.toWorker]] as const) {
        from.on("data", (chunk: Buffer) => {
          record.push(chunk);
          to.write(chunk);
        });
        from.on("error", () => to.destroy());
        from.on("close", () => to.destroy());
      }
    });
    await new Promise<void>((resolve) => tap.listen(0, "127.0.0.1", resolve));
    const key = keyFile("tapped", fx);
    const worker = spawnWorker([
      "push-worker", "1", `tcp://127.0.0.1:${(tap.address() as net.AddressInfo).port}`,
      "--curve-server-key", fx.cluster.curve!.dispatcherPublicKey, "--curve-secret-key-file", key.file,
    ]);
    try {
      await waitFor(() => worker.output().includes('"event":"registered"'), { what: "the tapped worker to register" });
      const marker = "plaintext-marker-4f1c";
      const value = await fx.client.run((secret: string) => `${secret}/${secret.length}`, marker);
      expect(value).toBe(`${marker}/${marker.length}`);
      for (const [direction, chunks] of Object.entries(captured)) {
        const wire = Buffer.concat(chunks);
        // The greeting names the mechanism in clear (ZMTP 3: bytes 12-31); what follows is encrypted.
        expect(wire.subarray(12, 17).toString(), direction).toBe("CURVE");
        expect(wire.length, direction).toBeGreaterThan(300);
        for (const clear of [marker, "secret.length", '"type"', '"workerId"', '"taskId"']) expect(wire.includes(clear), `${clear} ${direction}`).toBe(false);
      }
    } finally {
      await worker.end();
      tap.close();
    }
  });
});

describe("faas keygen", () => {
  it("prints a valid key pair: 40-character Z85 keys, the public one derived from the secret", async () => {
    const result = await faas(["keygen"]);
    expect(result.exitCode).toBe(0);
    const pair = parseKeyPairFile(result.stdout, "stdout");
    expect(pair.publicKey).toHaveLength(Z85_KEY_LENGTH);
    expect(pair.secretKey).toHaveLength(Z85_KEY_LENGTH);
    expect(publicKeyOf(pair.secretKey)).toBe(pair.publicKey);
    expect(result.stdout).toContain(`public=${pair.publicKey}\nsecret=${pair.secretKey}`);
    const again = parseKeyPairFile((await faas(["keygen"])).stdout, "stdout");
    expect(again.secretKey).not.toBe(pair.secretKey);
  });

  it("--out writes the pair with mode 0600, prints only the public key, and never overwrites", async () => {
    const file = join(scratch, "keygen-out.key");
    const result = await faas(["keygen", "--out", file]);
    expect(result.exitCode).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const pair = parseKeyPairFile(readFileSync(file, "utf8"), file);
    expect(result.stdout).toBe(pair.publicKey);
    const second = await faas(["keygen", "--out", file]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain("already exists");
    expect(parseKeyPairFile(readFileSync(file, "utf8"), file)).toEqual(pair);
  });

  it("--help explains itself", async () => {
    const result = await faas(["keygen", "--help"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^Usage: faas keygen/);
    expect(result.stdout).toContain("--out <file>");
  });
});

describe("bad CURVE settings are refused with a message and exit code 1", () => {
  const good = keyFile("good");
  const other = generateKeyPair();
  const file = (name: string, text: string, mode = 0o600) => {
    const path = join(scratch, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };
  const allow = file("allow", `# workers\n${other.publicKey} worker-a\n`, 0o644);
  const malformed = file("malformed.key", "public=abc\nsecret=not-a-key\n");
  const notZ85 = file("not-z85.key", `secret=${"~".repeat(40)}\n`);
  const mixedUp = file("mixed-up.key", `public=${other.publicKey}\nsecret=${generateKeyPair().secretKey}\n`);
  const noSecret = file("no-secret.key", `public=${other.publicKey}\n`);
  const badAllow = file("bad-allow", `${other.publicKey}\nshort-key worker-b\n`, 0o644);
  const push = ["dispatcher", "-m", "push", "-p", "0"];
  const worker = ["push-worker", "1", "tcp://127.0.0.1:5555"];

  it.each([
    ["a malformed secret key", [...push, "--curve-secret-key-file", malformed, "--curve-allow", allow], {}, /the secret key in .*malformed.key must be 40 characters of Z85/],
    ["a key that is not Z85", [...push, "--curve-secret-key-file", notZ85, "--curve-allow", allow], {}, /is not Z85: it contains "~"/],
    ["a public key that is not the secret's", [...push, "--curve-secret-key-file", mixedUp, "--curve-allow", allow], {}, /the public key is not the secret key's own/],
    ["a key file without a secret", [...push, "--curve-secret-key-file", noSecret, "--curve-allow", allow], {}, /has no secret=<key> line/],
    ["a missing key file", [...push, "--curve-secret-key-file", join(scratch, "nowhere.key"), "--curve-allow", allow], {}, /cannot read the key pair file .*nowhere.key: ENOENT/],
    ["CURVE without an allowlist", [...push, "--curve-secret-key-file", good.file], {}, /CURVE is on but no worker is allowed: give --curve-allow/],
    ["an allowlist without CURVE", [...push, "--curve-allow", allow], {}, /an allowlist of workers was given but CURVE is off/],
    ["a malformed allowlist", [...push, "--curve-secret-key-file", good.file, "--curve-allow", badAllow], {}, /bad-allow, line 2: the key must be 40 characters/],
    ["a malformed FAAS_CURVE_SECRET_KEY", [...push, "--curve-allow", allow], { FAAS_CURVE_SECRET_KEY: "short" }, /FAAS_CURVE_SECRET_KEY must be 40 characters/],
    ["a malformed FAAS_CURVE_ALLOW", [...push, "--curve-secret-key-file", good.file], { FAAS_CURVE_ALLOW: `${other.publicKey},nope` }, /FAAS_CURVE_ALLOW, line 2: the key must be 40 characters/],
    ["CURVE in local mode", ["dispatcher", "-m", "local", "--curve-secret-key-file", good.file], {}, /CURVE applies to pull and push mode only/],
    ["a worker given a secret key file as the dispatcher's key", [...worker, "--curve-server-key", good.file, "--curve-secret-key-file", good.file], {}, /holds a secret key: the dispatcher's public key must be the public key only/],
    ["a worker given a malformed dispatcher key", [...worker, "--curve-server-key", "abc", "--curve-secret-key-file", good.file], {}, /the dispatcher's public key "abc" is neither a Z85 key \(40 characters/],
    ["a worker without the dispatcher's key", [...worker, "--curve-secret-key-file", good.file], {}, /CURVE needs the dispatcher's public key too/],
    ["a worker without its key pair", [...worker, "--curve-server-key", other.publicKey], {}, /CURVE needs this worker's key pair too/],
    ["a worker with a malformed key file", [...worker, "--curve-server-key", other.publicKey, "--curve-secret-key-file", malformed], {}, /must be 40 characters of Z85/],
    ["a zero --max-message-bytes", [...push, "--max-message-bytes", "0"], {}, /--max-message-bytes must be a positive integer/],
  ] as const)("%s", async (_case, args, env, message) => {
    const result = await faas([...args], { FAAS_REDIS_URL: "redis://127.0.0.1:1", ...env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
  });
});
