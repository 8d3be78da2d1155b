-- Pictures sent with a form: a strict multipart/form-data reader (RFC 7578
-- over RFC 2046) and the store of the pictures it accepts.
--
--   uploads.parse(req[, opts]) -> {fields = {name = value}, files = {{field=, sha256=, type=, width=,
--                                 height=, bytes=, removed=}}} | nil, err (a sentence for the person)
--       opts: max_files (3), max_file_bytes (5 MiB), max_pixels (40 M), max_fields (50),
--             max_field_bytes (64 KiB), max_parts (64), max_header_bytes (8 KiB a part),
--             max_total_bytes (max_files * max_file_bytes + 1 MiB)
--   uploads.read(body, content_type[, opts]) -> {fields = {name = value}, files = {{field=, filename=,
--                                 data=}}} | nil, err: the same reader and limits without the picture
--       checks and the store, for a form whose files are not pictures (SendGrid's Inbound Parse)
--   uploads.path(sha256) -> the stored file's path, its type | nil (not a stored upload)
--   uploads.dir() -> paths.var/uploads
--
-- Nothing the client says about a file is believed: its filename is not
-- used at all and its Content-Type is ignored. Each file part must be a
-- PNG, JPEG or WebP by its bytes (wm.image.clean), which also rewrites it
-- without its metadata; the cleaned bytes are stored once under
-- paths.var/uploads/<sha256>.<ext> (written atomically), named by their
-- own hash. A file input left empty (empty filename, no bytes) is no file.
-- Repeated field names: the first value is kept. Any malformed body is
-- nil, err: never a Lua error.
local find, sub, lower, match = string.find, string.sub, string.lower, string.match

local _M = {}

local MIB = 1024 * 1024
local DEFAULTS = {
    max_files = 3,
    max_file_bytes = 5 * MIB,
    max_pixels = 40000000,
    max_fields = 50,
    max_field_bytes = 64 * 1024,
    max_parts = 64,
    max_header_bytes = 8 * 1024,
}
local EXT = { png = "png", jpeg = "jpg", webp = "webp" }
local MIME = { png = "image/png", jpg = "image/jpeg", webp = "image/webp" }

local UNREADABLE = "The form could not be read. Please try again."

function _M.dir()
    return wm.config.paths.var .. "/uploads"
end

-- A header's parameters: `; name=token` or `; name="quoted \" string"`
-- after the value; names lower-cased. nil on a malformed list.
local function params(s)
    local out = {}
    local pos = 1
    local len = #s
    while true do
        local _, e = find(s, "^[ \t]*", pos)
        pos = e + 1
        if pos > len then
            return out
        end
        if sub(s, pos, pos) ~= ";" then
            return nil
        end
        _, e = find(s, "^[ \t]*", pos + 1)
        pos = e + 1
        if pos > len then
            return out                                 -- a trailing ";"
        end
        local name = match(s, "^([!#$%%&'*+.^_`|~%w-]+)", pos)
        if not name then
            return nil
        end
        pos = pos + #name
        _, e = find(s, "^[ \t]*=[ \t]*", pos)
        if not e then
            return nil
        end
        pos = e + 1
        local value
        if sub(s, pos, pos) == '"' then
            local parts = {}
            local i = pos + 1
            while true do
                local q = find(s, '["\\]', i)
                if not q then
                    return nil                         -- unterminated
                end
                parts[#parts + 1] = sub(s, i, q - 1)
                if sub(s, q, q) == '"' then
                    pos = q + 1
                    break
                end
                if q + 1 > len then
                    return nil
                end
                parts[#parts + 1] = sub(s, q + 1, q + 1)
                i = q + 2
            end
            value = table.concat(parts)
        else
            value = match(s, "^([!#$%%&'*+.^_`|~%w-]+)", pos)
            if not value then
                return nil
            end
            pos = pos + #value
        end
        name = lower(name)
        if out[name] ~= nil then
            return nil                                 -- a parameter given twice
        end
        out[name] = value
    end
end

-- The boundary of a multipart/form-data Content-Type, or nil.
local function boundary_of(content_type)
    if type(content_type) ~= "string" then
        return nil
    end
    local mt, rest = match(content_type, "^[ \t]*([%w!#$&^_.+-]+/[%w!#$&^_.+-]+)(.*)$")
    if not mt or lower(mt) ~= "multipart/form-data" then
        return nil
    end
    local p = params(rest)
    local b = p and p.boundary
    -- RFC 2046 5.1.1: 1 to 70 characters of bchars, not ending in a space.
    if not b or #b < 1 or #b > 70 or find(b, "[^%w'()+_,./:=? -]") or sub(b, -1) == " " then
        return nil
    end
    return b
end

-- A part's header block -> {name = lower-cased header name -> value} | nil.
local function part_headers(block)
    local out = {}
    if block == "" then
        return out
    end
    local pos = 1
    while pos <= #block + 1 do
        local e = find(block, "\r\n", pos, true)
        local line = sub(block, pos, (e or #block + 1) - 1)
        local name, value = match(line, "^([!#$%%&'*+.^_`|~%w-]+):[ \t]*(.-)[ \t]*$")
        if not name or find(value, "[%z\r\n]") then
            return nil
        end
        name = lower(name)
        if out[name] ~= nil then
            return nil
        end
        out[name] = value
        if not e then
            break
        end
        pos = e + 2
    end
    return out
end

-- Checks and cleans one picture (the n-th). -> wm.image.clean's result | nil, err
local function clean(data, n, opts)
    local img, why = wm.image.clean(data, opts.max_pixels)
    if not img or not EXT[img.type] then
        return nil, ("Picture %d is not a PNG, JPEG or WebP image we can use (%s)."):format(n,
            tostring(why or img.type))
    end
    return img
end

-- Stores a cleaned picture under its own hash (once: the same bytes are the
-- same file). -> {sha256=, type=, ext=, width=, height=, bytes=, removed=} | nil, err
local function store(img)
    local ext = EXT[img.type]
    local sha = wm.crypto.sha256_hex(img.data)
    local dir = _M.dir()
    local path = dir .. "/" .. sha .. "." .. ext
    if not wm.fs.stat(path) then
        local ok, err = wm.fs.mkdir_p(dir)
        if ok then
            ok, err = wm.fs.write_file(path, img.data, { atomic = true, mode = tonumber("640", 8) })
        end
        if not ok then
            wm.log.error("uploads: cannot store a picture", { path = path, error = tostring(err) })
            return nil, "Your pictures could not be saved just now. Please try again in a few minutes."
        end
    end
    return { sha256 = sha, type = MIME[ext], ext = ext, width = img.width, height = img.height, bytes = #img.data,
             removed = img.removed }
end

local function opt(opts, k)
    local v = opts and tonumber(opts[k])
    return v or DEFAULTS[k]
end

-- The form's fields and its file parts as sent (nothing checked, nothing
-- stored), within the limits o. -> fields, {{field=, filename=, data=}} | nil, err
local function read(body, content_type, o)
    local boundary = boundary_of(content_type)
    if not boundary then
        return nil, "The form was not sent as a file upload (multipart/form-data). Please use the page's form."
    end
    body = type(body) == "string" and body or ""
    if #body > o.max_total_bytes then
        return nil, ("The form is too large: at most %d pictures of %g MB each."):format(o.max_files,
            o.max_file_bytes / MIB)
    end
    local delim = "\r\n--" .. boundary
    -- The first delimiter may open the body (no CRLF before it); a preamble
    -- before a CRLF-led one is ignored (RFC 2046).
    local pos
    if sub(body, 1, #delim - 2) == sub(delim, 3) then
        pos = #delim - 1
    else
        local s = find(body, delim, 1, true)
        if not s then
            return nil, UNREADABLE
        end
        pos = s + #delim
    end
    local fields, files = {}, {}
    local nfields, nparts = 0, 0
    while true do
        -- After a delimiter: "--" closes the body; else optional padding, CRLF.
        if sub(body, pos, pos + 1) == "--" then
            return fields, files
        end
        local _, e = find(body, "^[ \t]*\r\n", pos)
        if not e then
            return nil, UNREADABLE
        end
        nparts = nparts + 1
        if nparts > o.max_parts then
            return nil, "The form has too many parts."
        end
        -- The part's header lines, then a blank line (CRLF CRLF), then its
        -- bytes up to the next delimiter line (whose CRLF is not part of
        -- them): "--boundary" at a line start followed by anything but "--"
        -- or padding and CRLF is not one, and stays content.
        local hstart = e + 1
        local s = find(sub(body, hstart, hstart + o.max_header_bytes + 3), "\r\n\r\n", 1, true)
        if not s or s == 1 then
            return nil, UNREADABLE                     -- no headers, or too many
        end
        local h = part_headers(sub(body, hstart, hstart + s - 2))
        local disp = h and h["content-disposition"]
        local dtype, drest = match(disp or "", "^([%w-]+)(.*)$")
        local p = dtype and lower(dtype) == "form-data" and params(drest)
        if not p or not p.name then
            return nil, UNREADABLE
        end
        local bstart = hstart + s + 3
        local bend = find(body, delim, bstart, true)
        while bend and sub(body, bend + #delim, bend + #delim + 1) ~= "--"
            and not find(body, "^[ \t]*\r\n", bend + #delim) do
            bend = find(body, delim, bend + 1, true)
        end
        if not bend then
            return nil, UNREADABLE
        end
        local value = sub(body, bstart, bend - 1)
        if p.filename ~= nil then
            if not (p.filename == "" and value == "") then
                if #files >= o.max_files then
                    return nil, ("At most %d pictures, please."):format(o.max_files)
                end
                if #value > o.max_file_bytes then
                    return nil, ("Picture %d is larger than %g MB."):format(#files + 1, o.max_file_bytes / MIB)
                end
                files[#files + 1] = { field = p.name, filename = p.filename, data = value }
            end
        else
            nfields = nfields + 1
            if nfields > o.max_fields then
                return nil, "The form has too many fields."
            end
            if #value > o.max_field_bytes then
                return nil, ("The text is too long: at most %d characters."):format(o.max_field_bytes)
            end
            if fields[p.name] == nil then
                fields[p.name] = value
            end
        end
        pos = bend + #delim
    end
end

local function limits(opts)
    local o = {}
    for k in pairs(DEFAULTS) do
        o[k] = opt(opts, k)
    end
    o.max_total_bytes = opts and tonumber(opts.max_total_bytes) or (o.max_files * o.max_file_bytes + MIB)
    return o
end

function _M.read(body, content_type, opts)
    local fields, files = read(body, content_type, limits(opts))
    if not fields then
        return nil, files
    end
    return { fields = fields, files = files }
end

function _M.parse(req, opts)
    local o = limits(opts)
    local headers = type(req) == "table" and type(req.headers) == "table" and req.headers or {}
    local fields, pending = read(type(req) == "table" and req.body, headers["content-type"], o)
    if not fields then
        return nil, pending
    end
    -- Only a whole, well-formed form whose every picture passes stores anything.
    for i, f in ipairs(pending) do
        local img, err = clean(f.data, i, o)
        if not img then
            return nil, err
        end
        f.img = img
    end
    local files = {}
    for i, f in ipairs(pending) do
        local saved, err = store(f.img)
        if not saved then
            return nil, err
        end
        saved.field = f.field
        files[i] = saved
    end
    return { fields = fields, files = files }
end

-- The stored upload named by `sha256`: its path and MIME type, or nil.
function _M.path(sha256)
    if type(sha256) ~= "string" or not match(sha256, "^" .. string.rep("%x", 64) .. "$") then
        return nil
    end
    sha256 = lower(sha256)
    for ext, mime in pairs(MIME) do
        local path = _M.dir() .. "/" .. sha256 .. "." .. ext
        if wm.fs.stat(path) then
            return path, mime
        end
    end
    return nil
end

_M.boundary_of = boundary_of

return _M
