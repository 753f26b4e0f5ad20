--[[
  takeTasks: QUEUED tasks leave their functions' waiting lists for this dispatcher, up to
  COUNT, one function at a time in turn (round-robin over each runtime's ready ring, and
  across the runtimes in turn), so one function's backlog does not hold back another's tasks,
  and a runtime's tasks are taken only while this dispatcher has room for them (a Python
  task stays QUEUED in Redis while no Python executor is free). Each task taken gets a queue
  entry delivered to this dispatcher (its pending list says who holds it, for takeover), and
  is returned with what dispatching it needs, in one step. Tasks keep their state: claimTask
  marks them RUNNING when an executor starts.

  Entries already in the stream and not yet delivered (queued by an older faaslab, or left
  when the group was lost) are delivered first.

  KEYS[1] queue stream
  ARGV[1] consumer group   ARGV[2] consumer name   ARGV[3] count   ARGV[4] task key prefix
  ARGV[5] waiting list prefix (the function id follows it)
  ARGV[6] "1" to return each task's fields, "0" for the ids alone
  ARGV[7] prefix of the ready rings (a runtime follows it)
  ARGV[8] the submissions stream
  ARGV[9], ARGV[10], ...: runtime, most tasks of that runtime to take, runtime, most, ...

  Returns: {lastSubmission, entryId, taskId, status, functionId, args, deadlineMs, attempts,
  runtime, ...}: the submissions stream's last id ("0-0" when empty: what an idle dispatcher
  waits after), then 8 values per entry (missing fields as ""), or with ARGV[6] "0" the entry
  and task ids alone.
  Publishes: nothing.
]]
local count = tonumber(ARGV[3])
local rings = {}
for i = 9, #ARGV, 2 do
  local room = tonumber(ARGV[i + 1])
  if room > 0 then table.insert(rings, {key = ARGV[7] .. ARGV[i], room = room}) end
end

local taken = 0
while taken < count and #rings > 0 do
  local still = {}
  for _, ring in ipairs(rings) do
    if taken < count then
      local function_id = redis.call("LPOP", ring.key)
      if function_id then
        local waiting = ARGV[5] .. function_id
        local task_id = redis.call("LPOP", waiting)
        if redis.call("LLEN", waiting) > 0 then redis.call("RPUSH", ring.key, function_id) end
        -- A task deleted by hand while it waited is skipped: an entry would point at nothing.
        if task_id and redis.call("EXISTS", ARGV[4] .. task_id) == 1 then
          local entry_id = redis.call("XADD", KEYS[1], "*", "task", task_id)
          redis.call("HSET", ARGV[4] .. task_id, "entry_id", entry_id)
          taken = taken + 1
          ring.room = ring.room - 1
        end
        if ring.room > 0 then table.insert(still, ring) end
      end
    end
  end
  rings = still
end

local function read_new()
  return redis.pcall("XREADGROUP", "GROUP", ARGV[1], ARGV[2], "COUNT", count, "STREAMS", KEYS[1], ">")
end
local reply = read_new()
if type(reply) == "table" and reply.err then
  -- The group is gone when Redis restarted without persistence: make it again.
  if not string.find(reply.err, "NOGROUP") then return redis.error_reply(reply.err) end
  redis.call("XGROUP", "CREATE", KEYS[1], ARGV[1], "0", "MKSTREAM")
  reply = read_new()
end
local last = redis.call("XREVRANGE", ARGV[8], "+", "-", "COUNT", 1)
local out = {last[1] and last[1][1] or "0-0"}
if not reply or type(reply) ~= "table" or not reply[1] then return out end
for _, entry in ipairs(reply[1][2]) do
  local task_id
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == "task" then task_id = fields[i + 1] end
  end
  if task_id then
    table.insert(out, entry[1])
    table.insert(out, task_id)
    if ARGV[6] == "1" then
      local task = redis.call("HMGET", ARGV[4] .. task_id, "status", "function_id", "args", "deadline_ms", "attempts", "runtime")
      for i = 1, 6 do table.insert(out, task[i] or "") end
    end
  end
end
return out
