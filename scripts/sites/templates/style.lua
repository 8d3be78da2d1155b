-- The site's stylesheet (inlined in <style>). Only the :root block that
-- render.lua writes in front of it carries per-site values, all validated
-- there (hex colours, known font stacks, numbers). No url(), no @import, no
-- web fonts: the page makes no request at all.
return [[
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;scroll-behavior:smooth}
body{margin:0;background:var(--bg);color:var(--text);font-family:var(--font-body);font-size:1.0625rem;line-height:1.65;overflow-wrap:anywhere}
h1,h2,h3,h4{font-family:var(--font-heading);line-height:1.2;margin:0 0 .6em;color:var(--text)}
h2{font-size:clamp(1.6rem,3.2vw,2.3rem)}
h3{font-size:1.2rem}
h4{font-size:1.05rem}
p{margin:0 0 1em}
a{color:var(--link)}
a:focus-visible,summary:focus-visible{outline:3px solid var(--link);outline-offset:3px}
.wm-wrap{width:min(1120px,100% - 2.5rem);margin-inline:auto}
.wm-visually-hidden{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.wm-skip{position:absolute;left:1rem;top:-4rem;z-index:30;background:var(--text);color:var(--bg);padding:.6rem 1rem;border-radius:var(--radius)}
.wm-skip:focus{top:1rem}
.wm-header{position:sticky;top:0;z-index:10;background:var(--bg);border-bottom:1px solid var(--line)}
.wm-header .wm-wrap{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem 1.5rem;padding:.8rem 0}
.wm-brand{font-family:var(--font-heading);font-weight:700;font-size:1.15rem;text-decoration:none;color:var(--text);max-width:100%}
.wm-nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1.1rem;list-style:none;margin:0;padding:0}
.wm-nav a{text-decoration:none;color:var(--text);font-size:.95rem;padding:.3rem 0;border-bottom:2px solid transparent}
.wm-nav a:hover{border-bottom-color:var(--accent)}
.wm-hero{position:relative;overflow:hidden;padding:calc(var(--space) * 1.2) 0 var(--space);background:var(--surface)}
.wm-hero .wm-wrap{position:relative;z-index:1;display:grid;gap:2rem;align-items:center}
.wm-hero .wm-wrap>div{min-width:0}
.wm-hero h1{font-size:clamp(2.1rem,5vw,3.6rem);margin-bottom:.4em}
.wm-kicker{display:block;font-size:.95rem;font-family:var(--font-body);font-weight:600;letter-spacing:.08em;text-transform:uppercase;color:var(--muted);margin-bottom:.8rem}
.wm-headline{display:block}
.wm-lead{font-size:1.2rem;max-width:38em;color:var(--muted)}
.wm-rating{display:inline-flex;flex-wrap:wrap;align-items:center;gap:.5rem;font-weight:600;margin:0 0 1.2rem}
.wm-stars{color:var(--star);letter-spacing:.1em}
.wm-actions{display:flex;flex-wrap:wrap;gap:.8rem;margin:1.4rem 0 0}
.wm-btn{display:inline-block;padding:.8rem 1.4rem;border-radius:var(--radius-btn);background:var(--btn-bg);color:var(--btn-fg);font-weight:700;text-decoration:none;border:2px solid var(--btn-bg)}
.wm-btn:hover{filter:brightness(1.08)}
.wm-btn-ghost{background:transparent;color:var(--link);border-color:currentColor}
.wm-art{position:absolute;inset:0;z-index:0;pointer-events:none}
.wm-art svg{position:absolute;right:-6rem;top:-4rem;width:32rem;height:32rem}
.wm-art .a3{fill:none;stroke-width:3}
.wm-hero-split .wm-art{display:none}
.wm-hero-split .wm-art .a1{fill:var(--primary);opacity:.18}
.wm-hero-split .wm-art .a2{fill:var(--accent);opacity:.28}
.wm-hero-split .wm-art .a3{stroke:var(--secondary);opacity:.4}
.wm-hero-center .wm-art .a1,.wm-hero-center .wm-art .a2{fill:var(--bg)}
.wm-hero-center .wm-art .a2{opacity:.7}
.wm-hero-center .wm-art .a3{stroke:var(--line)}
.wm-hero-center{text-align:center}
.wm-hero-center .wm-lead{margin-inline:auto}
.wm-hero-center .wm-actions{justify-content:center}
.wm-hero-center .wm-art svg{left:50%;right:auto;transform:translateX(-50%);width:46rem;height:46rem;top:-14rem}
.wm-hero-band{background:linear-gradient(135deg,var(--band-1),var(--band-2));color:var(--band-fg)}
.wm-hero-band h1,.wm-hero-band .wm-lead,.wm-hero-band .wm-kicker,.wm-hero-band .wm-rating{color:var(--band-fg)}
.wm-hero-band .wm-stars{color:var(--band-fg)}
.wm-hero-band .wm-btn{background:var(--band-fg);color:var(--band-1);border-color:var(--band-fg)}
.wm-hero-band .wm-btn-ghost{background:transparent;color:var(--band-fg);border-color:var(--band-fg)}
.wm-hero-band .wm-art .a1,.wm-hero-band .wm-art .a2{fill:var(--band-2);opacity:.9}
.wm-hero-band .wm-art .a3{stroke:var(--band-2)}
.wm-section{padding:var(--space) 0}
.wm-section:nth-of-type(even){background:var(--surface)}
.wm-intro{max-width:44em;color:var(--muted)}
.wm-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,16rem),1fr));gap:1.2rem;list-style:none;margin:1.5rem 0 0;padding:0}
.wm-card{background:var(--bg);border:1px solid var(--line);border-radius:var(--radius);padding:1.4rem}
.wm-section:nth-of-type(even) .wm-card{background:var(--bg)}
.wm-icon{display:grid;place-items:center;width:2.6rem;height:2.6rem;border-radius:50%;background:var(--btn-bg);color:var(--btn-fg);font-weight:700;margin-bottom:.9rem}
.wm-card p{margin:0;color:var(--muted)}
.wm-prose{max-width:46em}
.wm-reviews{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,18rem),1fr));gap:1.2rem;margin-top:1.5rem}
.wm-review{margin:0;background:var(--bg);border:1px solid var(--line);border-radius:var(--radius);padding:1.4rem;display:flex;flex-direction:column;gap:.6rem}
.wm-review blockquote{margin:0;font-size:1.05rem}
.wm-review blockquote p{margin:0}
.wm-review figcaption{font-weight:600;color:var(--muted)}
.wm-steps{counter-reset:step;list-style:none;margin:1.5rem 0 0;padding:0;display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,15rem),1fr))}
.wm-steps li{counter-increment:step;position:relative;padding:1.3rem 1.3rem 1.3rem 4rem;border-radius:var(--radius);background:var(--bg);border:1px solid var(--line)}
.wm-steps li::before{content:counter(step);position:absolute;left:1.2rem;top:1.2rem;width:2rem;height:2rem;border-radius:50%;display:grid;place-items:center;background:var(--btn-bg);color:var(--btn-fg);font-weight:700}
.wm-steps p{margin:0;color:var(--muted)}
.wm-faq{max-width:48em;margin-top:1.2rem}
.wm-faq details{border-bottom:1px solid var(--line);padding:1rem 0}
.wm-faq summary{cursor:pointer;font-weight:700;font-family:var(--font-heading)}
.wm-faq details p{margin:.7rem 0 0;color:var(--muted)}
.wm-contact{display:grid;gap:2rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,18rem),1fr))}
.wm-contact address{font-style:normal;line-height:1.9}
.wm-html{max-width:48em}
.wm-html table{border-collapse:collapse;width:100%;margin:1rem 0}
.wm-html th,.wm-html td{border:1px solid var(--line);padding:.5rem .7rem;text-align:left}
.wm-html blockquote{margin:1rem 0;padding-left:1rem;border-left:4px solid var(--accent)}
.wm-footer{padding:2.5rem 0 2rem;border-top:1px solid var(--line);font-size:.95rem;color:var(--muted)}
.wm-footer .wm-wrap{display:flex;flex-wrap:wrap;justify-content:space-between;gap:1rem}
.wm-footer p{margin:0 0 .4rem}
.wm-footer a{color:var(--link)}
.wm-preview{position:fixed;left:0;right:0;bottom:0;z-index:50;background:#111827;color:#ffffff;box-shadow:0 -4px 18px rgba(0,0,0,.25)}
.wm-preview .wm-wrap{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem 1rem;padding:.7rem 0}
.wm-preview p{margin:0;font-size:.95rem}
.wm-preview strong{color:#ffffff;display:inline-block;max-width:min(28rem,60vw);overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom}
.wm-claim{display:inline-block;padding:.55rem 1.1rem;border-radius:999px;background:#facc15;color:#111827;font-weight:700;text-decoration:none}
.wm-claim:focus-visible{outline:3px solid #ffffff;outline-offset:2px}
.wm-claim-soon{background:#374151;color:#e5e7eb;cursor:not-allowed}
.wm-has-preview{padding-bottom:5.5rem}
@media (min-width:860px){.wm-hero-split .wm-wrap{grid-template-columns:1.4fr 1fr}.wm-hero-split .wm-art{display:block;left:55%}.wm-hero-split .wm-art svg{width:38rem;height:38rem}}
@media (max-width:600px){.wm-header{position:static}.wm-hero-center .wm-art svg{width:30rem;height:30rem;top:-10rem}.wm-has-preview{padding-bottom:8rem}}
@media (prefers-reduced-motion:reduce){html{scroll-behavior:auto}}
@media print{.wm-preview,.wm-nav,.wm-art{display:none}}
]]
