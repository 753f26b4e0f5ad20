/**
 * How the executor host process is started: which file, with which Node flags. The flags
 * turn on Node's permission model with the least the host needs:
 *  - reads: only the compiled modules the host and its threads import (the executor, the
 *    codec, the task contract) and the packages they load (devalue, acorn,
 *    acorn-walk); nothing else on disk, not the package's own configuration or any secret;
 *  - worker threads, which the executors are;
 *  - no writes, no child processes, no native addons, no WASI, no inspector (all denied by
 *    the permission model unless allowed);
 * and, beyond the permission model, no code generation from strings anywhere in the process
 * (eval and new Function throw in every realm, not only in the sandboxes).
 * Node prints an ExperimentalWarning and a SecurityWarning (for --allow-worker) at every
 * start; those two kinds (and only those) are silenced so that the worker's logs stay clean.
 */
import { createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(import.meta.url);

/**
 * The compiled host. Node runs it, never vitest: when this module is itself run from source
 * (the tests), the host is the one tsc wrote to dist/.
 */
export const HOST_FILE = here.endsWith(".ts") ? join(dirname(here), "..", "..", "dist", "system", "executor", "host.js") : join(dirname(here), "host.js");

/** The packages the host and its threads import (and nothing they import in turn). */
const HOST_PACKAGES = ["devalue", "acorn", "acorn-walk"];

/** The directory of an installed package, found the way the host itself will resolve it. */
function packageDirectory(name: string): string {
  const entry = createRequire(HOST_FILE).resolve(name);
  const marker = `${sep}node_modules${sep}${name}${sep}`;
  const at = entry.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot find the package directory of ${name} in ${entry}`);
  return entry.slice(0, at + marker.length - 1);
}

/** Everything the host may read: its modules in dist/system and its packages. */
export function hostReadPaths(): string[] {
  const executorDir = dirname(HOST_FILE);
  const systemDir = dirname(executorDir);
  return [executorDir, join(systemDir, "codec"), join(systemDir, "task.js"), ...HOST_PACKAGES.map(packageDirectory)];
}

/** The Node flags of the host process; `extraReads` is for a test's probe script only. */
export function hostExecArgv(extraReads: string[] = []): string[] {
  return [
    "--experimental-permission",
    ...[...hostReadPaths(), ...extraReads].map((path) => `--allow-fs-read=${path}`),
    "--allow-worker",
    // Process-wide: even a host-realm Function that user code reached could not compile code.
    "--disallow-code-generation-from-strings",
    "--disable-warning=ExperimentalWarning",
    "--disable-warning=SecurityWarning",
  ];
}
