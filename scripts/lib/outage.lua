-- Telling a database outage from a bug, and answering it: routes that can do
-- without the database (sites from their cache, clicks from their token) use
-- confirm to choose that path; the rest answer 503 with Retry-After, so that
-- clients and crawlers come back instead of concluding "not found".
--
--   outage.is_down(err, sqlstate) -> bool   (what wm.db.query / wm.db.tx returned)
--   outage.confirm(err, sqlstate) -> bool   is_down, or the database does not answer a ping
--   outage.response([body[, content_type]]) -> a 503 response with Retry-After
local _M = {}

_M.RETRY_AFTER = "5"

-- The pool says "database unavailable: ..." when no connection is up and
-- "connection lost: ..." for a query in flight when one dropped (sqlstate
-- 08006); PostgreSQL itself answers 57P01..57P03 while shutting down or
-- starting up.
function _M.is_down(err, sqlstate)
    if type(sqlstate) == "string" and (sqlstate:sub(1, 2) == "08" or sqlstate:match("^57P0[123]$")) then
        return true
    end
    err = tostring(err or "")
    return err:find("database unavailable", 1, true) ~= nil or err:find("connection lost", 1, true) ~= nil
        or err:find("database pool is closed", 1, true) ~= nil
end

-- is_down, or else a ping that fails now: an error on the way to the
-- database that names no connection (the embedded cluster failing to start,
-- a transaction's generic "rolled back") is an outage too. Only for error
-- paths: the ping is a round trip.
function _M.confirm(err, sqlstate)
    return _M.is_down(err, sqlstate) or not wm.db.query("SELECT 1")
end

function _M.response(body, content_type)
    return {
        status = 503,
        headers = { ["Content-Type"] = content_type or "text/plain; charset=utf-8",
                    ["Retry-After"] = _M.RETRY_AFTER, ["Cache-Control"] = "no-store" },
        body = body or "The service is briefly unavailable. Please try again in a moment.\n",
    }
end

return _M
