--[[
  claimTask: QUEUED | RUNNING -> RUNNING. An executor is about to start the task. RUNNING
  may be claimed again: that is a re-run after its worker or dispatcher was lost. A task
  that was already claimed max-attempts times is failed with WorkerLost instead (finish).

  KEYS[1] task key     KEYS[2] queue stream     KEYS[3] task counts by state     KEYS[4] recent failures
  ARGV[1] consumer group   ARGV[2] finished channel   ARGV[3] task id
  ARGV[4] result ttl seconds (0 keeps the task forever)
  ARGV[5] prefix of the functions' unfinished counts (counted down when it fails the task)
  ARGV[6] how many recent failures to keep
  ARGV[7] worker name   ARGV[8] max attempts   ARGV[9] serialized WorkerLost error (faaslab's codec)
  ARGV[10] the same error for a Python task (a pickled built-in exception)

  Returns: {Code.Ok, function_id, args, deadline_ms or "", attempts, runtime} when claimed;
           {Code.TaskFinished, status} when the task is already terminal (its queue entry is dropped);
           {Code.TaskMissing} when the task does not exist (the dispatcher drops the entry it read);
           {Code.AttemptsExhausted} when it was failed with WorkerLost.

  Publishes (WorkerLost only): "<task id>|FAILED|<error>" on the finished channel.
]]
--- @include "now"
--- @include "finish"

local task = redis.call("HMGET", KEYS[1], "status", "function_id", "args", "deadline_ms", "attempts", "entry_id", "runtime")
local status = task[1]
if not status then
  return {Code.TaskMissing}
end
if status == "COMPLETED" or status == "FAILED" then
  drop_entry(KEYS[2], ARGV[1], task[6])
  return {Code.TaskFinished, status}
end
local now = now_ms()
local attempts = tonumber(task[5]) or 0
if attempts >= tonumber(ARGV[8]) then
  local lost = ARGV[9]
  if task[7] == "python" then lost = ARGV[10] end
  finish({status = status, function_id = task[2], entry_id = task[6]}, "FAILED", lost, nil, ARGV[7], now)
  return {Code.AttemptsExhausted}
end
attempts = attempts + 1
if status == "QUEUED" then count_move(KEYS[3], "QUEUED", "RUNNING") end
redis.call("HSET", KEYS[1], "status", "RUNNING", "started_at", now, "attempts", attempts, "worker", ARGV[7])
return {Code.Ok, task[2], task[3], task[4] or "", attempts, task[7] or "javascript"}
