--[[
  counts: the hash of task counts by state (QUEUED, RUNNING, COMPLETED, FAILED) that
  GET /cluster shows. The scripts move it with the tasks, in the same step, so the counts
  survive a Redis restart exactly as the tasks do. A count is never taken below 0: a task
  queued before the counts existed (an older faaslab) is not counted (faas recount fixes that).
]]
local function count_add(counts, state, n)
  redis.call("HINCRBY", counts, state, n)
end

local function count_move(counts, from, to)
  if (tonumber(redis.call("HGET", counts, from)) or 0) > 0 then redis.call("HINCRBY", counts, from, -1) end
  redis.call("HINCRBY", counts, to, 1)
end
