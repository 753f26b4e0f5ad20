--[[
  finish: a task's terminal step, written once for both transitions that end a task:
  finishTask (an executor's result) and claimTask (WorkerLost, once attempts are used up).
  In one step it
  - sets the task's status, result and finished_at (and executor, when one produced the result);
  - moves the task counts by state, and counts down its function's unfinished tasks;
  - pushes a failure on the recent failures, keeping as many as the caller says (the error is
    kept there when it is at most 4 KiB: GET /cluster reads the task for a larger one);
  - expires the task after the result ttl (0 keeps it);
  - drops its queue entry (dropEntry);
  - publishes "<task id>|<status>|<result>" on the finished channel (the task id alone when the
    result is over 64 KiB), so waiting requests need not read the task again.

  A script that includes it starts its keys and arguments with these (its own follow):
  KEYS[1] task key   KEYS[2] queue stream   KEYS[3] task counts by state   KEYS[4] recent failures
  ARGV[1] consumer group   ARGV[2] finished channel   ARGV[3] task id
  ARGV[4] result ttl seconds (0 keeps the task forever)
  ARGV[5] prefix of the functions' unfinished counts   ARGV[6] how many recent failures to keep

  finish(task, status, result, executor, recorder, now):
    task      {status, function_id, entry_id} as read from the task (status: the state it leaves)
    executor  the executor that produced the result, or nil (WorkerLost has none)
    recorder  who the recent failures say recorded it: the executor; for WorkerLost, the
              dispatcher or worker that would have run the task again
]]
--- @include "counts"
--- @include "dropEntry"

local MAX_LISTED_ERROR_BYTES = 4096
local MAX_PUBLISHED_RESULT_BYTES = 65536

local function finish(task, status, result, executor, recorder, now)
  local fields = {"status", status, "result", result, "finished_at", now}
  if executor then
    table.insert(fields, "executor")
    table.insert(fields, executor)
  end
  redis.call("HSET", KEYS[1], unpack(fields))
  count_move(KEYS[3], task.status, status)
  local unfinished = ARGV[5] .. task.function_id
  if (tonumber(redis.call("GET", unfinished)) or 0) > 0 then redis.call("DECR", unfinished) end
  if status == "FAILED" then
    local failure = {task_id = ARGV[3], function_id = task.function_id, at = now, worker = recorder}
    if #result <= MAX_LISTED_ERROR_BYTES then failure.error = result end
    redis.call("LPUSH", KEYS[4], cjson.encode(failure))
    redis.call("LTRIM", KEYS[4], 0, tonumber(ARGV[6]) - 1)
  end
  if tonumber(ARGV[4]) > 0 then redis.call("EXPIRE", KEYS[1], ARGV[4]) end
  drop_entry(KEYS[2], ARGV[1], task.entry_id)
  if #result <= MAX_PUBLISHED_RESULT_BYTES then
    redis.call("PUBLISH", ARGV[2], ARGV[3] .. "|" .. status .. "|" .. result)
  else
    redis.call("PUBLISH", ARGV[2], ARGV[3])
  end
end
