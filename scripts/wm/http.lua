-- wm.http: outbound HTTP for scripts, over the C client "wm.core.httpc"
-- (libcurl multi on the host's loop). Every call yields the calling task.
--
--   wm.http.request{method=, url=, headers=, body=, timeout=,
--                   follow_redirects=false, max_body=, aws_sigv4=,
--                   aws_access_key_id=, aws_secret_access_key=}
--       -> {status=, headers=, body=, url=} | nil, err, {body_sent=}
--   wm.http.get(url[, opts]), wm.http.post(url, body[, opts])  (shorthands)
--
-- headers in the result have lower-cased names. err is a stable token:
-- "timeout", "connect", "dns", "tls", "too_large", "protocol", or
-- "error: <curl message>". A 4xx/5xx status is a response, not an error.
-- TLS peers are always verified; redirects are followed only when asked (at
-- most 5); bodies past max_body (default config http_client.max_body_bytes)
-- give "too_large". body_sent ("none", "started", "all") says how much of a
-- failed request's body went out: "all" means the server may have acted on
-- it. aws_sigv4 = "aws:amz:REGION:SERVICE" signs the request with AWS
-- Signature Version 4 (the keys are required with it).
local core = require "wm.core.httpc"

local type, error, pairs = type, error, pairs

local _M = { _VERSION = "0.1" }

-- Sets the client's defaults from a config section shaped like
-- config http_client: {timeout=, max_body_bytes=, max_connections=, user_agent=}.
function _M.configure(conf)
    if type(conf) ~= "table" then
        error("usage: wm.http.configure{timeout=, max_body_bytes=, max_connections=}", 2)
    end
    core.configure {
        timeout = conf.timeout,
        max_body = conf.max_body_bytes,
        max_connections = conf.max_connections,
        user_agent = conf.user_agent,
    }
end

function _M.request(opts)
    if type(opts) ~= "table" or type(opts.url) ~= "string" then
        error("usage: wm.http.request{url=, method=, headers=, body=, timeout=}", 2)
    end
    return core.request(opts)
end

local function with(opts, url, method, body)
    local o = {}
    if opts ~= nil then
        if type(opts) ~= "table" then
            error("wm.http: options must be a table", 3)
        end
        for k, v in pairs(opts) do
            o[k] = v
        end
    end
    o.url, o.method = url, method
    if body ~= nil then
        o.body = body
    end
    return o
end

function _M.get(url, opts)
    if type(url) ~= "string" then
        error("usage: wm.http.get(url[, opts])", 2)
    end
    return core.request(with(opts, url, "GET"))
end

function _M.post(url, body, opts)
    if type(url) ~= "string" or type(body) ~= "string" then
        error("usage: wm.http.post(url, body[, opts])", 2)
    end
    return core.request(with(opts, url, "POST", body))
end

-- Requests in flight.
_M.active = core.active

return _M
