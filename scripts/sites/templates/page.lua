-- The page shell. Every {{x}} is escaped; the {{{x}}} slots take only what
-- render.lua built itself: the stylesheet, the JSON-LD (lib.html.json_ld),
-- the hero art SVG and the rendered sections (escaped pieces, or lib.sanitize
-- output for "html" sections).
return [[
<!DOCTYPE html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<meta name="description" content="{{description}}">
{{#noindex}}<meta name="robots" content="noindex">
{{/noindex}}<meta name="theme-color" content="{{theme_color}}">
<link rel="icon" href="{{favicon}}">
<style>{{{css}}}</style>
<script type="application/ld+json">{{{json_ld}}}</script>
</head>
<body{{#preview}} class="wm-has-preview"{{/preview}}>
<a class="wm-skip" href="#main">Skip to content</a>
<header class="wm-header">
<div class="wm-wrap">
<a class="wm-brand" href="#top">{{name}}</a>
{{#has_nav}}<nav class="wm-nav" aria-label="Main">
<ul>{{#nav}}<li><a href="#{{id}}">{{label}}</a></li>{{/nav}}</ul>
</nav>
{{/has_nav}}</div>
</header>
<main id="main">
<section class="wm-hero wm-hero-{{hero_style}}" id="top" aria-labelledby="wm-h1">
<div class="wm-art" aria-hidden="true">{{{art}}}</div>
<div class="wm-wrap">
<div>
<h1 id="wm-h1"><span class="wm-kicker">{{name}}<span class="wm-visually-hidden">: </span></span><span class="wm-headline">{{headline}}</span></h1>
{{#subheadline}}<p class="wm-lead">{{subheadline}}</p>
{{/subheadline}}{{#rating}}<p class="wm-rating"><span class="wm-stars" aria-hidden="true">{{stars}}</span><span>{{text}}</span></p>
{{/rating}}<p class="wm-actions"><a class="wm-btn" href="{{cta_href}}">{{cta_label}}</a>{{#secondary}} <a class="wm-btn wm-btn-ghost" href="{{href}}">{{label}}</a>{{/secondary}}</p>
</div>
</div>
</section>
{{{sections}}}
</main>
<footer class="wm-footer">
<div class="wm-wrap">
<div>
<p><strong>{{name}}</strong></p>
{{#address_line}}<p>{{address_line}}</p>
{{/address_line}}{{#footer_note}}<p>{{footer_note}}</p>
{{/footer_note}}</div>
<div>
{{#phone}}<p><a href="{{tel}}">{{display}}</a></p>
{{/phone}}{{#email}}<p><a href="{{mailto}}">{{address}}</a></p>
{{/email}}<p>&copy; {{year}} {{name}}</p>
</div>
</div>
</footer>
{{#preview}}<aside class="wm-preview" aria-label="Preview notice">
<div class="wm-wrap">
<p>Preview site made for <strong>{{name}}</strong></p>
{{#claim_href}}<a class="wm-claim" href="{{claim_href}}">Claim this site</a>{{/claim_href}}{{^claim_href}}<a class="wm-claim wm-claim-soon" aria-disabled="true">Claim this site — coming soon</a>{{/claim_href}}
</div>
</aside>
{{/preview}}</body>
</html>
]]
