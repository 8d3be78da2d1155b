-- Starts dnsmasq (Debian's dnsmasq-base) on 127.0.0.1 as the only DNS
-- server for the test's names, with the records given, and returns
-- "127.0.0.1:PORT" for wm.dns.query's servers. It answers only from what it
-- is told (no upstream, no /etc/hosts; --local=/test/ makes any other name
-- under .test a definite "no such domain"), and stops with the test.
--   local dns = dofile(<tests>/fakes/dns.lua)
--   local server = dns(t, { txt = { ["_webmagic.shop.test"] = "wm-verify=..." },
--                           a = { ["shop.test"] = "127.0.0.7" }, cname = { ["www.shop.test"] = "shop.test" } })
return function(t, records)
    local dnsmasq = "/usr/sbin/dnsmasq"
    if not wm.fs.stat(dnsmasq) then
        t.skip("dnsmasq is not installed (Debian dnsmasq-base; .ci/setup.sh --test installs it)")
    end
    local args = {}
    for name, value in pairs(records.txt or {}) do
        args[#args + 1] = ("--txt-record=%s,%s"):format(name, value)
    end
    for name, ip in pairs(records.a or {}) do
        args[#args + 1] = ("--host-record=%s,%s"):format(name, ip)
    end
    for name, target in pairs(records.cname or {}) do
        args[#args + 1] = ("--cname=%s,%s"):format(name, target)
    end
    for _ = 1, 20 do
        local port = 20000 + math.random(0, 9999)
        local argv = { dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                       "--port=" .. port, "--listen-address=127.0.0.1", "--bind-interfaces",
                       "--local=/test/", "--pid-file=", "--log-facility=-" }
        if wm.sys.getuid() == 0 then
            argv[#argv + 1] = "--user=root"
        end
        for _, a in ipairs(args) do
            argv[#argv + 1] = a
        end
        local ended
        local task = wm.spawn(function()
            ended = wm.exec { argv = argv, timeout = 600 }
        end)
        -- Up when it answers; a port already taken makes it exit at once.
        for _ = 1, 100 do
            if ended then
                break
            end
            local _, err = wm.dns.query("up.probe.test", "TXT", { servers = "127.0.0.1:" .. port, timeout = 0.2, tries = 1 })
            if err == "no such domain" then
                t.defer(function() task:cancel() end)
                return "127.0.0.1:" .. port
            end
            wm.sleep(0.02)
        end
        task:cancel()
    end
    error("dnsmasq did not start")
end
