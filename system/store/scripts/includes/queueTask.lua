--[[
  queueTask: stores a new task as QUEUED and appends it to its function's waiting list, in
  one step (submitTask and submitTasks). A function whose list was empty joins the ready
  ring of its runtime, so each ring holds exactly the functions with waiting tasks, each once:
  dispatchers serve them in turn (takeTasks), and a task waits behind its own function's
  backlog only. The task records its function's runtime (absent: javascript), and gets its
  queue entry (`entry_id`) when a dispatcher takes it.

  function_runtime(function_key): the runtime a function was registered with.
  announce_submission(stream, runtime): one entry on the submissions stream, which idle
  dispatchers block on (trimmed: only its last id matters).
]]
local function announce_submission(stream, runtime)
  redis.call("XADD", stream, "MAXLEN", "~", 1000, "*", "runtime", runtime)
end

local function function_runtime(function_key)
  local runtime = redis.call("HGET", function_key, "runtime")
  if not runtime then return "javascript" end
  return runtime
end

local function queue_task(waiting, ready, task_key, task_id, function_id, runtime, args, deadline_ms, now)
  local fields = {"function_id", function_id, "args", args, "status", "QUEUED", "created_at", now, "attempts", 0}
  if runtime ~= "javascript" then
    table.insert(fields, "runtime")
    table.insert(fields, runtime)
  end
  if deadline_ms ~= "" then
    table.insert(fields, "deadline_ms")
    table.insert(fields, deadline_ms)
  end
  redis.call("HSET", task_key, unpack(fields))
  if redis.call("RPUSH", waiting, task_id) == 1 then
    redis.call("RPUSH", ready, function_id)
  end
end
