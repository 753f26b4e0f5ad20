--[[
  queueTask: stores a new task as QUEUED and appends it to its function's waiting list, in
  one step (submitTask and submitTasks). A function whose list was empty joins the ready
  ring, so the ring holds exactly the functions with waiting tasks, each once: dispatchers
  serve them in turn (takeTasks), and a task waits behind its own function's backlog only.
  The task gets its queue entry (`entry_id`) when a dispatcher takes it.
]]
local function queue_task(waiting, ready, task_key, task_id, function_id, args, deadline_ms, now)
  local fields = {"function_id", function_id, "args", args, "status", "QUEUED", "created_at", now, "attempts", 0}
  if deadline_ms ~= "" then
    table.insert(fields, "deadline_ms")
    table.insert(fields, deadline_ms)
  end
  redis.call("HSET", task_key, unpack(fields))
  if redis.call("RPUSH", waiting, task_id) == 1 then
    redis.call("RPUSH", ready, function_id)
  end
end
