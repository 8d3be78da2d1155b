-- HTML character references, decoded as a browser decodes them: named ones
-- (the common set plus the ASCII punctuation names attack strings use),
-- the legacy few that work without a semicolon (but not before [%w=] in an
-- attribute value), and numeric ones, with NUL, surrogates and values past
-- U+10FFFF as U+FFFD and 0x80-0x9F read as Windows-1252.
--
--   entities.decode(s, in_attr) -> s with its character references decoded
local tonumber = tonumber
local char, sub, find, match, concat = string.char, string.sub, string.find, string.match, table.concat
local floor = math.floor

local _M = {}

local NAMED = {
    amp = "&", lt = "<", gt = ">", quot = '"', apos = "'", nbsp = "\194\160",
    copy = "\194\169", reg = "\194\174", trade = "\226\132\162", hellip = "\226\128\166",
    mdash = "\226\128\148", ndash = "\226\128\147", lsquo = "\226\128\152", rsquo = "\226\128\153",
    ldquo = "\226\128\156", rdquo = "\226\128\157", sbquo = "\226\128\154", bdquo = "\226\128\158",
    laquo = "\194\171", raquo = "\194\187", bull = "\226\128\162", middot = "\194\183",
    deg = "\194\176", plusmn = "\194\177", times = "\195\151", divide = "\195\183",
    frac12 = "\194\189", frac14 = "\194\188", frac34 = "\194\190", euro = "\226\130\172",
    pound = "\194\163", yen = "\194\165", cent = "\194\162", sect = "\194\167", para = "\194\182",
    iexcl = "\194\161", iquest = "\194\191", aacute = "\195\161", eacute = "\195\169",
    iacute = "\195\173", oacute = "\195\179", uacute = "\195\186", ntilde = "\195\177",
    Aacute = "\195\129", Eacute = "\195\137", Iacute = "\195\141", Oacute = "\195\147",
    Uacute = "\195\154", Ntilde = "\195\145", uuml = "\195\188", Uuml = "\195\156",
    auml = "\195\164", ouml = "\195\182", Auml = "\195\132", Ouml = "\195\150", szlig = "\195\159",
    ccedil = "\195\167", Ccedil = "\195\135", agrave = "\195\160", egrave = "\195\168",
    ecirc = "\195\170", ocirc = "\195\180", acirc = "\195\162", star = "\226\152\134",
    starf = "\226\152\133", check = "\226\156\147", hearts = "\226\153\165", rarr = "\226\134\146",
    larr = "\226\134\144", ensp = "\226\128\130", emsp = "\226\128\131", thinsp = "\226\128\137",
    zwnj = "\226\128\140", zwj = "\226\128\141", shy = "\194\173",
    -- ASCII punctuation (HTML5 names), which attack strings love.
    colon = ":", Tab = "\t", NewLine = "\n", lpar = "(", rpar = ")", sol = "/", bsol = "\\",
    num = "#", quest = "?", excl = "!", period = ".", comma = ",", semi = ";", equals = "=",
    plus = "+", lowbar = "_", dollar = "$", percnt = "%", ast = "*", commat = "@", lsqb = "[",
    rsqb = "]", lcub = "{", rcub = "}", verbar = "|", grave = "`", hyphen = "-", dash = "\226\128\144",
    Hat = "^",
}
-- Entities a browser decodes even without the semicolon.
-- Entities a browser decodes even without the semicolon.
local LEGACY = { amp = true, lt = true, gt = true, quot = true, nbsp = true, copy = true, reg = true,
    AMP = true, LT = true, GT = true, QUOT = true }
NAMED.AMP, NAMED.LT, NAMED.GT, NAMED.QUOT = "&", "<", ">", '"'

local CP1252 = {
    [0x80] = 0x20AC, [0x82] = 0x201A, [0x83] = 0x0192, [0x84] = 0x201E, [0x85] = 0x2026,
    [0x86] = 0x2020, [0x87] = 0x2021, [0x88] = 0x02C6, [0x89] = 0x2030, [0x8A] = 0x0160,
    [0x8B] = 0x2039, [0x8C] = 0x0152, [0x8E] = 0x017D, [0x91] = 0x2018, [0x92] = 0x2019,
    [0x93] = 0x201C, [0x94] = 0x201D, [0x95] = 0x2022, [0x96] = 0x2013, [0x97] = 0x2014,
    [0x98] = 0x02DC, [0x99] = 0x2122, [0x9A] = 0x0161, [0x9B] = 0x203A, [0x9C] = 0x0153,
    [0x9E] = 0x017E, [0x9F] = 0x0178,
}

local function utf8_char(cp)
    if cp < 0x80 then
        return char(cp)
    elseif cp < 0x800 then
        return char(0xC0 + floor(cp / 64), 0x80 + cp % 64)
    elseif cp < 0x10000 then
        return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
    end
    return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64,
        0x80 + cp % 64)
end

local function numeric(digits, hex)
    local cp
    if #digits > 8 then
        cp = 0x110000
    else
        cp = tonumber(digits, hex and 16 or 10)
    end
    if cp == 0 or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then
        return "\239\191\189"
    end
    cp = CP1252[cp] or cp
    return utf8_char(cp)
end

-- Decodes character references as a browser would in text or (in_attr) in
-- an attribute value.
local function decode(s, in_attr)
    if not find(s, "&", 1, true) then
        return s
    end
    local out, n, pos, len = {}, 0, 1, #s
    while pos <= len do
        local amp = find(s, "&", pos, true)
        if not amp then
            n = n + 1
            out[n] = sub(s, pos)
            break
        end
        if amp > pos then
            n = n + 1
            out[n] = sub(s, pos, amp - 1)
        end
        local rep, stop
        local hx = match(s, "^#[xX](%x+)", amp + 1)
        if hx then
            rep = numeric(hx, true)
            stop = amp + 2 + #hx
            if sub(s, stop + 1, stop + 1) == ";" then
                stop = stop + 1
            end
        else
            local dg = match(s, "^#(%d+)", amp + 1)
            if dg then
                rep = numeric(dg, false)
                stop = amp + 1 + #dg
                if sub(s, stop + 1, stop + 1) == ";" then
                    stop = stop + 1
                end
            else
                local name = match(s, "^(%w+)", amp + 1)
                if name then
                    if sub(s, amp + 1 + #name, amp + 1 + #name) == ";" and NAMED[name] then
                        rep = NAMED[name]
                        stop = amp + 1 + #name
                    else
                        -- Longest legacy prefix without a semicolon.
                        for l = math.min(#name, 6), 2, -1 do
                            local pre = sub(name, 1, l)
                            if LEGACY[pre] then
                                local nxt = sub(s, amp + 1 + l, amp + 1 + l)
                                if not (in_attr and nxt:match("[%w=]")) then
                                    rep = NAMED[pre]
                                    stop = amp + l
                                end
                                break
                            end
                        end
                    end
                end
            end
        end
        if rep then
            n = n + 1
            out[n] = rep
            pos = stop + 1
        else
            n = n + 1
            out[n] = "&"
            pos = amp + 1
        end
    end
    return concat(out, "", 1, n)
end
_M.decode = decode

return _M
