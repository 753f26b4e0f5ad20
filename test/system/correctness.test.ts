/** The correctness suite in every dispatcher mode. */
import { correctnessSuite } from "./correctness.suite.js";

correctnessSuite("local mode", { mode: "local" });
