-- ASCII folding and slugs for scraped names: "García & Sons Plumbing" ->
-- "garcia-and-sons-plumbing". Latin letters with diacritics fold to their
-- base letter; everything else outside ASCII letters and digits becomes a
-- separator, so hostile input (markup, quotes, bidi controls, emoji) cannot
-- reach a slug or a domain guess.
local type, error, tostring, pairs = type, error, tostring, pairs
local concat = table.concat
local gsub, lower = string.gsub, string.lower

local _M = {}

-- Two-byte UTF-8 letters (Latin-1 Supplement and Latin Extended-A) -> ASCII.
local FOLD = {}
local groups = {
    a = "àáâãäåāăąÀÁÂÃÄÅĀĂĄ", c = "çćĉċčÇĆĈĊČ", d = "ďđĎĐ", e = "èéêëēĕėęěÈÉÊËĒĔĖĘĚ",
    g = "ĝğġģĜĞĠĢ", h = "ĥħĤĦ", i = "ìíîïĩīĭįıÌÍÎÏĨĪĬĮİ", j = "ĵĴ", k = "ķĶ", l = "ĺļľŀłĹĻĽĿŁ",
    n = "ñńņňÑŃŅŇ", o = "òóôõöøōŏőÒÓÔÕÖØŌŎŐ", r = "ŕŗřŔŖŘ", s = "śŝşšŚŜŞŠ", t = "ţťŧŢŤŦ",
    u = "ùúûüũūŭůűųÙÚÛÜŨŪŬŮŰŲ", w = "ŵŴ", y = "ýÿŷÝŸŶ", z = "źżžŹŻŽ",
    ss = "ß", ae = "æÆ", oe = "œŒ", th = "þÞ", dh = "ðÐ",
}
for base, chars in pairs(groups) do
    for ch in chars:gmatch("[\192-\223][\128-\191]") do
        FOLD[ch] = base
    end
end

-- `s` folded to lower-case ASCII: accented Latin letters lose their
-- accents, "&" reads "and", apostrophes vanish ("Tony's" -> "tonys"),
-- other non-alphanumerics become spaces. Words are separated by one space.
function _M.ascii(s)
    if type(s) ~= "string" then
        error("usage: slug.ascii(string)", 2)
    end
    s = gsub(s, "[\192-\223][\128-\191]", function(ch) return FOLD[ch] or " " end)
    s = lower(s)
    s = gsub(s, "&", " and ")
    -- ASCII and typographic apostrophes (U+2019) join the word.
    s = gsub(s, "(%w)['\96](%w)", "%1%2")
    s = gsub(s, "(%w)\226\128\153(%w)", "%1%2")
    s = gsub(s, "[^%w]+", " ")
    s = gsub(s, "^ +", "")
    s = gsub(s, " +$", "")
    return s
end

-- Lower-case ASCII words joined by "-", at most `max` bytes (default 255),
-- never ending in "-". "" when nothing is left.
function _M.slugify(s, max)
    if type(s) ~= "string" then
        error("usage: slug.slugify(string[, max])", 2)
    end
    max = max or 255
    local words = {}
    for w in _M.ascii(s):gmatch("%w+") do
        words[#words + 1] = w
    end
    local out = concat(words, "-")
    if #out > max then
        out = out:sub(1, max)
        out = gsub(out, "%-+$", "")
    end
    return out
end

-- The first `n` hex digits of sha256(s).
function _M.short_hash(s, n)
    return wm.crypto.sha256_hex(tostring(s)):sub(1, n or 8)
end

return _M
