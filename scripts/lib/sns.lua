-- Amazon SNS messages delivered over HTTP(S) (providers.md 5.4): the
-- signature check, done before anything acts on a message.
--
--   sns.verify(msg) -> true | nil, why, transient
--     transient: the certificate could not be fetched (try again later),
--     as opposed to a message that is not SNS's.
--     msg: the decoded JSON body. SignatureVersion "1" is RSA-SHA1 and "2"
--     RSA-SHA256, over the string to sign of its Type, with the public key
--     of the certificate at SigningCertURL.
--   sns.string_to_sign(msg) -> s | nil, why
--     Notification: Message, MessageId, Subject (when present), Timestamp,
--     TopicArn, Type; SubscriptionConfirmation and UnsubscribeConfirmation:
--     Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type;
--     each "Name\nvalue\n", in that (byte) order.
--   sns.url_ok(url[, want_pem]) -> true | nil, why
--     A certificate (want_pem) or SubscribeURL address SNS may have sent:
--     it must match mail.ses.sns_url_pattern (default: https and a host
--     sns.<region>.amazonaws.com, nothing between the host and its path), and
--     a certificate's path must be a plain *.pem with no query. Any other
--     host, scheme, port or shape is refused before a byte is fetched.
--   sns.certificate(url) -> pem | nil, why, transient
--     Cached in memory and in <paths.var>/sns-certs/ (by the URL's SHA-256);
--     fetched over the loop's HTTP client otherwise. A certificate outside
--     its validity dates is refused (and not cached).
--   sns.topic_allowed(arn) -> bool   (mail.ses.sns_topics)
--   sns.reset() forgets the memory cache (tests).
local type, tostring, ipairs = type, tostring, ipairs
local find, match, gmatch = string.find, string.match, string.gmatch

local _M = { _VERSION = "0.1" }

local NOTIFICATION = { "Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type" }
local CONFIRMATION = { "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type" }
local FIELDS = { Notification = NOTIFICATION, SubscriptionConfirmation = CONFIRMATION,
                 UnsubscribeConfirmation = CONFIRMATION }
local OPTIONAL = { Subject = true }
local HASH = { ["1"] = "sha1", ["2"] = "sha256" }
local MAX_CERT = 16384

local memory = {}   -- url -> {pem =, not_after =}

local function cfg()
    return (wm.config.mail or {}).ses or {}
end

function _M.reset()
    memory = {}
end

function _M.string_to_sign(msg)
    local fields = FIELDS[msg.Type]
    if not fields then
        return nil, "unknown message type " .. tostring(msg.Type)
    end
    local out = {}
    for _, f in ipairs(fields) do
        local v = msg[f]
        if type(v) == "string" then
            out[#out + 1] = f .. "\n" .. v .. "\n"
        elseif not (OPTIONAL[f] and (v == nil or v == wm.null)) then
            return nil, "the message has no " .. f
        end
    end
    return table.concat(out)
end

function _M.url_ok(url, want_pem)
    if type(url) ~= "string" or #url > 1024 or find(url, "[^%w%-._~:/?&=%%+]") then
        return nil, "not a plain URL"
    end
    local pattern = cfg().sns_url_pattern or "^https://sns%.[a-z0-9-]+%.amazonaws%.com/"
    -- The pattern sees the URL only up to the "/" that starts its path (it
    -- ends in "/" itself), so a host it names cannot be followed by more
    -- host (sns.x.amazonaws.com.evil/) or a port; no user part at all.
    local origin = match(url, "^(%a+://[^/?#]*/)")
    if not origin or not match(origin, pattern) or find(origin, "@", 1, true) then
        return nil, "not an SNS address"
    end
    if want_pem then
        local path = url:sub(#origin)
        if not match(path, "^/[%w%-._]+%.pem$") then
            return nil, "not a certificate path"
        end
    end
    return true
end

local function valid(info)
    local now = wm.now()
    return type(info) == "table" and info.not_before and info.not_after
        and info.not_before <= now and now <= info.not_after
end

local function cache_path(url)
    local var = (wm.config.paths or {}).var or "var"
    return var .. "/sns-certs", var .. "/sns-certs/" .. wm.crypto.sha256_hex(url) .. ".pem"
end

-- Takes a PEM into the caches when it is a certificate within its dates.
local function accept(url, pem)
    local info, err = wm.crypto.x509_info(pem)
    if not info then
        return nil, "unreadable certificate: " .. tostring(err)
    end
    if not valid(info) then
        return nil, "certificate outside its validity dates"
    end
    memory[url] = { pem = pem, not_after = info.not_after }
    return pem
end

function _M.certificate(url)
    local ok, why = _M.url_ok(url, true)
    if not ok then
        return nil, why
    end
    local m = memory[url]
    if m and wm.now() <= m.not_after then
        return m.pem
    end
    memory[url] = nil
    local dir, path = cache_path(url)
    local pem = wm.fs.read_file(path, MAX_CERT)
    if pem and accept(url, pem) then
        return pem
    end
    local res, err = wm.http.request { url = url, timeout = 10, max_body = MAX_CERT }
    if not res then
        return nil, "fetching the certificate: " .. tostring(err), true
    end
    if res.status >= 500 then
        return nil, "fetching the certificate: HTTP " .. tostring(res.status), true
    end
    if res.status ~= 200 or not find(res.body, "-----BEGIN CERTIFICATE-----", 1, true) then
        return nil, "fetching the certificate: HTTP " .. tostring(res.status)
    end
    local got, aerr = accept(url, res.body)
    if not got then
        return nil, aerr
    end
    -- The file cache saves the next process a fetch; failing to write it
    -- costs only that.
    if wm.fs.mkdir_p(dir) then
        local wok, werr = wm.fs.write_file(path, res.body, { atomic = true })
        if not wok then
            wm.log.warn("sns: cannot cache the certificate", { path = path, error = werr })
        end
    end
    return got
end

function _M.topic_allowed(arn)
    if type(arn) ~= "string" or arn == "" then
        return false
    end
    for a in gmatch(cfg().sns_topics or "", "[^,%s]+") do
        if a == arn then
            return true
        end
    end
    return false
end

function _M.verify(msg)
    if type(msg) ~= "table" then
        return nil, "not a JSON object"
    end
    local hash = HASH[tostring(msg.SignatureVersion)]
    if not hash then
        return nil, "unknown SignatureVersion " .. tostring(msg.SignatureVersion)
    end
    local sts, why = _M.string_to_sign(msg)
    if not sts then
        return nil, why
    end
    local sig = type(msg.Signature) == "string" and wm.crypto.b64_decode(msg.Signature)
    if not sig or sig == "" then
        return nil, "missing signature"
    end
    local pem, cerr, transient = _M.certificate(msg.SigningCertURL)
    if not pem then
        return nil, "certificate: " .. tostring(cerr), transient
    end
    local ok, err = wm.crypto.x509_verify(pem, sts, sig, hash)
    if ok ~= true then
        if err then
            wm.log.warn("sns: the signature could not be checked", { error = err })
        end
        return nil, "bad signature"
    end
    return true
end

return _M
