return {
    summary = "print the merged configuration (secrets masked)",
    usage = [[usage: wm [--config FILE] config

Prints every setting as section.key = value, with where it came from when it
is not the default (the --config file or an environment variable). Secrets
and passwords inside URLs are masked.

Override any key from the environment as WM_<SECTION>_<KEY>, for example
WM_DATABASE_POOL_SIZE=16 or WM_LOG_ACCESS=false.

Every command checks the merged result against config/schema.lua (types from
config/wm.lua, ranges and formats from the rules) and refuses to start on a
bad value, naming the key, the value and its source; an unknown section or
key in the file is refused too (the operator's own settings go under
custom = { ... }). A WM_* variable that names no setting is a warning.
Exit status: 0, or 1 when the configuration is refused.]],
    run = function()
        io.stdout:write(require("wm.config").dump(wm.config), "\n")
        return 0
    end,
}
