-- One template per section kind; each renders inside <main>. Items are
-- escaped like everything else; "html" sections carry lib.sanitize output.
local T = {}

T.services = [[
<section class="wm-section" id="{{id}}">
<div class="wm-wrap">
<h2 id="{{id}}-h">{{heading}}</h2>
{{#intro}}<p class="wm-intro">{{intro}}</p>
{{/intro}}<ul class="wm-grid">
{{#items}}<li class="wm-card"><span class="wm-icon" aria-hidden="true">{{initial}}</span><h3>{{name}}</h3>{{#description}}<p>{{description}}</p>{{/description}}</li>
{{/items}}</ul>
</div>
</section>
]]

T.about = [[
<section class="wm-section" id="{{id}}">
<div class="wm-wrap wm-prose">
<h2 id="{{id}}-h">{{heading}}</h2>
{{#paragraphs}}<p>{{.}}</p>
{{/paragraphs}}</div>
</section>
]]

T.reviews = [[
<section class="wm-section" id="{{id}}">
<div class="wm-wrap">
<h2 id="{{id}}-h">{{heading}}</h2>
<div class="wm-reviews">
{{#items}}<figure class="wm-review">{{#stars}}<span class="wm-stars" aria-hidden="true">{{stars}}</span><span class="wm-visually-hidden">Rated {{rating}} out of 5</span>{{/stars}}<blockquote><p>{{text}}</p></blockquote><figcaption>{{author}}</figcaption></figure>
{{/items}}</div>
</div>
</section>
]]

T.process = [[
<section class="wm-section" id="{{id}}">
<div class="wm-wrap">
<h2 id="{{id}}-h">{{heading}}</h2>
<ol class="wm-steps">
{{#steps}}<li><h3>{{title}}</h3>{{#description}}<p>{{description}}</p>{{/description}}</li>
{{/steps}}</ol>
</div>
</section>
]]

T.faq = [[
<section class="wm-section" id="{{id}}">
<div class="wm-wrap">
<h2 id="{{id}}-h">{{heading}}</h2>
<div class="wm-faq">
{{#items}}<details><summary>{{question}}</summary><p>{{answer}}</p></details>
{{/items}}</div>
</div>
</section>
]]

T.contact = [[
<section class="wm-section" id="{{id}}">
<div class="wm-wrap wm-contact">
<div>
<h2 id="{{id}}-h">{{heading}}</h2>
{{#paragraphs}}<p>{{.}}</p>
{{/paragraphs}}</div>
<address>
<strong>{{name}}</strong><br>
{{#address_lines}}{{.}}<br>
{{/address_lines}}{{#phone}}<a href="{{tel}}">{{display}}</a><br>
{{/phone}}{{#email}}<a href="{{mailto}}">{{address}}</a><br>
{{/email}}</address>
</div>
</section>
]]

T.html = [[
<section class="wm-section" id="{{id}}">
<div class="wm-wrap wm-html">
{{{html}}}
</div>
</section>
]]

return T
