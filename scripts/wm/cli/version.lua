return {
    summary = "print the version",
    usage = "usage: wm version\n\nPrints wm's version and the versions of the libraries it runs on.",
    run = function()
        io.stdout:write(("wm %s (%s)\n"):format(wm.version, jit and jit.version or _VERSION))
        return 0
    end,
}
