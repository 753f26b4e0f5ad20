/** faaslab's package root: the client SDK and the codec. */
export { FaaSClient, type FaaSClientOptions, type TaskResult } from "./client.js";
export { FaaSError, TaskFailedError, TaskTimeoutError } from "./errors.js";
export { serialize, deserialize, FunctionSource, CodecError } from "../codec/index.js";
export { pickledArguments, unpickledData, PythonException, PythonObject, type PythonValue } from "../codec/pickle.js";
export { TASK_STATUSES, TaskErrors, isTerminal, type TaskStatus, type TaskRecord, type TaskErrorName } from "../task.js";
export type { ClusterSnapshot, DispatcherSnapshot, WorkerSnapshot, FailureSnapshot, TaskCounts, DispatcherMode } from "../status/snapshot.js";
