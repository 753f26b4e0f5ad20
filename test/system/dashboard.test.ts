/**
 * The dashboard end to end: Debian's Chromium, driven by Playwright, opens GET /dashboard of
 * a live push cluster whose API requires a token, and the page must show what GET /cluster
 * says: the workers, the task counts, the failures; a killed worker must leave the page
 * within the heartbeat timeout. A screenshot goes to test-output/dashboard.png.
 *
 * Where Chromium cannot run the test is skipped with the reason, except under CI (CI=true),
 * where it fails: CI installs Chromium, so its absence there is a defect.
 */
import { existsSync, mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../harness/wait.js";
import { FaaSClient, type ClusterSnapshot } from "../../system/client/index.js";
import { browserOrReason } from "../support/chromium.js";
import { useCluster } from "../support/cluster.js";

const SCREENSHOT = "test-output/dashboard.png";
const TOKEN = "dashboard-test-token";
const HEARTBEAT_MS = 200;
const TOLERANCE = 3;
/** The page polls every second; the dispatcher publishes every heartbeat. */
const PAGE_POLL_MS = 1000;

describe("the dashboard in Chromium", () => {
  const fx = useCluster({
    mode: "push", workers: { count: 2, executors: 2 }, apiToken: TOKEN, executorIsolation: "thread",
    dispatcher: { heartbeatMs: HEARTBEAT_MS, heartbeatTolerance: TOLERANCE },
  });
  let browser: Browser | undefined;
  let unavailable: string | undefined;
  let page: Page;
  let client: FaaSClient;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const launched = await browserOrReason("the dashboard's browser test");
    if (typeof launched === "string") {
      unavailable = launched;
      return;
    }
    browser = launched;
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (error) => pageErrors.push(error.message));
    // The page's Content-Security-Policy must not have to block anything of its own.
    page.on("console", (message) => {
      if (message.type() === "error" && /Content.Security.Policy/i.test(message.text())) pageErrors.push(message.text());
    });
    client = new FaaSClient({ baseUrl: fx.url, token: TOKEN });
  });

  afterAll(async () => {
    await browser?.close();
    await client?.close();
  });

  /** Waits until the page shows what `check` wants of it and of the current snapshot. */
  async function pageAgrees(what: string, check: (snapshot: ClusterSnapshot) => Promise<boolean>, timeoutMs = 15_000): Promise<ClusterSnapshot> {
    return waitFor(async () => {
      const snapshot = await client.cluster();
      return (await check(snapshot)) ? snapshot : undefined;
    }, { what: `the page to show ${what}`, timeoutMs });
  }

  const workerIdsShown = () => page.locator("#workers tbody tr").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-worker-id")).sort());
  const countShown = async (status: string) => Number((await page.locator(`[data-count="${status}"]`).textContent())?.replace(/,/g, ""));

  it("asks for the token, then shows the workers and the task counts of GET /cluster", async (context) => {
    if (unavailable) return context.skip(`skipped: ${unavailable}`);
    await page.goto(`${fx.url}/dashboard`);
    await page.locator("#token-form").waitFor({ state: "visible", timeout: 10_000 });
    await page.fill("#token", TOKEN);
    await page.click("#token-form button");
    await page.locator("#token-form").waitFor({ state: "hidden", timeout: 10_000 });

    const inc = await client.register((x: number) => x + 1, "inc");
    const thrower = await client.registerSource(`function parse(text) { return JSON.parse(text); }`, "parse");
    const done = await client.executeMany(inc, Array.from({ length: 12 }, (_, i) => [i]));
    // What users put in names and errors is shown as text: markup in them must not become HTML.
    const marked = await client.registerSource(`function marked() { throw new Error("<img src=x onerror=\\"window.pwned=1\\">"); }`, "<i>marked</i>");
    const markedTask = await client.execute(marked);
    const failed = [await client.execute(thrower, "{oops"), await client.execute(thrower, "[1,"), markedTask];
    const results = await client.results([...done, ...failed], { wait: 30 });
    expect(results.filter((result) => result.status === "COMPLETED")).toHaveLength(12);

    // Quiet now: the page must come to show exactly what the API says.
    const snapshot = await pageAgrees("the API's counts and workers", async (s) =>
      s.workers.length === 2 &&
      (await countShown("COMPLETED")) === s.tasks.COMPLETED && (await countShown("FAILED")) === s.tasks.FAILED &&
      (await countShown("QUEUED")) === s.tasks.QUEUED && (await countShown("RUNNING")) === s.tasks.RUNNING &&
      JSON.stringify(await workerIdsShown()) === JSON.stringify(s.workers.map((worker) => worker.id).sort()));
    expect(snapshot.tasks).toMatchObject({ COMPLETED: 12, FAILED: 3, QUEUED: 0, RUNNING: 0 });
    expect(await page.locator("#mode").textContent()).toBe("push mode");
    expect(await page.locator("#executors").textContent()).toBe(`${snapshot.busy} / 4`);

    const failureRows = page.locator("#failures tbody tr");
    expect(await failureRows.evaluateAll((rows) => rows.map((row) => row.getAttribute("data-task-id")).sort())).toEqual([...failed].sort());
    const parseRow = failureRows.filter({ hasText: "SyntaxError" }).first();
    expect(await parseRow.textContent()).toMatch(/parse.*SyntaxError: .*JSON/);
    const markedRow = page.locator(`#failures tr[data-task-id="${markedTask}"]`);
    expect(await markedRow.textContent()).toContain(`<i>marked</i>`);
    expect(await markedRow.textContent()).toContain(`Error: <img src=x onerror="window.pwned=1">`);
    expect(await page.locator("#failures i, #failures img").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { pwned?: unknown }).pwned)).toBeUndefined();
    // Chart.js loaded from the API and drew its three charts.
    expect(await page.evaluate(() => typeof (globalThis as { Chart?: unknown }).Chart)).toBe("function");
    expect(await page.locator("canvas").count()).toBe(3);
    expect(pageErrors).toEqual([]);
  });

  it("a killed worker leaves the page within the heartbeat timeout; a screenshot is saved", async (context) => {
    if (unavailable) return context.skip(`skipped: ${unavailable}`);
    const victim = fx.cluster.workers[0];
    const pid = fx.cluster.process(victim)!.pid!;
    const victimId = (await client.cluster()).workers.map((worker) => worker.id).find((id) => id.split("-").at(-2) === String(pid));
    expect(victimId, `a worker of pid ${pid} in the snapshot`).toBeDefined();
    expect(await workerIdsShown()).toContain(victimId);

    // Some load, so that the screenshot shows moving charts.
    const spin = await client.registerSource("function spin(ms) { const end = Date.now() + ms; while (Date.now() < end); return ms; }", "spin");
    const load = await client.executeMany(spin, Array.from({ length: 40 }, () => [50]));

    const killedAt = Date.now();
    await fx.cluster.kill(victim);
    // Presumed lost after heartbeat × tolerance (checked each heartbeat), then published (each heartbeat), then polled.
    const bound = HEARTBEAT_MS * TOLERANCE + 2 * HEARTBEAT_MS + PAGE_POLL_MS;
    // Gone, with the other worker still shown (an empty table, for a moment, would say nothing).
    await waitFor(async () => {
      const shown = await workerIdsShown();
      return shown.length === 1 && !shown.includes(victimId!);
    }, { what: `worker ${victimId} to leave the page, the other staying`, timeoutMs: bound + 5000, intervalMs: 20 });
    const goneAfterMs = Date.now() - killedAt;
    console.log(`the killed worker left the page after ${goneAfterMs} ms (heartbeat timeout ${HEARTBEAT_MS * TOLERANCE} ms; with two heartbeats and a page poll: ${bound} ms)`);
    await client.results(load, { wait: 30 });
    mkdirSync("test-output", { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
