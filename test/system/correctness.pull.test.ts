/** The correctness suite in pull mode (one file per mode, so the modes run in parallel). */
import { correctnessSuite } from "./correctness.suite.js";

correctnessSuite("pull mode", { mode: "pull", workers: { count: 2, executors: 2 } });
