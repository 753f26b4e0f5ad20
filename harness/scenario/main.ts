#!/usr/bin/env node
/** `npm run scenario <name-or-path> [--seed N] [--target T --target-dir DIR]`, `npm run scenario -- --list`. */
import { Command, InvalidArgumentError } from "commander";
import { relative } from "node:path";
import { seedFromEnv } from "../random.js";
import { listScenarios, loadScenario, ScenarioError } from "./load.js";
import { Progress } from "./progress.js";
import { schemaReference } from "./reference.js";
import { exitCodeOf, runScenario } from "./runner.js";
import { runLabel } from "../report/markdown.js";
import { listTargets, TargetError } from "../target/load.js";

const program = new Command("scenario")
  .description("run a declarative scenario against a real cluster and write its report (by default in a folder of its own under runs/)")
  .argument("[scenario]", "a name from scenarios/ or a path to a .yaml file")
  .option("--list", "list the scenarios with their descriptions")
  .option("--schema", "print the reference of the scenario format (every field, its type, default and meaning)")
  .option("--seed <n>", "seed of the workload's randomness (default: the scenario's, else random)", (value) => {
    const seed = Number(value);
    if (!Number.isInteger(seed) || seed < 1) throw new InvalidArgumentError(`--seed must be a positive integer, got "${value}"`);
    return seed;
  })
  .option("--target <name-or-path>", "run against this target instead of the scenario's (a name from targets/, or a path to a target file); repeat for several, side by side", (value: string, previous: string[] = []) => [...previous, value])
  .option("--target-dir <dir>", "the directory of the implementation a target runs (its {dir}), e.g. your MPCSFaaS checkout")
  .option("--list-targets", "list the targets with their descriptions")
  .option("--reports <dir>", "write the report here, as <dir>/<name>.md and <dir>/<name>/ (default: runs/<time>-<name>/; give reports to refresh the curated reports)")
  .showHelpAfterError("(run with --help for usage)")
  .action(async (name: string | undefined, options: { list?: boolean; schema?: boolean; seed?: number; reports?: string; target?: string[]; targetDir?: string; listTargets?: boolean }) => {
    if (options.listTargets) {
      const targets = listTargets();
      const width = Math.max(...targets.map((t) => t.name.length), 8);
      for (const target of targets) process.stdout.write(`${target.name.padEnd(width)}  ${target.description}\n`);
      return;
    }
    if (options.schema) {
      process.stdout.write(schemaReference());
      return;
    }
    if (options.list || !name) {
      const scenarios = listScenarios();
      const width = Math.max(...scenarios.map((s) => s.name.length), 8);
      for (const scenario of scenarios) process.stdout.write(`${scenario.name.padEnd(width)}  ${scenario.description}\n`);
      if (!name && !options.list) process.stdout.write("\nrun one with: npm run scenario <name>\n");
      return;
    }
    const { scenario, file } = loadScenario(name);
    const seed = options.seed ?? scenario.workload.seed ?? seedFromEnv();
    const interrupt = new AbortController();
    let firstInterrupt = 0;
    process.on("SIGINT", () => {
      // `npm run` forwards the terminal's SIGINT, which the harness also gets from the terminal:
      // two within a second are one Ctrl-C.
      if (!interrupt.signal.aborted) {
        firstInterrupt = Date.now();
        process.stderr.write("\ninterrupted: stopping the workload, healing, draining, tearing down and writing the report (Ctrl-C again to quit at once)\n");
        interrupt.abort();
      } else if (Date.now() - firstInterrupt > 1000) {
        process.exit(130);
      }
    });
    // Last resort: an error no part of the run caught fails the run and is named in its report, never ends it.
    const harnessErrors: string[] = [];
    process.on("unhandledRejection", (error) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`scenario: an error of the harness (recorded in the report): ${message}\n`);
      harnessErrors.push(message.split("\n")[0]);
    });
    process.stderr.write(`scenario ${scenario.name} (${relative(process.cwd(), file)}), seed ${seed}\n`);
    const outcome = await runScenario(scenario, file, {
      seed, reportsDir: options.reports, signal: interrupt.signal, progress: new Progress(), harnessErrors,
      ...(options.target ? { targets: options.target } : {}), ...(options.targetDir ? { targetDir: options.targetDir } : {}),
    });
    const verdict = outcome.passed ? "PASS" : interrupt.signal.aborted ? "INTERRUPTED" : "FAIL";
    process.stdout.write(`${verdict}: ${scenario.name}, report in ${relative(process.cwd(), outcome.reportFile)}\n`);
    for (const run of outcome.report.runs) {
      const label = runLabel(run);
      if (run.notApplicable) process.stdout.write(`  ${label} n/a: ${run.notApplicable}\n`);
      if (run.schedule) process.stdout.write(`  ${label} schedule digest ${run.schedule.digest}\n`);
      for (const check of run.checks) process.stdout.write(`  ${label} ${check.verdict.padEnd(7)} ${check.name}: ${check.figure}\n`);
      if (run.aborted) process.stdout.write(`  ${label} ended early: ${run.aborted}\n`);
    }
    process.exitCode = exitCodeOf(outcome, interrupt.signal.aborted);
  });

program.parseAsync(process.argv).catch((error) => {
  process.stderr.write(`scenario: ${error instanceof ScenarioError || error instanceof TargetError ? error.message : (error as Error).stack ?? error}\n`);
  process.exit(2);
});
