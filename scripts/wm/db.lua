-- wm.db: queries through the pool in core/pg.c. The pool opens on first use,
-- on database.url or, when that is empty, on the embedded cluster (started
-- on demand).
--
--   wm.db.query(sql, ...)          -> rows, affected | nil, err, sqlstate
--   wm.db.tx(function(q) ... end)  -> fn's results | nil, err
--       q:query(sql, ...) runs on the transaction's own connection; q:script(sql)
--       runs several statements. The transaction commits when fn returns, and
--       rolls back when fn raises, when a query inside failed, or when the task
--       dies.
--   wm.db.listen(channel, fn)      fn(payload, channel) per notification
local pg = require "wm.core.pg"

local select, type, error, xpcall, unpack = select, type, error, xpcall, unpack
local traceback = debug.traceback

local M = {}
local opening          -- an event while the first caller opens the pool
-- The transaction each task is inside, so that wm.jobs.enqueue (and other
-- helpers) join it without being handed `q`.
local current = setmetatable({}, { __mode = "k" })
local open_err

local function conninfo()
    local url = wm.config.database.url
    if url ~= nil and url ~= "" then
        return url
    end
    return require("wm.pgembed").ensure()
end

function M.open()
    if pg.is_open() then
        return true
    end
    if opening then
        opening:wait()
        if pg.is_open() then
            return true
        end
        return nil, open_err
    end
    opening = wm.event()
    local info, err = conninfo()
    if info then
        local c = wm.config.database
        local ok
        ok, err = pg.open { conninfo = info, size = c.pool_size, depth = c.pipeline_depth,
                            connect_timeout = c.connect_timeout, backoff_max = c.backoff_max }
        if ok then
            err = nil
        end
    end
    open_err = err
    local ev = opening
    opening = nil
    ev:set()
    if err then
        return nil, err
    end
    return true
end

function M.query(sql, ...)
    if type(sql) ~= "string" then
        error("usage: wm.db.query(sql, ...)", 2)
    end
    if not pg.is_open() then
        local ok, err = M.open()
        if not ok then
            return nil, err, "08006"
        end
    end
    return pg.query(sql, ...)
end

-- The first row, or nil (and the error) when there is none.
function M.one(sql, ...)
    local rows, err, state = M.query(sql, ...)
    if not rows then
        return nil, err, state
    end
    return rows[1]
end

local Tx = {}
Tx.__index = Tx

function Tx:query(sql, ...)
    return pg.tx_query(self._tx, sql, ...)
end

function Tx:one(sql, ...)
    local rows, err, state = pg.tx_query(self._tx, sql, ...)
    if not rows then
        return nil, err, state
    end
    return rows[1]
end

function Tx:script(sql)
    return pg.tx_script(self._tx, sql)
end

local function pack(...)
    return { n = select("#", ...), ... }
end

function M.tx(fn)
    if type(fn) ~= "function" then
        error("usage: wm.db.tx(function(q) ... end)", 2)
    end
    if not pg.is_open() then
        local ok, err = M.open()
        if not ok then
            return nil, err
        end
    end
    local tx, err = pg.pin()
    if not tx then
        return nil, err
    end
    local ok
    ok, err = pg.tx_query(tx, "BEGIN")
    if not ok then
        pg.unpin(tx)
        return nil, err
    end
    local q = setmetatable({ _tx = tx }, Tx)
    local co = coroutine.running()
    local outer = current[co]
    current[co] = q
    local res = pack(xpcall(fn, traceback, q))
    current[co] = outer
    if not res[1] then
        pg.unpin(tx, true)
        return nil, res[2]
    end
    if pg.tx_failed(tx) then
        pg.unpin(tx, true)
        return nil, "transaction rolled back: a query inside it failed"
    end
    local rows
    rows, err = pg.tx_query(tx, "COMMIT")
    if not rows then
        pg.unpin(tx, true)
        return nil, err
    end
    pg.unpin(tx)
    if res.n == 1 then
        return true
    end
    return unpack(res, 2, res.n)
end

-- A PostgreSQL array literal for a list of strings or numbers, to pass as
-- one parameter: wm.db.query("... WHERE id = ANY($1::uuid[])", wm.db.array(ids)).
-- (A plain Lua table parameter is sent as JSON.)
function M.array(list)
    local parts = {}
    for i, v in ipairs(list) do
        if v == wm.null then
            parts[i] = "NULL"
        else
            parts[i] = '"' .. tostring(v):gsub('[\\"]', "\\%0") .. '"'
        end
    end
    return "{" .. table.concat(parts, ",") .. "}"
end

-- The transaction the calling task is inside, or nil.
function M.current_tx()
    return current[coroutine.running()]
end

-- A query inside the calling task's transaction when there is one (so it
-- commits or rolls back with it), else on the pool. For helpers that are
-- called both inside and outside wm.db.tx (the activity log, wm.jobs).
function M.run(sql, ...)
    local q = current[coroutine.running()]
    if q then
        return q:query(sql, ...)
    end
    return M.query(sql, ...)
end

-- wm.db.run's first row, or nil (and the error, when there was one).
function M.run_one(sql, ...)
    local rows, err, state = M.run(sql, ...)
    if not rows then
        return nil, err, state
    end
    return rows[1]
end

-- Several listeners may share a channel; each gets every notification.
local listeners = {}

function M.listen(channel, fn)
    if type(channel) ~= "string" or type(fn) ~= "function" then
        error("usage: wm.db.listen(channel, fn)", 2)
    end
    if not pg.is_open() then
        local ok, err = M.open()
        if not ok then
            return nil, err
        end
    end
    local list = listeners[channel]
    if list then
        for _, f in ipairs(list) do
            if f == fn then
                return true
            end
        end
        list[#list + 1] = fn
        return true
    end
    list = { fn }
    listeners[channel] = list
    local ok, err = pg.listen(channel, function(payload, ch)
        for i = 1, #list do
            if i == 1 then
                list[i](payload, ch)
            else
                wm.spawn(list[i], payload, ch)
            end
        end
    end)
    if not ok then
        listeners[channel] = nil
        return nil, err
    end
    return true
end

function M.stats()
    return pg.stats()
end

function M.close()
    pg.close()
end

return M
