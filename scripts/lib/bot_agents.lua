-- Who fetched a tracking pixel or followed a tracked link, by its
-- User-Agent (tracking_events.user_agent): the one place that tells a
-- person from a machine, so the dashboard's opens and clicks by people are
-- not inflated by mail-privacy proxies (which load every image of every
-- email they deliver) and link scanners (which follow every link).
--
--   bot_agents.classify(user_agent) -> "person" | "proxy" | "scanner"
--   bot_agents.automated(user_agent) -> bool (proxy or scanner)
--
-- "proxy", a mail-privacy image proxy (the open says the email arrived, not
-- that anyone read it):
--   GoogleImageProxy   Gmail: "... (via ggpht.com GoogleImageProxy)"
--   YahooMailProxy     Yahoo and AOL Mail
--   Apple Mail Privacy Protection: its fetches say only "Mozilla/5.0",
--       with nothing after it. Conservative: only that exact string (trimmed)
--       is taken for it; Apple Mail's own "Mozilla/5.0 (Macintosh; ...)
--       AppleWebKit/... (KHTML, like Gecko)" also comes from people who open
--       the email without the protection, so it counts as a person.
-- "scanner", a security or preview service, a script or a crawler:
--   Microsoft/Outlook Safe Links and previews ("BingPreview", "SafeLinks",
--   "Microsoft Office Protocol Discovery", "MS Search"), Barracuda,
--   Proofpoint, Mimecast, Google-Safety, Symantec/Broadcom, Trend Micro,
--   Forcepoint, Sophos, Cisco IronPort, FortiGuard, headless browsers,
--   HTTP libraries (curl, Wget, python-requests, python-urllib, Go-http-client,
--   Java, okhttp, libwww-perl, axios, node-fetch), and anything that says
--   it is a bot (a name ending in "bot" before "/", ";", ")", "+" or the
--   end, or "bot" as a word: Googlebot/2.1, bingbot, AhrefsBot; not the
--   phone "CUBOT X19"), a "spider" or a "crawler". No User-Agent at all:
--   a script (every browser and mail client sends one).
-- Anything else is a person. Matching ignores case.
local _M = {}

local lower, find, match = string.lower, string.find, string.match

-- Plain substrings (lower case).
local PROXIES = { "googleimageproxy", "yahoomailproxy" }
local SCANNERS = {
    "bingpreview", "safelinks", "microsoft office protocol discovery", "ms search", "barracuda", "proofpoint",
    "mimecast", "google-safety", "symantec", "broadcom", "trend micro", "trendmicro", "forcepoint", "sophos",
    "ironport", "fortiguard", "headlesschrome", "phantomjs", "curl/", "wget/", "python-requests", "python-urllib",
    "go-http-client", "okhttp", "libwww-perl", "axios/", "node-fetch", "spider", "crawler",
}

local function bot(ua)
    return match(ua, "%wbot[/;%)%+]") or match(ua, "%wbot$") or match(ua, "%f[%w]bot%f[%W]")
        or match(ua, "^java/") or match(ua, "^bot")
end

function _M.classify(ua)
    if type(ua) ~= "string" then
        return "scanner"
    end
    ua = lower(ua):gsub("^%s+", ""):gsub("%s+$", "")
    if ua == "" then
        return "scanner"
    end
    if ua == "mozilla/5.0" then
        return "proxy"                      -- Apple Mail Privacy Protection (see above)
    end
    for _, p in ipairs(PROXIES) do
        if find(ua, p, 1, true) then
            return "proxy"
        end
    end
    for _, s in ipairs(SCANNERS) do
        if find(ua, s, 1, true) then
            return "scanner"
        end
    end
    if bot(ua) then
        return "scanner"
    end
    return "person"
end

function _M.automated(ua)
    return _M.classify(ua) ~= "person"
end

return _M
