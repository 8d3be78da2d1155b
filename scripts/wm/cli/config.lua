return {
    summary = "print the merged configuration (secrets masked)",
    usage = [[usage: wm [--config FILE] config

Prints every setting as section.key = value, with where it came from when it
is not the default (the --config file or an environment variable). Secrets
and passwords inside URLs are masked.

Override any key from the environment as WM_<SECTION>_<KEY>, for example
WM_DATABASE_POOL_SIZE=16 or WM_LOG_ACCESS=false.]],
    run = function()
        io.stdout:write(require("wm.config").dump(wm.config), "\n")
        return 0
    end,
}
