-- lib/uploads.lua: the multipart/form-data reader on exact cases (fields,
-- pictures checked by their bytes whatever their name and Content-Type say,
-- metadata removed, stored once under paths.var/uploads/<sha256>.<ext>,
-- limits, malformed bodies) and on random and mutated bodies (never a Lua
-- error, only nil, err); /admin/uploads/<sha256> for staff only with safe
-- headers; and the server's body limit per path (http.upload_paths) through
-- a real wm HTTP server.
local uploads = require "lib.uploads"
local users = require "domain.admin_users"
local T = {}

local PY = "/usr/bin/python3"
local B = "----wmTestBoundary7MA4YWxkTrZu0gW"
local PASSWORD = "correct horse battery"

-- Pictures made by Pillow with metadata: {png=, jpeg=, webp=, gif=}.
local MAKE = [[
import io, sys, base64, json
from PIL import Image, PngImagePlugin
img = Image.new("RGB", (31, 17), (200, 40, 90))
exif = Image.Exif(); exif[0x013B] = "Jane Photographer"
out = {}
b = io.BytesIO(); info = PngImagePlugin.PngInfo(); info.add_text("Author", "Jane Photographer")
img.save(b, "PNG", pnginfo=info); out["png"] = b.getvalue()
b = io.BytesIO(); img.save(b, "JPEG", quality=90, exif=exif); out["jpeg"] = b.getvalue()
b = io.BytesIO(); img.save(b, "WEBP", quality=90, exif=exif.tobytes()); out["webp"] = b.getvalue()
b = io.BytesIO(); img.save(b, "GIF"); out["gif"] = b.getvalue()
json.dump({k: base64.b64encode(v).decode() for k, v in out.items()}, sys.stdout)
]]

local pictures
local function pics(t)
    if pictures then
        return pictures
    end
    local r = wm.exec { argv = { PY, "-c", MAKE }, timeout = 60 }
    if not r or r.code ~= 0 then
        t.skip("python3-pil is not installed")
    end
    pictures = {}
    for k, v in pairs(wm.json.decode(r.stdout)) do
        pictures[k] = wm.crypto.b64_decode(v)
    end
    return pictures
end

