--[[
  submitTask: (nothing) -> QUEUED. Creates a task and appends it to the queue, in one step,
  so a task is never stored without being queued nor queued without being stored.

  KEYS[1] function key     KEYS[2] task key     KEYS[3] queue stream
  ARGV[1] task id   ARGV[2] function id   ARGV[3] serialized arguments   ARGV[4] deadline ms ("" for the default)

  Returns: the task's created_at (ms, Redis clock), or -1 if the function does not exist.
]]
if redis.call("EXISTS", KEYS[1]) == 0 then
  return -1
end
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local fields = {"function_id", ARGV[2], "args", ARGV[3], "status", "QUEUED", "created_at", now, "attempts", 0}
if ARGV[4] ~= "" then
  table.insert(fields, "deadline_ms")
  table.insert(fields, ARGV[4])
end
redis.call("HSET", KEYS[2], unpack(fields))
redis.call("XADD", KEYS[3], "*", "task", ARGV[1])
return now
