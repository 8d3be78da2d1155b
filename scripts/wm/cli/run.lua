-- wm run FILE.lua [args...]: runs a script with the whole wm API; `arg`
-- holds the arguments (arg[0] is the file). wm waits for every task the
-- script spawned, then exits 0, or 1 with the traceback.
return {
    summary = "run a Lua script with the wm API (batch jobs, one-off tasks)",
    usage = [[usage: wm run FILE.lua [args...]

Runs FILE.lua inside a wm task: wm.db, wm.http, wm.exec, wm.spawn and the rest
are available, and `arg` holds the arguments (arg[0] is the file). wm waits
for every task the script spawned before it exits.

Exit status: 0 when the script and its tasks finished, 1 with a traceback
when one of them raised an error, 2 on a usage error.]],
    flags = { __stop_at_positional = true },
    run = function(opts, args)
        local file = args[1]
        if not file then
            io.stderr:write("wm run: which file?\n\nusage: wm run FILE.lua [args...]\n")
            return 2
        end
        local chunk, err = loadfile(file)
        if not chunk then
            io.stderr:write("wm run: ", err, "\n")
            return 1
        end
        local a = { [0] = file }
        for i = 2, #args do
            a[i - 1] = args[i]
        end
        _G.arg = a
        local ok, res = xpcall(chunk, debug.traceback, unpack(a))
        if not ok then
            io.stderr:write("wm run: ", tostring(res), "\n")
            return 1
        end
        if type(res) == "number" then
            return res
        end
        return 0
    end,
}
