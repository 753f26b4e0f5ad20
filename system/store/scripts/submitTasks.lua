--[[
  submitTasks: (nothing) -> QUEUED for a batch, all or none: the batch form of submitTask.
  The function's existence is checked first, so either every task is stored and queued or
  none is.

  KEYS[1] function key     KEYS[2] queue stream
  ARGV[1] task key prefix   ARGV[2] function id   ARGV[3] deadline ms ("" for the default)
  ARGV[4], ARGV[5], ...: task id, serialized arguments, task id, serialized arguments, ...

  Returns: the tasks' created_at (ms, Redis clock), or -1 if the function does not exist.
]]
if redis.call("EXISTS", KEYS[1]) == 0 then
  return -1
end
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for i = 4, #ARGV, 2 do
  local fields = {"function_id", ARGV[2], "args", ARGV[i + 1], "status", "QUEUED", "created_at", now, "attempts", 0}
  if ARGV[3] ~= "" then
    table.insert(fields, "deadline_ms")
    table.insert(fields, ARGV[3])
  end
  redis.call("HSET", ARGV[1] .. ARGV[i], unpack(fields))
  redis.call("XADD", KEYS[2], "*", "task", ARGV[i])
end
return now
