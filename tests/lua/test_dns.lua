-- wm.dns.query (core/dns.c, c-ares on the loop) against a dnsmasq started
-- by the test: TXT (several strings joined), A through a CNAME, the errors
-- a domain owner's mistakes produce, timeouts, and a lookup abandoned by a
-- cancelled task.
local dns = dofile(wm.root .. "/tests/fakes/dns.lua")
local T = {}

local function server(t)
    return dns(t, {
        txt = { ["_webmagic.shop.test"] = "wm-verify=abc123", ["multi.test"] = "part one,part two" },
        a = { ["origin.test"] = "127.0.0.7" },
        cname = { ["www.shop.test"] = "origin.test" },
    })
end

function T.txt_and_a_records(t)
    local s = server(t)
    local txt = assert(wm.dns.query("_webmagic.shop.test", "TXT", { servers = s }))
    t.eq(#txt, 1)
    t.eq(txt[1], "wm-verify=abc123")
    -- One record of two strings (dnsmasq splits its text at the comma) is
    -- read as their concatenation.
    local multi = assert(wm.dns.query("multi.test", "TXT", { servers = s }))
    t.eq(#multi, 1)
    t.eq(multi[1], "part onepart two")
    local a = assert(wm.dns.query("www.shop.test", "A", { servers = s }))
    t.eq(a[1], "127.0.0.7")
    t.eq(a.canonical, "origin.test", "the CNAME's target")
end

function T.what_goes_wrong_is_named(t)
    local s = server(t)
    local r, err = wm.dns.query("missing.shop.test", "TXT", { servers = s })
    t.eq(r, nil)
    t.eq(err, "no such domain")
    r, err = wm.dns.query("origin.test", "TXT", { servers = s })
    t.eq(err, "no records", "the name exists, without TXT records")
    -- A name c-ares cannot encode (a label over 63 bytes) fails at once,
    -- still answered through the loop.
    r, err = wm.dns.query(("a"):rep(64) .. ".shop.test", "TXT", { servers = s })
    t.eq(r, nil)
    t.eq(err, "Misformatted domain name")
    r, err = wm.dns.query("x.test", "TXT", { servers = "not a server" })
    t.match(err, "bad DNS server list")
    local ok, msg = pcall(wm.dns.query, "x.test", "MX", { servers = s })
    t.eq(ok, false)
    t.match(msg, "type must be TXT or A")
end

function T.a_silent_server_times_out_after_its_tries(t)
    -- A UDP socket that reads and never answers.
    local port = 30000 + math.random(0, 9999)
    local sink = wm.spawn(function()
        wm.exec { argv = { "python3", "-c", ([[
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", %d))
while True: s.recvfrom(512)]]):format(port) }, timeout = 30 }
    end)
    t.defer(function() sink:cancel() end)
    local server = "127.0.0.1:" .. port
    t.wait_for("the silent server to listen", function()
        local _, e = wm.dns.query("probe.test", "TXT", { servers = server, timeout = 0.1, tries = 1 })
        return e == "timeout"
    end, 10)
    local t0 = wm.monotonic()
    local r, err = wm.dns.query("slow.test", "TXT", { servers = server, timeout = 0.2, tries = 2 })
    local took = wm.monotonic() - t0
    t.eq(r, nil)
    t.eq(err, "timeout")
    t.ok(took >= 0.3 and took < 3, "two tries of 0.2 s took " .. took .. " s")
end

function T.a_cancelled_lookup_leaves_nothing_behind(t)
    local s = server(t)
    -- Cancelled before it starts, just after its lookup began, and a little
    -- later (the question sent, the answer perhaps not yet read).
    local started = 0
    for i = 1, 30 do
        local began = wm.event()
        local task = wm.spawn(function()
            started = started + 1
            began:set()   -- this task runs on into the query, which yields
            return wm.dns.query("_webmagic.shop.test", "TXT", { servers = s })
        end)
        if i % 3 ~= 0 then
            began:wait(5)
            if i % 3 == 2 then
                wm.sleep(0.001)
            end
        end
        task:cancel()
    end
    t.eq(started, 20, "twenty lookups were under way when cancelled")
    -- Still works afterwards (and the sanitizer build finds no leak).
    t.eq(assert(wm.dns.query("_webmagic.shop.test", "TXT", { servers = s }))[1], "wm-verify=abc123")
end

return T
