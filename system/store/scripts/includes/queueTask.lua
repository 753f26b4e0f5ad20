--[[
  queueTask: stores a new task as QUEUED and appends it to the queue stream, in one step
  (submitTask and submitTasks). The stream entry's id is kept in the task (`entry_id`), so
  the transitions that end the task find the entry to drop from the task id alone: workers
  and the wire protocol never see it.
]]
local function queue_task(queue, task_key, task_id, function_id, args, deadline_ms, now)
  local entry_id = redis.call("XADD", queue, "*", "task", task_id)
  local fields = {"function_id", function_id, "args", args, "status", "QUEUED", "created_at", now, "attempts", 0, "entry_id", entry_id}
  if deadline_ms ~= "" then
    table.insert(fields, "deadline_ms")
    table.insert(fields, deadline_ms)
  end
  redis.call("HSET", task_key, unpack(fields))
end
