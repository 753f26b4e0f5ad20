/**
 * The README's SDK example runs as written: examples/sdk.mjs, plain ESM importing "faaslab"
 * (the package's self-reference), run with node against a live cluster, and the README's
 * snippet is that file's code.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { packageRoot } from "../../system/paths.js";
import { useCluster } from "../support/cluster.js";

const example = join(packageRoot, "examples", "sdk.mjs");

describe("examples/sdk.mjs", () => {
  const fx = useCluster({ executors: 1 });

  it("runs with node against a live cluster and prints what the README says", async () => {
    const result = await execa(process.execPath, [example], {
      reject: false, timeout: 30_000, env: { FAAS_API_URL: fx.url, FAAS_API_TOKEN: "" },
      // From outside the package's directory: "faaslab" resolves from the file, not the cwd.
      cwd: join(packageRoot, "test"),
    });
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    const [status, product, cube, ...rest] = result.stdout.split("\n");
    expect(["QUEUED", "RUNNING", "COMPLETED"]).toContain(status);
    expect(product).toBe("42");
    expect(cube).toBe("343n");
    expect(rest).toEqual([]);
  });

  it("is the README's SDK snippet, line for line", () => {
    const code = (text: string) => text.split("\n").filter((line) => line.trim() !== "");
    const file = readFileSync(example, "utf8");
    const fromImport = code(file.slice(file.indexOf('import { FaaSClient } from "faaslab";')));
    const readme = readFileSync(join(packageRoot, "README.md"), "utf8");
    const snippet = /```js\n(import \{ FaaSClient \} from "faaslab";\n[\s\S]*?)```/.exec(readme);
    expect(snippet, "a ```js block in README.md starting with the import of faaslab").not.toBeNull();
    expect(code(snippet![1])).toEqual(fromImport);
  });
});
