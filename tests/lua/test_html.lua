-- lib.html (escaping, URLs, JSON-LD) and lib.template.
local html = require "lib.html"
local template = require "lib.template"

local T = {}

local HOSTILE = {
    '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "' onmouseover='alert(1)",
    "</title><script>x</script>", "</script><script>alert(1)</script>", "javascript:alert(1)",
    "a & b", "\226\128\174evil\226\128\172", "😀 emoji", string.rep("N", 300), "x\0y\1z\127",
    "<!--", "]]>", "`backtick`",
}

function T.escape_every_special_character(t)
    t.eq(html.escape([[<a href="x" title='y'>&amp;</a>]]),
        "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;")
    t.eq(html.attr([["onmouseover="alert(1)]]), "&quot;onmouseover=&quot;alert(1)")
    for _, s in ipairs(HOSTILE) do
        local e = html.escape(s)
        t.ok(not e:find("[<>\"']"), "raw markup character left in " .. e)
        t.ok(not e:find("&[^#%a]"), "bare & left in " .. e)
        local a = html.attr(s)
        t.ok(not a:find('["<>]'), "attr left a quote or bracket in " .. a)
    end
end

function T.escape_accepts_nil_null_numbers_and_rejects_tables(t)
    t.eq(html.escape(nil), "")
    t.eq(html.escape(wm.null), "")
    t.eq(html.escape(4.5), "4.5")
    t.eq(html.escape(true), "true")
    local ok, err = pcall(html.escape, {})
    t.ok(not ok)
    t.match(tostring(err), "expected a string")
end

function T.clean_drops_controls_bidi_and_bad_utf8(t)
    t.eq(html.clean("a\0b\1c\27d\127e"), "abcde")
    t.eq(html.clean("tab\tnl\ncr\r"), "tab\tnl\ncr\r")
    -- U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 LRI, U+2069 PDI, U+0085 NEL (C1)
    t.eq(html.clean("ab\226\128\174cd\226\129\166e\226\129\169f\194\133g"), "abcdefg")
    -- Emoji and accents survive.
    t.eq(html.clean("café 😀 ñ"), "café 😀 ñ")
    -- Invalid UTF-8: lone continuation, truncated sequence, overlong, surrogate.
    t.eq(html.clean("a\128b"), "a\239\191\189b")
    t.eq(html.clean("a\226\130"), "a\239\191\189\239\191\189")
    t.eq(html.clean("\192\175"), "\239\191\189\239\191\189")
    t.eq(html.clean("\237\160\128"), "\239\191\189\239\191\189\239\191\189")
end

