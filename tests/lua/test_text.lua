-- lib.text: trimming, clipping and paragraphs that never cut a UTF-8
-- character in two.
local text = require "lib.text"
local html = require "lib.html"

local T = {}

local E_ACUTE = "\195\169"            -- é, 2 bytes
local EURO = "\226\130\172"           -- €, 3 bytes
local GRIN = "\240\159\152\128"       -- 😀, 4 bytes
local RLO = "\226\128\174"            -- right-to-left override

-- Whether s is whole UTF-8 (html.clean would change it otherwise).
local function whole(s)
    return html.clean(s) == s
end

local function raises(t, fn, pattern, ...)
    local ok, err = pcall(fn, ...)
    t.ok(not ok, "expected an error")
    t.match(tostring(err), pattern)
end

function T.trim_strips_both_ends_only(t)
    t.eq(text.trim("  a  b \t\n"), "a  b")
    t.eq(text.trim("ab"), "ab")
    t.eq(text.trim(""), "")
    t.eq(text.trim(" \t\r\n "), "")
    t.eq(text.trim("\n" .. GRIN .. " "), GRIN)
    -- No-break space is text, not whitespace (%s is ASCII only).
    t.eq(text.trim("\194\160x\194\160"), "\194\160x\194\160")
    -- Linear on a long inner run of spaces (the old pattern backtracked).
    local long = "a" .. string.rep(" ", 200000) .. "b"
    local started = os.clock()
    t.eq(#text.trim(" " .. long .. " "), #long)
    t.ok(os.clock() - started < 1, "trim of 200 kB took " .. (os.clock() - started) .. " s")
end

function T.squish_makes_one_line(t)
    t.eq(text.squish("  a \r\n\t b\0c\27d  "), "a b c d")
    t.eq(text.squish("\n\n"), "")
    t.eq(text.squish(""), "")
end

function T.boundary_never_inside_a_character(t)
    local s = "a" .. E_ACUTE .. EURO .. GRIN    -- bytes: 1, 2-3, 4-6, 7-10
    t.eq(text.boundary(s, 100), #s)
    t.eq(text.boundary(s, 10), 10)
    t.eq(text.boundary(s, 0), 0)
    t.eq(text.boundary(s, 1), 1)
    t.eq(text.boundary(s, 2), 1)
    t.eq(text.boundary(s, 3), 3)
    t.eq(text.boundary(s, 5), 3)
    t.eq(text.boundary(s, 6), 6)
    t.eq(text.boundary(s, 9), 6)
    for n = 0, #s do
        t.ok(whole(s:sub(1, text.boundary(s, n))), "cut at " .. n)
    end
end

function T.clip_keeps_utf8_whole_and_counts_the_ellipsis(t)
    t.eq(text.clip("abc", 5), "abc")
    t.eq(text.clip("abc", 3), "abc")
    t.eq(text.clip("abcdef", 4, "…"), "a…")          -- "…" is 3 bytes of the 4
    t.eq(text.clip("", 0), "")
    t.eq(text.clip("abc", 0), "")
    t.eq(text.clip(string.rep(GRIN, 10), 10), GRIN .. GRIN)
    t.eq(#text.clip(string.rep(E_ACUTE, 200), 301), 300)
    -- Every cut of a mixed string is whole UTF-8 and within the limit.
    local s = string.rep("a" .. E_ACUTE .. EURO .. GRIN .. " ", 5)
    for max = 0, #s + 1 do
        local c = text.clip(s, max, "…")
        t.ok(whole(c), "clip to " .. max .. " split a character")
        t.ok(#c <= math.max(max, 3), "clip to " .. max .. " gave " .. #c .. " bytes")
    end
    -- An ellipsis longer than the room left is all there is.
    t.eq(text.clip("abcdef", 2, "…"), "…")
end

function T.shorten_ends_at_a_word(t)
    t.eq(text.shorten("short", 10), "short")
    t.eq(text.shorten("The quick brown fox jumps", 18), "The quick brown")
    -- Trailing punctuation goes with the cut.
    t.eq(text.shorten("Fast, friendly; fair - and more", 23), "Fast, friendly; fair")
    -- One long word is cut inside it rather than lose more than half.
    t.eq(text.shorten("Supercalifragilistic", 10), "Supercalif")
    -- Never inside a character, with or without a space to back up to.
    t.eq(text.shorten(string.rep(EURO, 5), 7), EURO .. EURO)
    local s = "Caf" .. E_ACUTE .. " " .. string.rep(GRIN, 3) .. " na" .. E_ACUTE .. "ve"
    for max = 1, #s do
        local c = text.shorten(s, max)
        t.ok(whole(c) and #c <= max, "shorten to " .. max .. ": " .. c)
    end
end

function T.capitalize_and_sentences(t)
    t.eq(text.capitalize("plumbing in Austin"), "Plumbing in Austin")
    t.eq(text.capitalize("HVAC"), "HVAC")
    t.eq(text.capitalize(""), "")
    t.eq(text.capitalize(E_ACUTE .. "clair"), E_ACUTE .. "clair")
    t.eq(text.sentences("Fast work. Fair price!  Would hire again?  Yes"),
        { "Fast work.", "Fair price!", "Would hire again?", "Yes" })
    t.eq(text.sentences("3.5 stars... and more"), { "3.5 stars...", "and more" })
    t.eq(text.sentences(" \n \n"), {})
    t.eq(text.sentences(""), {})
end

function T.unquote_takes_one_enclosing_pair_whole(t)
    t.eq(text.unquote('"Great work"'), "Great work")
    t.eq(text.unquote("\226\128\156Great work\226\128\157"), "Great work")
    t.eq(text.unquote('"Mixed\226\128\157'), "Mixed")
    t.eq(text.unquote('""'), "")
    t.eq(text.unquote('"'), '"')
    t.eq(text.unquote(""), "")
    t.eq(text.unquote('"Best plumber" said my neighbour'), '"Best plumber" said my neighbour')
    t.eq(text.unquote('""Twice""'), '"Twice"')
    -- An ellipsis or a star starts with the same byte as a curly quote; a
    -- character class took that byte off and left half a character.
    local s = "\226\128\166great job\226\128\157"
    t.eq(text.unquote(s), s)
    t.ok(whole(text.unquote(s)))
    local stars = "\226\152\133\226\152\133 Five stars \226\152\133\226\152\133"
    t.eq(text.unquote(stars), stars)
end

function T.line_is_clean_single_and_clipped(t)
    t.eq(text.line("  Joe's\r\n  Plumbing\t ", 100), "Joe's Plumbing")
    t.eq(text.line(4.5, 10), "4.5")
    t.eq(text.line(nil, 10), nil)
    t.eq(text.line(wm.null, 10), nil)
    t.eq(text.line({}, 10), nil)
    t.eq(text.line(true, 10), nil)
    t.eq(text.line("", 10), nil)
    t.eq(text.line(" \t\r\n ", 10), nil)
    t.eq(text.line("\0\1\127", 10), nil, "only controls is nothing")
    -- Bidi overrides and bad bytes never reach a page or a prompt.
    t.eq(text.line("evil" .. RLO .. "name", 20), "evilname")
    t.eq(text.line("a\128b", 20), "a\239\191\189b")
    -- The ellipsis is inside the limit, and the cut is between characters.
    t.eq(text.line(string.rep(GRIN, 5), 12), GRIN .. GRIN .. "…")
    t.eq(text.line("abcdef", 6), "abcdef")
    t.eq(text.line("abcdefg", 6), "abc…")
    raises(t, text.line, "max must be a number", "x")
end

function T.paragraph_keeps_its_line_breaks(t)
    t.eq(text.paragraph("  Dear owner,  \r\n\r\n\r\n\r\nWe built  a site.\r\nLook. \n", 100),
        "Dear owner,\n\nWe built  a site.\nLook.")
    t.eq(text.paragraph(nil, 100), nil)
    t.eq(text.paragraph(" \n\n \t ", 100), nil)
    t.eq(text.paragraph(12, 100), "12")
    t.eq(text.paragraph("line one\nline " .. GRIN .. GRIN, 21), "line one\nline " .. GRIN .. "…")
end

function T.paragraphs_split_on_blank_lines(t)
    t.eq(text.paragraphs("One\nstill one.\n\n  \nTwo.\r\n\r\nThree.", 100, 6), { "One still one.", "Two.", "Three." })
    t.eq(text.paragraphs("a\n\nb\n\nc\n\nd", 100, 2), { "a", "b" })
    t.eq(text.paragraphs({ "a\n\nb", "c", 7, "d" }, 100, 3), { "a", "b", "c" })
    t.eq(text.paragraphs(nil, 100, 3), {})
    t.eq(text.paragraphs(wm.null, 100, 3), {})
    t.eq(text.paragraphs("\n\n \n", 100, 3), {})
    local ps = text.paragraphs(string.rep(EURO, 50) .. "\n\n" .. string.rep("x", 50), 10, 5)
    t.eq(ps, { EURO .. EURO .. "…", "xxxxxxx…" })
end

function T.strings_are_required_where_a_string_is_meant(t)
    raises(t, text.trim, "text.trim: expected a string, got nil", nil)
    raises(t, text.squish, "text.squish: expected a string, got number", 5)
    raises(t, text.clip, "text.clip: expected a string", nil, 5)
    raises(t, text.clip, "text.clip: max must be a number >= 0", "abc", -1)
    raises(t, text.shorten, "text.shorten: expected a string", nil, 5)
    raises(t, text.sentences, "text.sentences: expected a string", nil)
    raises(t, text.unquote, "text.unquote: expected a string", nil)
end

return T
