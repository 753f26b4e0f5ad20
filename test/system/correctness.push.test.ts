/** The correctness suite in push mode (one file per mode, so the modes run in parallel). */
import { correctnessSuite } from "./correctness.suite.js";

correctnessSuite("push mode", { mode: "push", workers: { count: 2, executors: 2 } });