function T.url_allows_only_safe_schemes(t)
    local good = {
        "https://example.com/a?b=1#c", "http://example.com", "HTTPS://EXAMPLE.COM", "mailto:a@b.co",
        "tel:+15125550100", "/claim/abc", "#contact", "?q=1", "about.html", "./x", "../y",
    }
    for _, u in ipairs(good) do
        t.eq(html.url(u), u, u)
    end
    local bad = {
        "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
        "java\nscript:alert(1)", "java\rscript:alert(1)", "\1javascript:alert(1)", "javascript\0:alert(1)",
        "vbscript:msgbox(1)", "data:text/html;base64,PHNjcmlwdD4=", "DATA:text/html,x", "file:///etc/passwd",
        "//evil.example/x", "/\\evil.example", "\\\\evil", "http:evil", "http:/evil", "https:", "ftp://x",
        "jav&#x61;script:alert(1)", "%6Aavascript:alert(1)", "", "   ", "blob:https://x/y",
        "http://a\\@evil", "javascript&colon;alert(1)",
    }
    for _, u in ipairs(bad) do
        t.eq(html.url(u), "#", ("%q"):format(u))
    end
    t.eq(html.url(nil), "#")
    t.eq(html.url(wm.null), "#")
    -- Leading/trailing whitespace is trimmed like a browser does.
    t.eq(html.url("  https://example.com/  "), "https://example.com/")
    -- Quote characters cannot survive to break an attribute.
    t.eq(html.url([[/a"onmouseover='x'<b> c]]), "/a%22onmouseover=%27x%27%3Cb%3E%20c")
    t.eq(html.url("https://example.com/?a=1&b=2"), "https://example.com/?a=1&b=2")
end

function T.json_ld_cannot_end_the_script_element(t)
    local v = {
        name = '</script><script>alert(1)</script><!-- & "q"',
        line = "a\226\128\168b\226\128\169c",
        bad = "x\128y",
        n = 4.5,
        list = { "<b>", 1 },
    }
    local s = html.json_ld(v)
    t.ok(not s:find("<", 1, true), "raw < in " .. s)
    t.ok(not s:find(">", 1, true), "raw > in " .. s)
    t.ok(not s:find("&", 1, true), "raw & in " .. s)
    t.ok(not s:find("\226\128\168", 1, true) and not s:find("\226\128\169", 1, true), "raw U+2028/9")
    local back = wm.json.decode(s)
    t.eq(back.name, v.name)
    t.eq(back.line, v.line)
    t.eq(back.n, 4.5)
    t.eq(back.list, { "<b>", 1 })
    t.eq(back.bad, "x\239\191\189y")
end

-- ---- template ----

function T.template_escapes_by_default_and_raw_only_when_asked(t)
    local tpl = template.compile("<p title=\"{{v}}\">{{v}}</p>{{{raw}}}")
    local out = tpl:render({ v = '<script>"x"</script>', raw = "<b>ok</b>" }, { strict = true })
    t.eq(out, '<p title="&lt;script&gt;&quot;x&quot;&lt;/script&gt;">&lt;script&gt;&quot;x&quot;&lt;/script&gt;</p><b>ok</b>')
end

function T.template_sections_loops_inverted_dotted(t)
    local src = "{{#items}}[{{name}}:{{#tags}}{{.}},{{/tags}}]{{/items}}{{^items}}none{{/items}}"
        .. "|{{a.b.c}}|{{#flag}}yes{{/flag}}{{^flag}}no{{/flag}}|{{#obj}}{{x}}{{top}}{{/obj}}"
    local out = template.render(src, {
        items = { { name = "a", tags = { "1", "2" } }, { name = "<b>", tags = {} } },
        a = { b = { c = "deep" } }, flag = false, obj = { x = "X" }, top = "T",
    }, { strict = true })
    t.eq(out, "[a:1,2,][&lt;b&gt;:]|deep|no|XT")
    t.eq(template.render("{{#items}}x{{/items}}{{^items}}none{{/items}}", { items = {} }, { strict = true }),
        "none")
    t.eq(template.render("{{#s}}<{{s}}>{{/s}}", { s = "str" }, { strict = true }), "<str>")
    t.eq(template.render("{{n}} {{f}}", { n = 3, f = false }, { strict = true }), "3 ")
end

function T.template_missing_key_strict_vs_lenient(t)
    local ok, err = pcall(template.render, "a{{nope}}b", {}, { strict = true })
    t.ok(not ok)
    t.match(tostring(err), "missing key 'nope'")
    t.eq(template.render("a{{nope}}b", {}, { strict = false }), "ab")
    t.eq(template.render("a{{x}}b", { x = wm.null }, { strict = false }), "ab")
    -- Under `wm test` strict is the default.
    ok = pcall(template.render, "{{nope}}", {})
    t.ok(not ok, "strict by default in tests")
    -- A missing section is simply not rendered, even when strict.
    t.eq(template.render("[{{#gone}}x{{/gone}}]", {}, { strict = true }), "[]")
end

function T.template_compiled_once_and_cached(t)
    local src = "cache {{x}} " .. wm.crypto.random_token(6)
    local a = template.compile(src)
    local b = template.compile(src)
    t.ok(rawequal(a, b), "same compiled object")
end

function T.template_syntax_errors_raise(t)
    for _, bad in ipairs({ "{{#a}}x", "{{#a}}x{{/b}}", "x{{/a}}", "{{unclosed", "{{bad name}}", "{{}}" }) do
        local ok = pcall(template.compile, bad)
        t.ok(not ok, "should not compile: " .. bad)
    end
    t.ok(not pcall(template.render, "{{t}}", { t = {} }, { strict = true }), "a table is not a value")
end

function T.template_partials(t)
    local out = template.render("<ul>{{#xs}}{{>item}}{{/xs}}</ul>", { xs = { { v = "<1>" }, { v = "2" } } },
        { strict = true, partials = { item = "<li>{{v}}</li>" } })
    t.eq(out, "<ul><li>&lt;1&gt;</li><li>2</li></ul>")
end

return T
