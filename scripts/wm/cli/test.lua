return {
    summary = "run Lua test files (each returns a table of test functions)",
    usage = [[usage: wm test [--filter PATTERN] [--timeout SECONDS] [--verbose] FILE.lua...

Each file returns a table of named test functions; each function runs in its
own task and gets `t` with t.ok, t.eq (deep), t.ne, t.match, t.near, t.fail,
t.skip(reason), t.wait_for(what, fn[, timeout]), t.tmpdir() and t.defer(fn). Failures are reported with their
file:line; the run ends with "N passed, N failed". Exit status 1 when any
test failed.]],
    flags = { ["--filter"] = "string", ["--timeout"] = "number", ["--verbose"] = "boolean" },
    run = function(opts, files)
        if #files == 0 then
            io.stderr:write("wm test: which files?\n")
            return 2
        end
        local _, failed = require("wm.testing").run_files(files, opts)
        return failed > 0 and 1 or 0
    end,
}
