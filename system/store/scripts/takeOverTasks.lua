--[[
  takeOverTasks: moves the pending queue entries of dispatchers whose liveness key has
  expired to this dispatcher, and forgets such dispatchers once they hold nothing. It is one
  step, so a dispatcher that was only slow cannot read new entries between the liveness
  check and the move (and have them dropped with its consumer).
  Tasks keep their state: a RUNNING task is claimed again (attempts + 1) when it runs again.

  KEYS[1] queue stream
  ARGV[1] consumer group   ARGV[2] this dispatcher's consumer name
  ARGV[3] prefix of liveness keys (the consumer name follows it)   ARGV[4] most entries to move

  Returns: {entryId1, taskId1, entryId2, taskId2, ...}, the entries now owned by this dispatcher.
  Publishes: nothing.
]]
local moved = {}
local limit = tonumber(ARGV[4])
local consumers = redis.call("XINFO", "CONSUMERS", KEYS[1], ARGV[1])
for _, info in ipairs(consumers) do
  local name
  for i = 1, #info, 2 do
    if info[i] == "name" then name = info[i + 1] end
  end
  if name ~= ARGV[2] and redis.call("EXISTS", ARGV[3] .. name) == 0 then
    local room = limit - #moved / 2
    if room > 0 then
      local rows = redis.call("XPENDING", KEYS[1], ARGV[1], "-", "+", room, name)
      local ids = {}
      for _, row in ipairs(rows) do table.insert(ids, row[1]) end
      if #ids > 0 then
        -- Entries deleted meanwhile are dropped from the pending list and not returned.
        for _, entry in ipairs(redis.call("XCLAIM", KEYS[1], ARGV[1], ARGV[2], 0, unpack(ids))) do
          if entry and entry[2] then
            local fields = entry[2]
            for i = 1, #fields, 2 do
              if fields[i] == "task" then
                table.insert(moved, entry[1])
                table.insert(moved, fields[i + 1])
              end
            end
          end
        end
      end
    end
    if #redis.call("XPENDING", KEYS[1], ARGV[1], "-", "+", 1, name) == 0 then
      redis.call("XGROUP", "DELCONSUMER", KEYS[1], ARGV[1], name)
    end
  end
end
return moved
