/** Where faaslab's files are, whether it runs from dist/ or from source (vitest), in a checkout or installed. */
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
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

/** The absolute path of an executable, looked up in PATH as a shell would when it has no slash; undefined when absent. */
export function findExecutable(command: string): string | undefined {
  const candidates = command.includes("/") ? [resolve(command)] : (process.env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return undefined;
}
