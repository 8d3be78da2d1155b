-- The test runner behind `wm test`: a test file returns a table of named
-- test functions; each runs in its own task with an assertion object `t`.
-- A failure is reported with its file:line; the run ends with
-- "N passed, N failed" (", N skipped" when some were skipped).
local M = {}

local SKIP = {}

local function describe(v)
    if type(v) == "string" then
        return ("%q"):format(#v > 200 and (v:sub(1, 200) .. "...") or v)
    elseif type(v) == "table" then
        local ok, s = pcall(wm.json.encode, v)
        return ok and s and (#s > 300 and s:sub(1, 300) .. "..." or s) or tostring(v)
    elseif v == wm.null then
        return "wm.null"
    end
    return tostring(v)
end

local function deep_eq(a, b)
    if a == b then
        return true
    end
    if type(a) ~= "table" or type(b) ~= "table" then
        return false
    end
    for k, v in pairs(a) do
        if not deep_eq(v, b[k]) then
            return false
        end
    end
    for k in pairs(b) do
        if a[k] == nil then
            return false
        end
    end
    return true
end
M.deep_eq = deep_eq

local function new_t(name)
    local t = { name = name }
    local function fail(msg, level)
        error(msg, (level or 1) + 2)
    end
    function t.ok(v, msg)
        if not v then
            fail((msg or "expected a true value") .. " (got " .. describe(v) .. ")")
        end
        return v
    end
    function t.eq(got, want, msg)
        if not deep_eq(got, want) then
            fail((msg and msg .. ": " or "") .. "expected " .. describe(want) .. ", got " .. describe(got))
        end
    end
    function t.ne(got, other, msg)
        if deep_eq(got, other) then
            fail((msg and msg .. ": " or "") .. "expected something other than " .. describe(other))
        end
    end
    function t.match(s, pattern, msg)
        if type(s) ~= "string" or not s:match(pattern) then
            fail((msg and msg .. ": " or "") .. describe(s) .. " does not match " .. describe(pattern))
        end
    end
    function t.no_match(s, pattern, msg)
        if type(s) ~= "string" or s:match(pattern) then
            fail((msg and msg .. ": " or "") .. describe(s) .. " matches " .. describe(pattern))
        end
    end
    function t.near(got, want, tol, msg)
        if type(got) ~= "number" or math.abs(got - want) > tol then
            fail((msg and msg .. ": " or "") .. ("expected %s +- %s, got %s"):format(want, tol, describe(got)))
        end
    end
    function t.fail(msg)
        fail(msg or "failed")
    end
    -- Polls fn() until it returns a true value (returned), failing the
    -- test after `timeout` seconds (default 20).
    function t.wait_for(what, fn, timeout)
        local deadline = wm.monotonic() + (timeout or 20)
        while wm.monotonic() < deadline do
            local v = fn()
            if v then
                return v
            end
            wm.sleep(0.05)
        end
        fail("timed out waiting for " .. what)
    end
    function t.skip(reason)
        error({ [SKIP] = reason or "skipped" }, 0)
    end
    -- A fresh folder under the system temp dir, removed after the test.
    function t.tmpdir()
        local dir = ("/tmp/wmtest-%d-%s"):format(wm.sys.getpid(), wm.crypto.random_token(6))
        assert(wm.fs.mkdir_p(dir))
        t._cleanup = t._cleanup or {}
        t._cleanup[#t._cleanup + 1] = function()
            wm.exec { argv = { "rm", "-rf", dir } }
        end
        return dir
    end
    function t.defer(fn)
        t._cleanup = t._cleanup or {}
        t._cleanup[#t._cleanup + 1] = fn
    end
    -- Sets keys of config section `section` for this test only: the section
    -- becomes a copy with `values` over it, and the original comes back after.
    function t.config(section, values)
        t._config = t._config or {}
        local cur = t._config[section]
        if not cur then
            local original = wm.config[section]
            cur = {}
            for k, v in pairs(original or {}) do
                cur[k] = v
            end
            t._config[section] = cur
            wm.config[section] = cur
            t.defer(function() wm.config[section] = original end)
        end
        for k, v in pairs(values) do
            cur[k] = v
        end
    end
    return t
end

local function handler(e)
    if type(e) == "table" and e[SKIP] then
        return e
    end
    return debug.traceback(tostring(e), 2)
end

-- Functions to run once the current file's tests are done (fakes a file
-- shares between its tests stop then: tests/fakes/start.lua).
local at_end = {}

function M.at_end(fn)
    at_end[#at_end + 1] = fn
end

local function file_done()
    for i = #at_end, 1, -1 do
        pcall(at_end[i])
        at_end[i] = nil
    end
end

-- Runs every test of every file; returns passed, failed, skipped.
function M.run_files(files, opts)
    opts = opts or {}
    local passed, failed, skipped = 0, 0, 0
    local out = io.stdout
    for _, file in ipairs(files) do
        local chunk, err = loadfile(file)
        local tests
        if chunk then
            local ok, res = xpcall(chunk, debug.traceback)
            if ok and type(res) == "table" then
                tests = res
            else
                err = ok and (file .. " must return a table of test functions") or res
            end
        end
        if not tests then
            out:write("FAIL ", file, ": ", tostring(err), "\n")
            failed = failed + 1
        else
            local names = {}
            for name, fn in pairs(tests) do
                if type(fn) == "function" and (not opts.filter or name:match(opts.filter)) then
                    names[#names + 1] = name
                end
            end
            table.sort(names)
            for _, name in ipairs(names) do
                local t = new_t(name)
                local t0 = wm.monotonic()
                local task = wm.spawn(function()
                    return xpcall(tests[name], handler, t)
                end)
                local done, ok, e = task:wait(opts.timeout or 120)
                for i = #(t._cleanup or {}), 1, -1 do
                    pcall(t._cleanup[i])
                end
                local ms = (wm.monotonic() - t0) * 1000
                if done == nil then
                    ok, e = false, "timed out after " .. (opts.timeout or 120) .. " s"
                elseif done == false then
                    ok, e = false, ok
                end
                if ok then
                    passed = passed + 1
                    out:write(("ok   %s (%.0f ms)\n"):format(name, ms))
                elseif type(e) == "table" and e[SKIP] then
                    skipped = skipped + 1
                    out:write(("skip %s: %s\n"):format(name, e[SKIP]))
                else
                    failed = failed + 1
                    local msg = tostring(e)
                    if not opts.verbose then
                        msg = msg:match("^(.-)\nstack traceback:") or msg
                    end
                    out:write(("FAIL %s (%s): %s\n"):format(name, file, msg))
                end
            end
        end
        file_done()
    end
    local line = ("%d passed, %d failed"):format(passed, failed)
    if skipped > 0 then
        line = line .. (", %d skipped"):format(skipped)
    end
    out:write(line, "\n")
    return passed, failed, skipped
end

return M
