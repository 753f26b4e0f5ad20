--[[
  takeTasks: reads up to COUNT new queue entries for this dispatcher (a non-blocking
  XREADGROUP) together with what dispatching each needs, in one step. Tasks keep their
  state: this only hands them on (claimTask marks them RUNNING when an executor starts).

  KEYS[1] queue stream
  ARGV[1] consumer group   ARGV[2] consumer name   ARGV[3] count   ARGV[4] task key prefix

  Returns: {entryId, taskId, status, functionId, args, deadlineMs, attempts, ...} (7 per
  entry; missing fields as ""), empty when the queue has nothing new.
  Publishes: nothing.
]]
local reply = redis.call("XREADGROUP", "GROUP", ARGV[1], ARGV[2], "COUNT", ARGV[3], "STREAMS", KEYS[1], ">")
local out = {}
if not reply then return out end
for _, entry in ipairs(reply[1][2]) do
  local taskId
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == "task" then taskId = fields[i + 1] end
  end
  if taskId then
    local task = redis.call("HMGET", ARGV[4] .. taskId, "status", "function_id", "args", "deadline_ms", "attempts")
    table.insert(out, entry[1])
    table.insert(out, taskId)
    for i = 1, 5 do table.insert(out, task[i] or "") end
  end
end
return out
