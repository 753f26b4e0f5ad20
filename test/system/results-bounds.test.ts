/**
 * One request cannot make the API hold an unbounded answer (issue 14, defect 4): naming one
 * task many times in POST /results is refused before anything is read, and an answer whose
 * results would pass --max-response-bytes is a 413, on a real API process.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { http, useCluster } from "../support/cluster.js";

const MIB = 1024 * 1024;

function residentBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((entry) => entry.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

describe("POST /results and GET /result answers are bounded", () => {
  const fx = useCluster({ mode: "local", executors: 1, apiArgs: ["--max-response-bytes", String(3 * MIB)] });

  it("refuses an id named twice (400, naming it) and keeps the API's memory flat under 600 copies of a 1 MiB result", async () => {
    const big = await fx.client.registerSource(`() => "x".repeat(${MIB})`, "one-mib");
    const id = await fx.client.executeWith(big, []);
    expect((await fx.client.result(id, { wait: 30 })).status).toBe("COMPLETED");
    const pid = fx.cluster.process("api")!.pid!;
    const before = residentBytes(pid);
    const reply = await http(fx.url, "POST", "/results", { task_ids: Array(600).fill(id) });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: `invalid request: task_ids[1] (${id}) is named twice; name each task once`, code: "BAD_REQUEST" });
    // Upper-case is the same task: no way around the check.
    const mixed = await http(fx.url, "POST", "/results", { task_ids: [id, id.toUpperCase()] });
    expect([mixed.status, mixed.body.code]).toEqual([400, "BAD_REQUEST"]);
    const grown = residentBytes(pid) - before;
    expect(grown, `the API grew by ${grown} bytes`).toBeLessThan(64 * MIB);
    // The API still answers at once.
    expect((await http(fx.url, "GET", "/healthz")).status).toBe(200);
  });

  it("answers 413 RESPONSE_TOO_LARGE when the results asked for pass --max-response-bytes, and serves within it", async () => {
    const big = await fx.client.registerSource(`(n) => String(n).repeat(${MIB})`, "one-mib-each");
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) ids.push(await fx.client.executeWith(big, [n]));
    for (const id of ids) expect((await fx.client.result(id, { wait: 30 })).status).toBe("COMPLETED");
    const tooMuch = await http(fx.url, "POST", "/results", { task_ids: ids });
    expect(tooMuch.status).toBe(413);
    expect(tooMuch.body.code).toBe("RESPONSE_TOO_LARGE");
    expect(tooMuch.body.error).toMatch(/over the 3145728 one answer may carry \(--max-response-bytes\); ask for fewer tasks at a time/);
    const within = await http(fx.url, "POST", "/results", { task_ids: ids.slice(0, 2) });
    expect(within.status).toBe(200);
    expect(within.body.results.map((entry: { status: string }) => entry.status)).toEqual(["COMPLETED", "COMPLETED"]);
  });
});
