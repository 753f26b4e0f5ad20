--[[
  claimTask: QUEUED | RUNNING -> RUNNING. An executor is about to start the task. RUNNING
  may be claimed again: that is a re-run after its worker or dispatcher was lost. A task
  that was already claimed max-attempts times is failed with WorkerLost instead.

  KEYS[1] task key     KEYS[2] queue stream     KEYS[3] task counts by state     KEYS[4] recent failures
  ARGV[1] consumer group   ARGV[2] queue entry id   ARGV[3] worker name
  ARGV[4] max attempts     ARGV[5] serialized WorkerLost error   ARGV[6] finished channel
  ARGV[7] task id          ARGV[8] result ttl seconds (0 keeps the task forever)
  ARGV[9] prefix of the functions' unfinished counts (counted down when it fails the task)
  ARGV[10] how many recent failures to keep

  Returns: {1, function_id, args, deadline_ms or "", attempts} when claimed;
           {0, status} when the task is already terminal (its queue entry is dropped);
           {-1} when the task does not exist (its queue entry is dropped);
           {-2} when it was failed with WorkerLost.
]]
local function drop_entry()
  redis.call("XACK", KEYS[2], ARGV[1], ARGV[2])
  redis.call("XDEL", KEYS[2], ARGV[2])
end

-- The count of tasks in each state moves with the task. It is never taken below 0: a task
-- queued before the counts existed (an older faaslab) is not counted (faas recount fixes that).
local function count_move(from, to)
  if (tonumber(redis.call("HGET", KEYS[3], from)) or 0) > 0 then redis.call("HINCRBY", KEYS[3], from, -1) end
  redis.call("HINCRBY", KEYS[3], to, 1)
end

local task = redis.call("HMGET", KEYS[1], "status", "function_id", "args", "deadline_ms", "attempts")
local status = task[1]
if not status then
  drop_entry()
  return {-1}
end
if status == "COMPLETED" or status == "FAILED" then
  drop_entry()
  return {0, status}
end
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local attempts = tonumber(task[5]) or 0
if attempts >= tonumber(ARGV[4]) then
  redis.call("HSET", KEYS[1], "status", "FAILED", "result", ARGV[5], "finished_at", now)
  count_move(status, "FAILED")
  redis.call("LPUSH", KEYS[4], cjson.encode({task_id = ARGV[7], function_id = task[2], at = now, worker = ARGV[3], error = ARGV[5]}))
  redis.call("LTRIM", KEYS[4], 0, tonumber(ARGV[10]) - 1)
  local unfinished = ARGV[9] .. task[2]
  if (tonumber(redis.call("GET", unfinished)) or 0) > 0 then redis.call("DECR", unfinished) end
  if tonumber(ARGV[8]) > 0 then redis.call("EXPIRE", KEYS[1], ARGV[8]) end
  drop_entry()
  redis.call("PUBLISH", ARGV[6], ARGV[7] .. "|FAILED|" .. ARGV[5])
  return {-2}
end
attempts = attempts + 1
if status == "QUEUED" then count_move("QUEUED", "RUNNING") end
redis.call("HSET", KEYS[1], "status", "RUNNING", "started_at", now, "attempts", attempts, "worker", ARGV[3])
return {1, task[2], task[3], task[4] or "", attempts}
