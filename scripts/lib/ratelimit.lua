-- Rate limits shared by every host: a token bucket per name in PostgreSQL
-- (table rate_limits), one UPDATE ... RETURNING per take.
--
--   ratelimit.take(name, rate[, opts]) -> wait | nil, retry_after | nil, err
--     rate: tokens per second (0 or less: no limit, returns 0 at once).
--     opts.burst: the bucket's size (default max(1, rate)): how many may go
--       at once after a quiet spell.
--     opts.max_wait: the longest reservation a take may make, seconds
--       (default 5).
--     On success a slot is reserved `wait` seconds from now (0: at once);
--     the caller waits that long before acting (ratelimit.wait does both).
--     When the queue is longer than max_wait nothing is reserved and the
--     answer is nil, retry_after (seconds until a slot would be free). A
--     database error is nil, err (a string).
--   ratelimit.wait(name, rate[, opts]) -> true | nil, retry_after | nil, err
--     take, then wm.sleep(wait).
--
-- The reservation lets tokens go negative: a take at -2 tokens with a rate
-- of 10/s waits 0.3 s. Every host computes from the database's clock, so
-- their clocks need not agree.
local type, tostring = type, tostring

local _M = { _VERSION = "0.1" }

local known = {}   -- names whose row exists (created once per process)

-- Every value comes from the target row itself, so a take that waited for
-- another's row lock recomputes from the row that one left (a self-join
-- would read the old row and lose the other's take). The few microseconds
-- between the clock_timestamp() calls cost nothing that matters.
local AVAIL = "least($4::float8, tokens + $2::float8 * extract(epoch FROM clock_timestamp() - updated_at))"
local TAKE = ([[
UPDATE rate_limits SET
    tokens = AVAIL - CASE WHEN AVAIL - 1 >= -$3::float8 * $2::float8 THEN 1 ELSE 0 END,
    granted = AVAIL - 1 >= -$3::float8 * $2::float8,
    updated_at = clock_timestamp()
WHERE name = $1
RETURNING tokens, granted]]):gsub("AVAIL", AVAIL)

function _M.take(name, rate, opts)
    if type(name) ~= "string" or name == "" then
        error("ratelimit.take: name must be a non-empty string", 2)
    end
    if type(rate) ~= "number" or rate <= 0 then
        return 0
    end
    opts = opts or {}
    local burst = opts.burst or (rate > 1 and rate or 1)
    local max_wait = opts.max_wait or 5
    if not known[name] then
        local ok, err = wm.db.query([[INSERT INTO rate_limits (name, tokens) VALUES ($1, $2)
            ON CONFLICT (name) DO NOTHING]], name, burst)
        if not ok then
            return nil, "rate limit " .. name .. ": " .. tostring(err)
        end
        known[name] = true
    end
    local row, err = wm.db.one(TAKE, name, rate, max_wait, burst)
    if not row then
        if err == nil then
            known[name] = nil   -- the row went away (a test reset the schema)
            return _M.take(name, rate, opts)
        end
        return nil, "rate limit " .. name .. ": " .. tostring(err)
    end
    if not row.granted then
        -- Seconds until the queue is short enough for one more.
        return nil, (1 - max_wait * rate - row.tokens) / rate
    end
    return row.tokens >= 0 and 0 or -row.tokens / rate
end

function _M.wait(name, rate, opts)
    local w, err = _M.take(name, rate, opts)
    if not w then
        return nil, err
    end
    if w > 0 then
        wm.sleep(w)
    end
    return true
end

return _M
