/**
 * An MPCSFaaS user's own client and correctness suite (test/python/mpcs_client_suite.py:
 * urllib, dill, serialize/deserialize as the course's clients write them), run unmodified by the
 * OS's CPython against a faaslab cluster in each mode, its project directory on the workers'
 * --python-path for the functions dill pickles by reference.
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
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

describe("the README's Python client", () => {
  const fx = useCluster({ executors: 1 });

  it("runs as written (the API's address aside) and prints COMPLETED 42", async () => {
    const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
    const example = /```python\n(import codecs, dill, json, time[\s\S]*?)```/.exec(readme)?.[1];
    expect(example, "the README's Python client example").toBeDefined();
    const output = execFileSync("/usr/bin/python3", ["-c", example!.replace("http://127.0.0.1:8000", fx.url)], { encoding: "utf8", env: {} });
    expect(output).toBe("COMPLETED 42\n");
  });
});
