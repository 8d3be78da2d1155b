// The dashboard's one script: asks before the actions that cannot be
// undone (a button with data-confirm). Everything works without it.
document.addEventListener("submit", function (e) {
  var b = e.submitter;
  var msg = b && b.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    e.preventDefault();
  }
});
