/** The correctness suite in local mode (one file per mode, so the modes run in parallel). */
import { correctnessSuite } from "./correctness.suite.js";

correctnessSuite("local mode", { mode: "local", executors: 4 });
