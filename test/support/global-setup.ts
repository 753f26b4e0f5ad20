/** Rebuilds dist/ before any test runs, so no test ever exercises a stale build. */
import { execFileSync } from "node:child_process";
import { packageRoot } from "../../system/paths.js";

export default function setup(): void {
  execFileSync(process.execPath, [`${packageRoot}/node_modules/typescript/bin/tsc`, "-p", "tsconfig.build.json"], {
    cwd: packageRoot,
    stdio: "inherit",
  });
  execFileSync(process.execPath, ["scripts/copy-assets.mjs"], { cwd: packageRoot, stdio: "inherit" });
}
