--[[
  submitTasks: (nothing) -> QUEUED for a batch, all or none: the batch form of submitTask.
  The function's existence and its bound are checked first, so either every task is stored
  and queued (queueTask) or none is.

  KEYS[1] function key     KEYS[2] the function's waiting list     KEYS[3] the function's unfinished count
  KEYS[4] task counts by state
  ARGV[1] task key prefix   ARGV[2] function id   ARGV[3] deadline ms ("" for the default)
  ARGV[4] most unfinished tasks of one function (0: no bound)
  ARGV[5] prefix of the ready rings (the function's runtime follows it)
  ARGV[6] the submissions stream (one entry for the batch wakes idle dispatchers)
  ARGV[7], ARGV[8], ...: task id, serialized arguments, task id, serialized arguments, ...

  Returns: the tasks' created_at (ms, Redis clock; 0 or more), Code.FunctionMissing if the
           function does not exist, or Code.FunctionBusy if the batch would take the function
           past its most unfinished tasks (none is stored).
  Publishes: nothing.
]]
--- @include "now"
--- @include "counts"
--- @include "queueTask"

if redis.call("EXISTS", KEYS[1]) == 0 then
  return Code.FunctionMissing
end
-- Run again with the same task ids (a resend after a lost reply): the batch exists already.
if redis.call("EXISTS", ARGV[1] .. ARGV[7]) == 1 then
  return tonumber(redis.call("HGET", ARGV[1] .. ARGV[7], "created_at"))
end
local count = (#ARGV - 6) / 2
local bound = tonumber(ARGV[4])
if bound > 0 and (tonumber(redis.call("GET", KEYS[3])) or 0) + count > bound then
  return Code.FunctionBusy
end
redis.call("INCRBY", KEYS[3], count)
count_add(KEYS[4], "QUEUED", count)
local now = now_ms()
local runtime = function_runtime(KEYS[1])
for i = 7, #ARGV, 2 do
  queue_task(KEYS[2], ARGV[5] .. runtime, ARGV[1] .. ARGV[i], ARGV[i], ARGV[2], runtime, ARGV[i + 1], ARGV[3], now)
end
announce_submission(ARGV[6], runtime)
return now
