-- `wm <command>`: finds scripts/wm/cli/<command>.lua, handles --help, and
-- parses flags for it. Each command module returns
--   { summary = "one line", usage = "full text", flags = { ["--x"] = "string"|"number"|"boolean" },
--     run = function(opts, args) ... return exit_code end }
local M = {}

-- Order shown in `wm --help`.
M.commands = { "run", "serve", "work", "jobs", "campaigns", "sites", "customers", "payments", "hooks", "domains", "tickets", "grid", "users", "routes", "migrate", "db", "config", "prompts", "reload", "test", "version" }

local function out(s)
    io.stdout:write(s, "\n")
end

local function err(s)
    io.stderr:write(s, "\n")
end

local function load_command(name)
    if not name:match("^[a-z][a-z0-9_-]*$") then
        return nil
    end
    local ok, mod = pcall(require, "wm.cli." .. name)
    if ok and type(mod) == "table" and mod.run then
        return mod
    end
    if not ok and not tostring(mod):match("module 'wm.cli." .. name .. "' not found") then
        error(mod, 0)
    end
    return nil
end

function M.usage()
    local lines = {
        "usage: wm [--config FILE] <command> [options] [args]",
        "",
        "commands:",
    }
    for _, name in ipairs(M.commands) do
        local c = load_command(name)
        if c then
            lines[#lines + 1] = ("  %-10s %s"):format(name, c.summary or "")
        end
    end
    lines[#lines + 1] = ""
    lines[#lines + 1] = "Run `wm <command> --help` for a command's options."
    lines[#lines + 1] = "Configuration: config/wm.lua, --config FILE, WM_<SECTION>_<KEY> (see `wm config`)."
    return table.concat(lines, "\n")
end

-- Parses `args` by `flags`; "--x=v" and "--x v" both work; "--" ends flags.
-- Returns opts, positional | nil, message.
function M.parse(args, flags)
    flags = flags or {}
    local opts, pos = {}, {}
    local i = 1
    while i <= #args do
        local a = args[i]
        if a == "--" then
            for j = i + 1, #args do
                pos[#pos + 1] = args[j]
            end
            break
        elseif a:sub(1, 2) == "--" and #a > 2 then
            local name, value = a:match("^(%-%-[^=]+)=(.*)$")
            name = name or a
            local kind = flags[name]
            if not kind then
                return nil, "unknown option " .. name
            end
            local key = name:sub(3):gsub("-", "_")
            if kind == "boolean" then
                opts[key] = true
            else
                if value == nil then
                    i = i + 1
                    value = args[i]
                    if value == nil then
                        return nil, name .. " needs a value"
                    end
                end
                if kind == "number" then
                    local n = tonumber(value)
                    if not n then
                        return nil, name .. " needs a number (got " .. value .. ")"
                    end
                    value = n
                end
                opts[key] = value
            end
        else
            pos[#pos + 1] = a
            if flags.__stop_at_positional then
                for j = i + 1, #args do
                    pos[#pos + 1] = args[j]
                end
                break
            end
        end
        i = i + 1
    end
    return opts, pos
end

-- For scripts run by `wm run FILE.lua [args]`: answers --help (or -h) with
-- `usage` on stdout, and parses the rest by `flags` as M.parse does.
-- Returns opts, positional; or nil and the status the script should return
-- (0 after --help; 2 after a usage error, told on stderr with the usage).
--   local opts, pos = cli.script_args(arg, USAGE, { ["--cities"] = "number" })
--   if not opts then return pos end
function M.script_args(args, usage, flags)
    args = args or {}
    for _, a in ipairs(args) do
        if a == "--" then
            break
        end
        if a == "--help" or a == "-h" then
            out(usage)
            return nil, 0
        end
    end
    local opts, pos = M.parse(args, flags)
    if not opts then
        err(pos .. "\n\n" .. usage)
        return nil, 2
    end
    return opts, pos
end

local function wants_help(args, cmd)
    for _, a in ipairs(args) do
        if a == "--help" or a == "-h" then
            return true
        end
        if a == "--" or (cmd.flags and cmd.flags.__stop_at_positional and a:sub(1, 1) ~= "-") then
            return false
        end
    end
    return false
end

function M.main(argv)
    local name = argv[1]
    if name == nil then
        err(M.usage())
        return 2
    end
    if name == "--help" or name == "-h" or name == "help" then
        if argv[2] and load_command(argv[2]) then
            out(load_command(argv[2]).usage)
            return 0
        end
        out(M.usage())
        return 0
    end
    if name == "--version" or name == "-V" then
        name = "version"
    end
    local cmd = load_command(name)
    if not cmd then
        err("wm: unknown command '" .. name .. "'\n\n" .. M.usage())
        return 2
    end
    local rest = {}
    for i = 2, #argv do
        rest[#rest + 1] = argv[i]
    end
    if wants_help(rest, cmd) then
        out(cmd.usage)
        return 0
    end
    local opts, pos = M.parse(rest, cmd.flags)
    if not opts then
        err("wm " .. name .. ": " .. pos .. "\n\n" .. cmd.usage)
        return 2
    end
    local code = cmd.run(opts, pos)
    return code or 0
end

M.out, M.err = out, err
return M
