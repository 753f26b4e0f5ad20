/**
 * An MPCSFaaS user's own client and correctness suite (test/python/mpcs_client_suite.py:
 * urllib, dill, serialize/deserialize as the course's clients write them), run unmodified by the
 * OS's CPython against a faaslab cluster in each mode, its project directory on the workers'
 * --python-path for the functions dill pickles by reference.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { useCluster } from "../support/cluster.js";

const suite = fileURLToPath(new URL("../python/mpcs_client_suite.py", import.meta.url));
const project = fileURLToPath(new URL("../python/mpcs_project", import.meta.url));

function runSuite(url: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    // An empty environment but for the URL: the suite needs nothing of this process's.
    execFile("/usr/bin/python3", [suite], { env: { FAAS_URL: url }, timeout: 240_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe.each(["local", "pull", "push"] as const)("%s: the MPCSFaaS client suite", (mode) => {
  const fx = useCluster({ mode, executors: 2, workers: { count: 2, executors: 2 }, python: { pythonPath: [project] } });

  it("passes unmodified: registration, execution, statuses, errors, recursion, large arguments, kwargs, by-reference functions, deadlines, 200 random concurrent tasks", { timeout: 240_000 }, async () => {
    const { code, output } = await runSuite(fx.url);
    expect(output).toMatch(/Ran 1[0-9] tests/);
    expect(code, output).toBe(0);
    expect(output).toMatch(/\nOK\n?$/);
  });
});
