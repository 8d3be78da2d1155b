/* html-validate rules for the outreach email's HTML body (lib/email.lua).
 * Sites use .htmlvalidate.json (the recommended preset, nothing turned off);
 * email HTML has to be written for mail clients, not browsers: */
module.exports = {
  extends: ["html-validate:recommended"],
  rules: {
    /* Gmail, Outlook and most webmail strip or rewrite <style> elements and
     * never load stylesheets: inline style attributes are the only styling
     * that reaches the reader. */
    "no-inline-style": "off",
    /* cellpadding/cellspacing/border/width/align on layout tables are what
     * Outlook's Word rendering engine honours; CSS equivalents are ignored
     * there. */
    "no-deprecated-attr": "off",
  },
};
