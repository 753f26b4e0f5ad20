/**
 * Moved to system/status/snapshot.ts. Kept only for system/dispatcher/*, which another branch
 * (issue13-store) is rewriting at the same time: once those import ../status/snapshot.js,
 * delete this file and the folder.
 */
export type { DispatcherSnapshot, WorkerSnapshot } from "../status/snapshot.js";
