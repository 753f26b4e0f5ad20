/** API authentication: with a token set, only /healthz and the dashboard's static files answer without it. */
import { describe, expect, it } from "vitest";
import { FaaSClient, FaaSError } from "../../system/client/index.js";
import { http, useCluster } from "../support/cluster.js";

const token = "correct horse battery staple";

describe("an API with a token", () => {
  const fx = useCluster({ apiToken: token, executors: 1 });

  it.each([
    ["no Authorization header", undefined],
    ["a wrong token", "Bearer wrong"],
    ["a token of the right length but wrong", `Bearer ${"x".repeat(token.length)}`],
    ["the token without Bearer", token],
  ])("refuses a request with %s: 401 with a JSON error", async (_case, authorization) => {
    const response = await fetch(`${fx.url}/status/00000000-0000-0000-0000-000000000000`, { headers: authorization ? { authorization } : {} });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
    expect(await response.json()).toMatchObject({ code: "UNAUTHORIZED", error: expect.stringContaining("Bearer") });
  });

  it("/healthz answers without a token, also with a query string (issue 14, defect 7); other routes still ask for it", async () => {
    expect((await http(fx.url, "GET", "/healthz")).status).toBe(200);
    expect((await http(fx.url, "GET", "/healthz?x=1")).status).toBe(200);
    expect((await http(fx.url, "GET", "/status/00000000-0000-4000-8000-000000000000?healthz")).status).toBe(401);
  });

  it("/cluster needs the token; the dashboard's page and scripts (which hold no data) do not", async () => {
    expect((await http(fx.url, "GET", "/cluster")).status).toBe(401);
    expect((await new FaaSClient({ baseUrl: fx.url, token }).cluster()).mode).toBe("local");
    for (const path of ["/dashboard", "/dashboard/app.js", "/dashboard/style.css", "/dashboard/chart.js"]) {
      const response = await fetch(`${fx.url}${path}`);
      expect(response.status, path).toBe(200);
      expect((await response.text()).length, path).toBeGreaterThan(100);
    }
    const page = await fetch(`${fx.url}/dashboard`);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    // Its links are relative: /dashboard/ is sent to /dashboard.
    const slash = await fetch(`${fx.url}/dashboard/`, { redirect: "manual" });
    expect([slash.status, slash.headers.get("location")]).toEqual([302, "/dashboard"]);
    // Only the dashboard's own files: nothing else is reachable through its path.
    for (const path of ["/dashboard/..%2Fcluster", "/dashboard/index.html", "/dashboard/package.json"]) {
      expect((await http(fx.url, "GET", path)).status, path).toBe(404);
    }
  });

  it("the SDK with the token works; without it, it gets a FaaSError 401", async () => {
    expect(await new FaaSClient({ baseUrl: fx.url, token }).run((x: number) => x + 1, 1)).toBe(2);
    const refused = await new FaaSClient({ baseUrl: fx.url }).register(() => 1).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FaaSError);
    expect(refused).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
  });
});
