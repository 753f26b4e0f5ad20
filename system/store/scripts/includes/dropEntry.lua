--[[
  dropEntry: a task needs no more work: its queue entry leaves the dispatcher's pending list
  (XACK) and the stream (XDEL). `entry_id` is the task's own `entry_id` field; a task stored
  by a faaslab older than that field has none, and its entry is dropped by the dispatcher
  that reads it (TaskStore.dropEntry).
]]
local function drop_entry(queue, group, entry_id)
  if not entry_id then return end
  redis.call("XACK", queue, group, entry_id)
  redis.call("XDEL", queue, entry_id)
end
