--[[
  submitTask: (nothing) -> QUEUED. Creates a task and appends it to the queue, in one step,
  so a task is never stored without being queued nor queued without being stored.

  It also counts the function's unfinished tasks (finishTask and claimTask count them down),
  and refuses the task when that count is at the bound: backpressure per function.

  KEYS[1] function key     KEYS[2] task key     KEYS[3] queue stream     KEYS[4] the function's unfinished count
  KEYS[5] task counts by state
  ARGV[1] task id   ARGV[2] function id   ARGV[3] serialized arguments   ARGV[4] deadline ms ("" for the default)
  ARGV[5] most unfinished tasks of one function (0: no bound)

  Returns: the task's created_at (ms, Redis clock), -1 if the function does not exist,
           or -2 if the function already has its most unfinished tasks.
]]
if redis.call("EXISTS", KEYS[1]) == 0 then
  return -1
end
-- Run again with the same task id (a client library resends a command whose reply was lost
-- with its connection): the task exists already, so nothing changes.
if redis.call("EXISTS", KEYS[2]) == 1 then
  return tonumber(redis.call("HGET", KEYS[2], "created_at"))
end
local bound = tonumber(ARGV[5])
if bound > 0 and (tonumber(redis.call("GET", KEYS[4])) or 0) >= bound then
  return -2
end
redis.call("INCR", KEYS[4])
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local fields = {"function_id", ARGV[2], "args", ARGV[3], "status", "QUEUED", "created_at", now, "attempts", 0}
if ARGV[4] ~= "" then
  table.insert(fields, "deadline_ms")
  table.insert(fields, ARGV[4])
end
redis.call("HSET", KEYS[2], unpack(fields))
redis.call("HINCRBY", KEYS[5], "QUEUED", 1)
redis.call("XADD", KEYS[3], "*", "task", ARGV[1])
return now