-- A multipart body: parts = {{name=, value=} | {name=, filename=, type=, data=}}.
local function body(parts, boundary)
    boundary = boundary or B
    local out = {}
    for _, p in ipairs(parts) do
        out[#out + 1] = "--" .. boundary .. "\r\n"
        if p.filename then
            out[#out + 1] = ('Content-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: %s\r\n\r\n')
                :format(p.name, p.filename, p.type or "application/octet-stream")
            out[#out + 1] = p.data
        else
            out[#out + 1] = ('Content-Disposition: form-data; name="%s"\r\n\r\n'):format(p.name)
            out[#out + 1] = p.value
        end
        out[#out + 1] = "\r\n"
    end
    out[#out + 1] = "--" .. boundary .. "--\r\n"
    return table.concat(out)
end

local function req(b, content_type)
    return { headers = { ["content-type"] = content_type or ("multipart/form-data; boundary=" .. B) }, body = b }
end

local function stored()
    local names = {}
    for _, e in ipairs(wm.fs.list_dir(uploads.dir()) or {}) do
        names[#names + 1] = type(e) == "table" and e.name or e
    end
    table.sort(names)
    return names
end

local function fresh(t)
    t.config("paths", { var = t.tmpdir() })
end

function T.fields_and_pictures_checked_by_their_bytes(t)
    fresh(t)
    local p = pics(t)
    local res, err = uploads.parse(req(body {
        { name = "csrf", value = "tok" },
        { name = "text", value = "Make the header blue.\r\nAnd bigger." },
        -- A PNG named and typed as a JPEG, a JPEG with a path for a name, a WebP with no type.
        { name = "pictures", filename = "photo.jpg", type = "image/jpeg", data = p.png },
        { name = "pictures", filename = "../../etc/passwd", type = "text/plain", data = p.jpeg },
        { name = "pictures", filename = "x", data = p.webp },
        { name = "text", value = "a second text is ignored" },
        { name = "empty_input", filename = "", data = "" },
    }), { max_files = 3, max_file_bytes = 5 * 2 ^ 20 })
    t.ok(res, err)
    t.eq(res.fields, { csrf = "tok", text = "Make the header blue.\r\nAnd bigger." })
    t.eq(#res.files, 3, "the empty file input is no file")
    t.eq({ res.files[1].type, res.files[2].type, res.files[3].type }, { "image/png", "image/jpeg", "image/webp" })
    t.eq({ res.files[1].width, res.files[1].height }, { 31, 17 })
    for i, f in ipairs(res.files) do
        t.eq(f.field, "pictures")
        local path, mime = uploads.path(f.sha256)
        t.eq(mime, f.type)
        t.eq(path, uploads.dir() .. "/" .. f.sha256 .. "." .. f.ext, "named by its hash, never by the sender")
        local data = assert(wm.fs.read_file(path))
        t.eq(#data, f.bytes)
        t.eq(wm.crypto.sha256_hex(data), f.sha256)
        t.ok(not data:find("Jane Photographer", 1, true), "metadata removed from picture " .. i)
    end
    t.eq(#stored(), 3)
    -- The same picture again is the same file.
    res = assert(uploads.parse(req(body { { name = "f", filename = "again.png", data = p.png } })))
    t.eq(#stored(), 3)
end

function T.pretenders_and_limits_are_refused_and_nothing_is_stored(t)
    fresh(t)
    local p = pics(t)
    local function refused(parts, opts, want, content_type)
        local res, err = uploads.parse(req(type(parts) == "string" and parts or body(parts), content_type), opts)
        t.eq(res, nil, want)
        t.ok(type(err) == "string" and #err > 0, "says why")
        if want then
            t.match(err, want)
        end
        return err
    end
    local php = "<?php system($_GET['c']); ?>"
    refused({ { name = "f", filename = "shell.png", type = "image/png", data = php } }, nil, "not a PNG, JPEG or WebP")
    refused({ { name = "f", filename = "shell.png", type = "image/png", data = "\137PNG\r\n\26\n" .. php } }, nil,
        "Picture 1")
    refused({ { name = "f", filename = "a.gif", type = "image/gif", data = p.gif } }, nil, "not a PNG")
    refused({ { name = "f", filename = "page.png", type = "image/png", data = "<html><script>alert(1)</script>" } })
    -- The second picture is bad: the first is not stored either.
    refused({ { name = "f", filename = "ok.png", data = p.png }, { name = "f", filename = "bad.png", data = php } }, nil,
        "Picture 2")
    refused({ { name = "a", filename = "1.png", data = p.png }, { name = "b", filename = "2.png", data = p.png },
              { name = "c", filename = "3.png", data = p.png }, { name = "d", filename = "4.png", data = p.png } },
        { max_files = 3 }, "At most 3 pictures")
    refused({ { name = "f", filename = "big.png", data = p.png } }, { max_file_bytes = #p.png - 1 }, "larger than")
    refused({ { name = "t", value = string.rep("x", 101) } }, { max_field_bytes = 100 }, "too long")
    refused({ { name = "f", filename = "ok.png", data = p.png } }, { max_total_bytes = 100 }, "too large")
    local many = {}
    for i = 1, 11 do
        many[i] = { name = "f" .. i, value = "v" }
    end
    refused(many, { max_fields = 10 }, "too many fields")
    refused(body { { name = "t", value = "x" } }, nil, "multipart", "application/x-www-form-urlencoded")
    refused(body { { name = "t", value = "x" } }, nil, "multipart", "multipart/form-data")
    refused(body { { name = "t", value = "x" } }, nil, "multipart", "multipart/form-data; boundary=" .. string.rep("b", 71))
    refused(body { { name = "t", value = "x" } }, nil, "multipart", "multipart/mixed; boundary=" .. B)
    t.eq(stored(), {}, "nothing stored")
end

function T.exact_framing_rules(t)
    fresh(t)
    local function fields(b, content_type)
        local res, err = uploads.parse(req(b, content_type))
        return res and res.fields, err
    end
    -- A quoted boundary with a space and other bchars, a preamble and an epilogue.
    local qb = "a'b(c)+_,-./:=? d"
    t.eq(fields("preamble to ignore\r\n" .. body({ { name = "n", value = "v" } }, qb) .. "epilogue",
        'multipart/form-data; charset=utf-8; boundary="' .. qb .. '"'), { n = "v" })
    -- Quoted names with an escaped quote; an unquoted name; padding after a delimiter.
    t.eq(fields("--" .. B .. "  \r\nContent-Disposition: form-data; name=\"a\\\"b\"\r\n\r\n1\r\n--" .. B
        .. "\r\ncontent-disposition: FORM-DATA; name=plain\r\n\r\n2\r\n--" .. B .. "--"), { ['a"b'] = "1", plain = "2" })
    -- The boundary's text inside a value, not at a line start, is content.
    t.eq(fields(body { { name = "n", value = "x--" .. B .. "y" } }), { n = "x--" .. B .. "y" })
    -- An empty value; CR and LF inside a value.
    t.eq(fields(body { { name = "e", value = "" }, { name = "c", value = "\r\n\r\n" } }), { e = "", c = "\r\n\r\n" })
    local bad = {
        LF_only = body({ { name = "n", value = "v" } }):gsub("\r\n", "\n"),
        no_close = "--" .. B .. "\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\nv",
        no_close_delimiter = "--" .. B .. "\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\nv\r\n",
        no_disposition = "--" .. B .. "\r\nContent-Type: text/plain\r\n\r\nv\r\n--" .. B .. "--",
        not_form_data = "--" .. B .. "\r\nContent-Disposition: attachment; name=\"n\"\r\n\r\nv\r\n--" .. B .. "--",
        no_name = "--" .. B .. "\r\nContent-Disposition: form-data; filename=\"a.png\"\r\n\r\nv\r\n--" .. B .. "--",
        no_headers = "--" .. B .. "\r\n\r\nv\r\n--" .. B .. "--",
        folded_header = "--" .. B .. "\r\nContent-Disposition: form-data;\r\n name=\"n\"\r\n\r\nv\r\n--" .. B .. "--",
        unterminated_quote = "--" .. B .. "\r\nContent-Disposition: form-data; name=\"n\r\n\r\nv\r\n--" .. B .. "--",
        twice = "--" .. B .. "\r\nContent-Disposition: form-data; name=\"a\"; name=\"b\"\r\n\r\nv\r\n--" .. B .. "--",
        junk_after_delimiter = "--" .. B .. "junk\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\nv\r\n--" .. B .. "--",
        no_delimiter = "Content-Disposition: form-data; name=\"n\"\r\n\r\nv",
        empty = "",
        huge_headers = "--" .. B .. "\r\nContent-Disposition: form-data; name=\"n\"\r\nX-Pad: " .. string.rep("p", 9000)
            .. "\r\n\r\nv\r\n--" .. B .. "--",
    }
    for what, b in pairs(bad) do
        local f, err = fields(b)
        t.eq(f, nil, what)
        t.ok(type(err) == "string", what)
    end
end

-- Random and mutated bodies: the parser answers a table or nil, err, and
-- never raises (a Lua error would be a 500 and a crash of its task).
function T.fuzz_never_a_lua_error(t)
    fresh(t)
    local p = pics(t)
    math.randomseed(tonumber(os.getenv("WM_FUZZ_SEED") or "") or 13)
    local seeds = {
        body { { name = "csrf", value = "tok" }, { name = "text", value = "hello" } },
        body { { name = "f", filename = "a.png", type = "image/png", data = p.png }, { name = "t", value = "x" } },
        "--" .. B .. "\r\nContent-Disposition: form-data; name=\"a\\\"b\"; filename=\"q\\\\\"\r\n\r\n1\r\n--" .. B .. "--",
    }
    local tokens = { "\r\n", "\r", "\n", "--", "--" .. B, "\r\n--" .. B, "\r\n--" .. B .. "--", '"', "\\", ";", "=",
                     "name=", "filename=", "Content-Disposition: form-data; ", "\r\n\r\n", "\0", "\255", " ", "\t" }
    local function mutate(s)
        for _ = 1, math.random(1, 6) do
            local k = math.random(1, 5)
            local i = math.random(1, #s + 1)
            if k == 1 then                                   -- flip a byte
                s = s:sub(1, i - 1) .. string.char(math.random(0, 255)) .. s:sub(i + 1)
            elseif k == 2 then                               -- insert a token
                s = s:sub(1, i - 1) .. tokens[math.random(#tokens)] .. s:sub(i)
            elseif k == 3 then                               -- cut a span
                s = s:sub(1, i - 1) .. s:sub(i + math.random(1, 40))
            elseif k == 4 then                               -- truncate
                s = s:sub(1, i)
            else                                             -- repeat a span
                local j = math.min(#s, i + math.random(0, 60))
                s = s:sub(1, j) .. s:sub(i, j) .. s:sub(j + 1)
            end
        end
        return s
    end
    local function random_bytes()
        local out = {}
        for i = 1, math.random(0, 300) do
            out[i] = math.random() < 0.3 and tokens[math.random(#tokens)] or string.char(math.random(0, 255))
        end
        return table.concat(out)
    end
    local cts = { "multipart/form-data; boundary=" .. B, 'multipart/form-data; boundary="' .. B .. '"',
                  'multipart/form-data; boundary="' .. B, "multipart/form-data; boundary=", "multipart/form-data;;",
                  "MULTIPART/FORM-DATA ; boundary=" .. B, "text/plain" }
    local ok_count, err_count = 0, 0
    for n = 1, 3000 do
        local b = n % 3 == 0 and random_bytes() or mutate(seeds[math.random(#seeds)])
        local ct = n % 7 == 0 and mutate(cts[math.random(#cts)]) or cts[math.random(#cts)]
        local okcall, res, err = pcall(uploads.parse, { headers = { ["content-type"] = ct }, body = b },
            { max_files = 2, max_file_bytes = 4096, max_fields = 8, max_parts = 10 })
        if not okcall then
            t.fail(("Lua error on case %d: %s\nbody %q\ncontent-type %q"):format(n, tostring(res), b, ct))
        end
        if res then
            t.eq(type(res.fields), "table")
            t.eq(type(res.files), "table")
            ok_count = ok_count + 1
        else
            t.eq(type(err), "string", "an error is a sentence")
            err_count = err_count + 1
        end
    end
    t.ok(ok_count > 0 and err_count > 0, ("both outcomes seen (%d parsed, %d refused)"):format(ok_count, err_count))
    -- Nor on arguments that are not a request at all.
    for _, r in ipairs({ {}, { headers = {} }, { headers = { ["content-type"] = 7 }, body = 7 } }) do
        local okcall, res, err = pcall(uploads.parse, r)
        t.ok(okcall and res == nil and type(err) == "string")
    end
end

local port
local function server(t)
    assert(wm.db.query("DROP SCHEMA public CASCADE"))
    assert(wm.db.query("CREATE SCHEMA public"))
    assert(require("wm.migrate").up())
    fresh(t)
    local http_server = require "wm.http_server"
    local srv = assert(http_server.start { listen = "127.0.0.1:0" })
    port = select(2, srv:address())
    t.defer(function() http_server.stop(0) end)
    t.config("sites", { base_url = "http://127.0.0.1:" .. port })
end

local function http(method, path, opts)
    opts = opts or {}
    return assert(wm.http.request { method = method, url = "http://127.0.0.1:" .. port .. path,
                                    headers = opts.headers or {}, body = opts.body, timeout = 30 })
end

function T.staff_only_serving_with_safe_headers(t)
    local p = pics(t)
    server(t)
    local res = assert(uploads.parse(req(body { { name = "f", filename = "evil.html", type = "text/html", data = p.png } })))
    local sha = res.files[1].sha256
    assert(wm.db.tx(function()
        return assert(users.add({ email = "viewer@example.com", role = "viewer", password = PASSWORD }))
    end))
    local login = http("POST", "/admin/login", { headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
        body = "email=viewer%40example.com&password=" .. PASSWORD:gsub(" ", "+") .. "&csrf=" })
    t.eq(login.status, 303)
    local cookie = "wm_admin=" .. login.headers["set-cookie"]:match("^wm_admin=([^;]+)")
    local got = http("GET", "/admin/uploads/" .. sha, { headers = { Cookie = cookie } })
    t.eq(got.status, 200)
    t.eq(got.body, assert(wm.fs.read_file((uploads.path(sha)))))
    t.eq(got.headers["content-type"], "image/png", "the checked type, not the sender's")
    t.eq(got.headers["x-content-type-options"], "nosniff")
    t.match(got.headers["content-security-policy"], "sandbox")
    t.match(got.headers["content-security-policy"], "default%-src 'none'")
    t.match(got.headers["cache-control"], "^private")
    t.ne(http("GET", "/admin/uploads/" .. sha).status, 200, "signed out")
    t.eq(http("GET", "/admin/uploads/" .. sha, { headers = { Cookie = "wm_admin=forged" } }).status ~= 200, true)
    t.eq(http("GET", "/admin/uploads/" .. string.rep("0", 64), { headers = { Cookie = cookie } }).status, 404)
    t.eq(http("GET", "/admin/uploads/..%2F..%2Fwm.lock", { headers = { Cookie = cookie } }).status, 404)
    t.eq(http("GET", "/admin/uploads/" .. sha .. ".png", { headers = { Cookie = cookie } }).status, 404)
end

function T.big_bodies_only_on_upload_paths(t)
    server(t)
    local big = string.rep("u", 2 * 1024 * 1024)
    local function post(path)
        local headers = { ["Content-Type"] = "application/octet-stream" }
        return http("POST", path, { headers = headers, body = big }).status
    end
    t.eq(wm.config.http.upload_paths, { "/portal/support/" }, "the default")
    t.ne(post("/portal/support/new"), 413, "2 MB to an upload path reaches routing")
    t.ne(post("/portal/support"), 413, "and to the prefix without its slash")
    t.eq(post("/portal/other"), 413, "2 MB elsewhere is refused before routing")
    t.eq(post("/admin/login"), 413)
    t.ne(http("POST", "/portal/other", { body = string.rep("u", 1000) }).status, 413, "a small body anywhere")
end

return T
