--[[
  now: Redis's clock, in ms since the epoch. Every time a task records (created_at,
  started_at, finished_at) is read from it, so the times of one task agree whichever
  dispatcher, API or machine moved it.
]]
local function now_ms()
  local time = redis.call("TIME")
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
