--[[
  takeTasks: QUEUED tasks leave their functions' waiting lists for this dispatcher, up to
  COUNT, one function at a time in turn (round-robin over the ready ring), so one function's
  backlog does not hold back another's tasks. Each task taken gets a queue entry delivered
  to this dispatcher (its pending list says who holds it, for takeover), and is returned
  with what dispatching it needs, in one step. Tasks keep their state: claimTask marks them
  RUNNING when an executor starts.

  Entries already in the stream and not yet delivered (queued by an older faaslab, or left
  when the group was lost) are delivered first.

  KEYS[1] queue stream     KEYS[2] the ready ring of functions
  ARGV[1] consumer group   ARGV[2] consumer name   ARGV[3] count   ARGV[4] task key prefix
  ARGV[5] waiting list prefix (the function id follows it)
  ARGV[6] "1" to return each task's fields, "0" for the ids alone

  Returns: {entryId, taskId, status, functionId, args, deadlineMs, attempts, ...} (7 per
  entry; missing fields as ""), or with ARGV[6] "0" {entryId, taskId, ...}; empty when
  nothing waits.
  Publishes: nothing.
]]
local count = tonumber(ARGV[3])
for _ = 1, count do
  local function_id = redis.call("LPOP", KEYS[2])
  if not function_id then break end
  local waiting = ARGV[5] .. function_id
  local task_id = redis.call("LPOP", waiting)
  if redis.call("LLEN", waiting) > 0 then redis.call("RPUSH", KEYS[2], function_id) end
  -- A task deleted by hand while it waited is skipped: an entry would point at nothing.
  if task_id and redis.call("EXISTS", ARGV[4] .. task_id) == 1 then
    local entry_id = redis.call("XADD", KEYS[1], "*", "task", task_id)
    redis.call("HSET", ARGV[4] .. task_id, "entry_id", entry_id)
  end
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
local out = {}
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
      local task = redis.call("HMGET", ARGV[4] .. task_id, "status", "function_id", "args", "deadline_ms", "attempts")
      for i = 1, 5 do table.insert(out, task[i] or "") end
    end
  end
end
return out
