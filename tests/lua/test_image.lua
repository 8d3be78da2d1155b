-- wm.image.clean (core/image.c) on pictures made by Pillow (Debian
-- python3-pil) with the metadata cameras and editors write: the result is
-- the same picture (Pillow decodes it to the same pixels) without EXIF, GPS,
-- XMP, comments or text chunks; files that only pretend to be images, or
-- are damaged, are refused with a reason.
local T = {}

local PY = "/usr/bin/python3"

local MAKE = [[
import io, sys, base64, json
from PIL import Image, PngImagePlugin
img = Image.new("RGB", (37, 23))
for x in range(37):
    for y in range(23):
        img.putpixel((x, y), ((x * 7) % 256, (y * 11) % 256, (x * y) % 256))
exif = Image.Exif()
exif[0x010F] = "SecretCam"          # Make
exif[0x013B] = "Jane Photographer"  # Artist
exif[0x8825] = {1: "N", 2: (37.0, 46.0, 30.0)}  # GPS
out = {}
b = io.BytesIO(); info = PngImagePlugin.PngInfo(); info.add_text("Author", "Jane Photographer"); info.add_itxt("Comment", "secret comment")
img.save(b, "PNG", pnginfo=info, exif=exif); out["png"] = b.getvalue()
b = io.BytesIO(); img.save(b, "JPEG", quality=95, exif=exif, comment=b"secret comment"); out["jpeg"] = b.getvalue()
b = io.BytesIO(); img.save(b, "JPEG", quality=90, progressive=True, exif=exif); out["jpeg_progressive"] = b.getvalue()
b = io.BytesIO(); img.save(b, "WEBP", quality=90, exif=exif.tobytes(), xmp=b"<x:xmpmeta>Jane Photographer</x:xmpmeta>"); out["webp"] = b.getvalue()
b = io.BytesIO(); img.save(b, "WEBP", lossless=True); out["webp_lossless"] = b.getvalue()
json.dump({k: base64.b64encode(v).decode() for k, v in out.items()}, sys.stdout)
]]

