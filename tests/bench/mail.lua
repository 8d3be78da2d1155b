-- wm run tests/bench/mail.lua COUNT SESSIONS URL: COUNT messages of about
-- 8 KB through the smtp provider (lib.mime + wm.core.smtp) to URL,
-- SESSIONS at a time (each task one session, reused); prints
-- "sent=N failed=N seconds=S bytes=B peak_rss_kb=K".
local USAGE = [[usage: wm run tests/bench/mail.lua COUNT SESSIONS URL

  COUNT     messages of about 8 KB to send (default 20000)
  SESSIONS  SMTP sessions at once (default 8)
  URL       the relay, e.g. smtp://127.0.0.1:2525 (tests/bench/mail starts smtp-sink)]]
local _, args = require("wm.cli").script_args(arg, USAGE, {})
if not _ then
    return args
end
local count, sessions, url = tonumber(args[1]) or 20000, tonumber(args[2]) or 8, args[3]
if not url then
    io.stderr:write(USAGE, "\n")
    return 2
end
wm.config.providers.mail = "smtp"
wm.config.mail.smtp.url = url
wm.config.mail.smtp.starttls = "off"
wm.config.mail.smtp.timeout = 30
wm.config.mail.rate_limits.smtp = 0
local smtp = require "providers.mail.smtp"
local mime = require "lib.mime"

-- Prose-like text (QP keeps it near its size): lines of words.
local words = { "your", "new", "website", "is", "ready", "and", "it", "shows", "reviews", "hours", "menu",
                "call", "today", "free", "preview", "customers", "find", "you", "online" }
local lines, size, i = {}, 0, 0
while size < 7600 do
    local line = {}
    for _ = 1, 11 do
        i = i + 1
        line[#line + 1] = words[i % #words + 1]
    end
    local l = table.concat(line, " ")
    lines[#lines + 1] = l
    size = size + #l + 2
end
local text = table.concat(lines, "\n")
local function uuid(n)
    return ("%08x-0000-4000-8000-%012x"):format(n, n)
end
local sample = mime.build { from = { name = "WebMagic", email = "hello@webmagic.example" },
    to = "owner@shop.test", subject = "Your new website", text = text }

local next_n, sent, failed = 0, 0, 0
local t0 = wm.monotonic()
local tasks = {}
for s = 1, sessions do
    tasks[s] = wm.spawn(function()
        while next_n < count do
            next_n = next_n + 1
            local n = next_n
            local ok, err = smtp.send { from = { name = "WebMagic", email = "hello@webmagic.example" },
                to = { name = "Shop " .. n, email = "owner" .. n .. "@shop.test" },
                subject = "Your new website", text = text, campaign_id = uuid(n) }
            if ok then
                sent = sent + 1
            else
                failed = failed + 1
                if failed <= 3 then
                    io.stderr:write("failed: ", tostring(err), "\n")
                end
            end
        end
    end)
end
for _, t in ipairs(tasks) do
    t:wait(3600)
end
local secs = wm.monotonic() - t0
local f = io.open("/proc/self/status")
local status = f:read("*a")
f:close()
print(("sent=%d failed=%d seconds=%.3f bytes=%d peak_rss_kb=%s"):format(sent, failed, secs, #sample,
    status:match("VmHWM:%s*(%d+)")))
