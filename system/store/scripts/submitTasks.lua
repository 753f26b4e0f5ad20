--[[
  submitTasks: (nothing) -> QUEUED for a batch, all or none: the batch form of submitTask.
  The function's existence is checked first, so either every task is stored and queued or
  none is.

  KEYS[1] function key     KEYS[2] queue stream     KEYS[3] the function's unfinished count
  KEYS[4] task counts by state
  ARGV[1] task key prefix   ARGV[2] function id   ARGV[3] deadline ms ("" for the default)
  ARGV[4] most unfinished tasks of one function (0: no bound)
  ARGV[5], ARGV[6], ...: task id, serialized arguments, task id, serialized arguments, ...

  Returns: the tasks' created_at (ms, Redis clock), -1 if the function does not exist, or -2
           if the batch would take the function past its most unfinished tasks (none is stored).
]]
if redis.call("EXISTS", KEYS[1]) == 0 then
  return -1
end
-- Run again with the same task ids (a resend after a lost reply): the batch exists already.
if redis.call("EXISTS", ARGV[1] .. ARGV[5]) == 1 then
  return tonumber(redis.call("HGET", ARGV[1] .. ARGV[5], "created_at"))
end
local count = (#ARGV - 4) / 2
local bound = tonumber(ARGV[4])
if bound > 0 and (tonumber(redis.call("GET", KEYS[3])) or 0) + count > bound then
  return -2
end
redis.call("INCRBY", KEYS[3], count)
redis.call("HINCRBY", KEYS[4], "QUEUED", count)
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for i = 5, #ARGV, 2 do
  local fields = {"function_id", ARGV[2], "args", ARGV[i + 1], "status", "QUEUED", "created_at", now, "attempts", 0}
  if ARGV[3] ~= "" then
    table.insert(fields, "deadline_ms")
    table.insert(fields, ARGV[3])
  end
  redis.call("HSET", ARGV[1] .. ARGV[i], unpack(fields))
  redis.call("XADD", KEYS[2], "*", "task", ARGV[i])
end
return now
