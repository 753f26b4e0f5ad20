--[[
  finishTask: RUNNING -> COMPLETED | FAILED (and QUEUED -> FAILED, for a task that cannot be
  sent: its function is missing). The first terminal result recorded wins: a late one (from
  a worker that was presumed lost) is discarded. The terminal step itself is finish's.

  KEYS[1] task key     KEYS[2] queue stream     KEYS[3] task counts by state     KEYS[4] recent failures
  ARGV[1] consumer group   ARGV[2] finished channel   ARGV[3] task id
  ARGV[4] result ttl seconds (0 keeps the task forever)
  ARGV[5] prefix of the functions' unfinished counts (the task's function's is counted down)
  ARGV[6] how many recent failures to keep
  ARGV[7] COMPLETED or FAILED   ARGV[8] serialized result   ARGV[9] executor name

  Returns: {Code.Ok, created_at, started_at, finished_at} when this result was recorded (ms by
           Redis's clock; "" for a time the task lacks), for the latency metrics;
           {Code.TaskFinished} when the task already had a result (its queue entry is dropped);
           {Code.TaskMissing} when the task does not exist.

  Publishes: "<task id>|<status>|<result>" on the finished channel (the task id alone when the
  result is over 64 KiB).
]]
--- @include "now"
--- @include "finish"

local task = redis.call("HMGET", KEYS[1], "status", "function_id", "created_at", "started_at", "entry_id")
local status = task[1]
if not status then
  return {Code.TaskMissing}
end
if status == "COMPLETED" or status == "FAILED" then
  drop_entry(KEYS[2], ARGV[1], task[5])
  return {Code.TaskFinished}
end
local now = now_ms()
finish({status = status, function_id = task[2], entry_id = task[5]}, ARGV[7], ARGV[8], ARGV[9], ARGV[9], now)
return {Code.Ok, task[3] or "", task[4] or "", now}
