/**
 * `npm run perf [-- --quick] [-- --reports DIR]`: runs the performance study and writes
 * reports/performance_report.md with its charts and raw measurements. The full study takes
 * about ten minutes here; --quick is a smoke run of a minute or two.
 */
import { parseArgs } from "node:util";
import { join, relative } from "node:path";
import { packageRoot } from "../system/paths.js";
import { writePerformanceReport } from "./study/report.js";
import { runStudy } from "./study/study.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    reports: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write("usage: npm run perf -- [--quick] [--reports DIR]\n  --quick    a smoke run with small samples (a minute or two)\n  --reports  where to write performance_report.md (default: reports/)\n");
  process.exit(0);
}
const started = Date.now();
const log = (line: string) => process.stderr.write(`[${Math.round((Date.now() - started) / 1000)} s] ${line}\n`);
const measurements = await runStudy({ quick: values.quick, log });
const file = writePerformanceReport(measurements, values.reports ?? join(packageRoot, "reports"));
process.stdout.write(`performance report: ${relative(process.cwd(), file)} (${Math.round((Date.now() - started) / 1000)} s)\n`);
