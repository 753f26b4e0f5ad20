/** Where faaslab's files are, whether it runs from dist/ or from source (vitest), in a checkout or installed. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "system"))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the faaslab package root above ${start}`);
  }
}

export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
/** The compiled CLI that every component process runs. */
export const cliPath = join(packageRoot, "dist", "system", "cli", "main.js");