-- Pillow's view of a file: {format, size, pixels digest, exif tags, info keys}.
local READ = [[
import io, sys, hashlib, json
from PIL import Image
data = sys.stdin.buffer.read()
img = Image.open(io.BytesIO(data)); img.load()
px = hashlib.sha256(img.convert("RGB").tobytes()).hexdigest()
print(json.dumps({"format": img.format, "size": list(img.size), "pixels": px,
                  "exif": len(img.getexif()), "info": sorted(k for k in img.info.keys() if k not in ("jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "progression", "progressive", "loop", "duration", "background", "timestamp"))}))
]]

local function have_pillow()
    local r = wm.exec { argv = { PY, "-c", "import PIL" } }
    return r and r.code == 0
end

local function make()
    local r = assert(wm.exec { argv = { PY, "-c", MAKE }, timeout = 60 })
    assert(r.code == 0, r.stderr)
    local out = {}
    for k, v in pairs(wm.json.decode(r.stdout)) do
        out[k] = wm.crypto.b64_decode(v)
    end
    return out
end

local function pillow(data)
    local r = assert(wm.exec { argv = { PY, "-c", READ }, stdin = data, timeout = 60 })
    assert(r.code == 0, r.stderr)
    return wm.json.decode(r.stdout)
end

function T.metadata_goes_and_the_picture_stays(t)
    if not have_pillow() then
        t.skip("python3-pil is not installed (.ci/setup.sh --test installs it)")
    end
    local formats = { png = "PNG", jpeg = "JPEG", jpeg_progressive = "JPEG", webp = "WEBP", webp_lossless = "WEBP" }
    for name, data in pairs(make()) do
        local before = pillow(data)
        local img, err = wm.image.clean(data)
        t.ok(img, name .. ": " .. tostring(err))
        t.eq(img.type, name:match("^(%a+)"), name)
        t.eq(img.width, 37, name)
        t.eq(img.height, 23, name)
        t.ok(#img.data <= #data, name .. " only shrinks")
        local after = pillow(img.data)
        t.eq(after.format, formats[name])
        t.eq(after.pixels, before.pixels, name .. ": the same pixels")
        t.eq(after.exif, 0, name .. ": no EXIF left")
        t.eq(#after.info, 0, name .. ": no metadata left: " .. table.concat(after.info, ","))
        t.no_match(img.data, "Jane Photographer", name)
        t.no_match(img.data, "SecretCam", name)
        t.no_match(img.data, "secret comment", name)
        if name ~= "webp_lossless" then
            t.ok(img.removed > 0, name .. " had metadata to remove")
        end
        -- Cleaning twice changes nothing more.
        local again = assert(wm.image.clean(img.data))
        t.eq(again.data, img.data, name .. " is stable")
        t.eq(again.removed, 0)
    end
end

function T.pretenders_and_damaged_files_are_refused(t)
    if not have_pillow() then
        t.skip("python3-pil is not installed (.ci/setup.sh --test installs it)")
    end
    local imgs = make()
    local cases = {
        { "<?php system($_GET['c']); ?>", "not a PNG, JPEG or WebP image" },
        { "GIF89a\1\0\1\0", "not a PNG, JPEG or WebP image" },
        { "", "not a PNG, JPEG or WebP image" },
        { imgs.png:sub(1, 40), "damaged PNG" },
        { imgs.png:sub(1, 30) .. "X" .. imgs.png:sub(32), "damaged PNG" }, -- a flipped byte fails the CRC
        { imgs.jpeg:sub(1, #imgs.jpeg - 200), "damaged JPEG" },
        { imgs.webp:sub(1, 20), "damaged WebP" },
        { "RIFF\255\255\255\127WEBPVP8 ", "damaged WebP" },
    }
    for i, c in ipairs(cases) do
        local img, err = wm.image.clean(c[1])
        t.eq(img, nil, "case " .. i)
        t.match(err, c[2], "case " .. i)
    end
    -- A PNG with a PHP file glued after its end: the picture is kept, the rest is not.
    local img = assert(wm.image.clean(imgs.png .. "<?php system($_GET['c']); ?>"))
    t.no_match(img.data, "<%?php")
    t.eq(img.data:sub(-12), "\0\0\0\0IEND\174\66\96\130", "it ends with IEND")
    -- Too many pixels for the limit.
    local _, err = wm.image.clean(imgs.png, 100)
    t.match(err, "too many pixels %(37x23%)")
end

-- The fuzz target's seeds (tests/fuzz/corpus/image: palette PNG, text/EXIF
-- chunks, progressive JPEG, lossy/lossless/alpha WebP) need no Pillow: each
-- picture is read as its type with a size, only shrinks, and a second clean
-- changes nothing; the pretender is refused. (The corpus replay only checks
-- that whatever passes is stable: it would pass if every seed were refused.)
function T.the_fuzz_seeds_are_cleaned(t)
    local dir = wm.root .. "/tests/fuzz/corpus/image"
    local types = { png = "png", jpg = "jpeg", webp = "webp" }
    local pictures = 0
    for _, name in ipairs(assert(wm.fs.list_dir(dir))) do
        local data = assert(wm.fs.read_file(dir .. "/" .. name))
        local want = types[name:match("%.(%w+)$")]
        local img, err = wm.image.clean(data)
        if want then
            pictures = pictures + 1
            t.ok(img, name .. ": " .. tostring(err))
            t.eq(img.type, want, name)
            t.ok(img.width > 0 and img.height > 0, name .. " has a size")
            t.ok(#img.data <= #data, name .. " only shrinks")
            if name:match("exif") then
                t.ok(img.removed > 0, name .. " had metadata to remove")
            end
            local again = assert(wm.image.clean(img.data))
            t.eq(again.data, img.data, name .. " is stable")
            t.eq(again.removed, 0, name)
        else
            t.eq(img, nil, name)
            t.match(err, "not a PNG, JPEG or WebP image", name)
        end
    end
    t.eq(pictures, 7, "the seven seed pictures")
end

return T
