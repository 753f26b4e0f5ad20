--[[
  finishTask: RUNNING -> COMPLETED | FAILED (completeTask and failTask). The first terminal
  result recorded wins: a late one (from a worker that was presumed lost) is discarded.

  KEYS[1] task key     KEYS[2] queue stream     KEYS[3] task counts by state     KEYS[4] recent failures
  ARGV[1] consumer group   ARGV[2] queue entry id   ARGV[3] COMPLETED or FAILED
  ARGV[4] serialized result   ARGV[5] executor name   ARGV[6] finished channel
  ARGV[7] task id   ARGV[8] result ttl seconds (0 keeps the task forever)
  ARGV[9] prefix of the functions' unfinished counts (the task's function's is counted down)
  ARGV[10] how many recent failures to keep

  The task counts by state move with it, and a failure is pushed on the recent failures (its
  error kept when it is at most 4 KiB: GET /cluster reads the task for a larger one).

  Publishes "<task id>|<status>|<result>" on the finished channel (just the task id when the
  result is over 64 KiB), so waiting requests need not read the task again.

  Returns: {1, created_at, started_at, finished_at} when this result was recorded (ms by Redis's
  clock; "" for a time the task lacks), for the latency metrics; 0 when the task was already
  terminal (or gone).
]]
redis.call("XACK", KEYS[2], ARGV[1], ARGV[2])
redis.call("XDEL", KEYS[2], ARGV[2])
local task = redis.call("HMGET", KEYS[1], "status", "function_id", "created_at", "started_at")
local status = task[1]
if (not status) or status == "COMPLETED" or status == "FAILED" then
  return 0
end
local unfinished = ARGV[9] .. task[2]
if (tonumber(redis.call("GET", unfinished)) or 0) > 0 then redis.call("DECR", unfinished) end
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call("HSET", KEYS[1], "status", ARGV[3], "result", ARGV[4], "finished_at", now, "executor", ARGV[5])
-- The count of tasks in each state moves with the task (never below 0: see claimTask).
if (tonumber(redis.call("HGET", KEYS[3], status)) or 0) > 0 then redis.call("HINCRBY", KEYS[3], status, -1) end
redis.call("HINCRBY", KEYS[3], ARGV[3], 1)
if ARGV[3] == "FAILED" then
  local MAX_LISTED_ERROR_BYTES = 4096
  local failure = {task_id = ARGV[7], function_id = task[2], at = now, worker = ARGV[5]}
  if #ARGV[4] <= MAX_LISTED_ERROR_BYTES then failure.error = ARGV[4] end
  redis.call("LPUSH", KEYS[4], cjson.encode(failure))
  redis.call("LTRIM", KEYS[4], 0, tonumber(ARGV[10]) - 1)
end
if tonumber(ARGV[8]) > 0 then redis.call("EXPIRE", KEYS[1], ARGV[8]) end
if #ARGV[4] <= 65536 then
  redis.call("PUBLISH", ARGV[6], ARGV[7] .. "|" .. ARGV[3] .. "|" .. ARGV[4])
else
  redis.call("PUBLISH", ARGV[6], ARGV[7])
end
return {1, task[3] or "", task[4] or "", now}
