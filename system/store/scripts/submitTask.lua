--[[
  submitTask: (nothing) -> QUEUED. Creates a task and appends it to its function's waiting
  list, in one step (queueTask), so a task is never stored without being queued nor queued
  without being stored.

  It also counts the function's unfinished tasks (finish counts them down), and refuses the
  task when that count is at the bound: backpressure per function.

  KEYS[1] function key     KEYS[2] task key     KEYS[3] the function's waiting list     KEYS[4] the function's unfinished count
  KEYS[5] task counts by state
  ARGV[1] task id   ARGV[2] function id   ARGV[3] serialized arguments   ARGV[4] deadline ms ("" for the default)
  ARGV[5] most unfinished tasks of one function (0: no bound)
  ARGV[6] prefix of the ready rings (the function's runtime follows it)
  ARGV[7] the submissions stream (its new entry wakes idle dispatchers)

  Returns: the task's created_at (ms, Redis clock; 0 or more), Code.FunctionMissing if the
           function does not exist, or Code.FunctionBusy if the function already has its most
           unfinished tasks.
  Publishes: nothing.
]]
--- @include "now"
--- @include "counts"
--- @include "queueTask"

if redis.call("EXISTS", KEYS[1]) == 0 then
  return Code.FunctionMissing
end
-- Run again with the same task id (a client library resends a command whose reply was lost
-- with its connection): the task exists already, so nothing changes.
if redis.call("EXISTS", KEYS[2]) == 1 then
  return tonumber(redis.call("HGET", KEYS[2], "created_at"))
end
local bound = tonumber(ARGV[5])
if bound > 0 and (tonumber(redis.call("GET", KEYS[4])) or 0) >= bound then
  return Code.FunctionBusy
end
redis.call("INCR", KEYS[4])
local now = now_ms()
local runtime = function_runtime(KEYS[1])
queue_task(KEYS[3], ARGV[6] .. runtime, KEYS[2], ARGV[1], ARGV[2], runtime, ARGV[3], ARGV[4], now)
announce_submission(ARGV[7], runtime)
count_add(KEYS[5], "QUEUED", 1)
return now
