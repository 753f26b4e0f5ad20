// Copies the files that tsc does not emit (the Lua scripts of the task store, the dashboard's page,
// the Python executor's zygote) into dist/.
import { cpSync } from "node:fs";
cpSync("system/store/scripts", "dist/system/store/scripts", { recursive: true });
cpSync("system/api/dashboard", "dist/system/api/dashboard", { recursive: true });
cpSync("system/executor/python", "dist/system/executor/python", { recursive: true, filter: (source) => !source.includes("__pycache__") });
