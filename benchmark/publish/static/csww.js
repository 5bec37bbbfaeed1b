// Accessibility for Datasette's own table and query pages, without forking their templates (issue 12, item 7):
// scrolling result tables become focusable, named regions (keyboard users can scroll them: WCAG 2.1.1), and
// the table page's filter fields get names (WCAG 4.1.2). Runs on Datasette 0.65 and 1.0.
(function () {
  function fix() {
    document.querySelectorAll(".table-wrapper, .csww-table-wrap").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "Results table (scrolls sideways)");
      }
    });
    var names = {"_filter_column": "Filter column", "_filter_op": "Filter operator", "_filter_value": "Filter value",
                 "_sort": "Sort by", "_sort_by_desc": "Sort descending"};
    document.querySelectorAll("form.filters select, form.filters input").forEach(function (el) {
      var key = (el.name || "").replace(/_\d+$/, "");
      if (el.labels && el.labels.length) return;
      if (el.getAttribute("aria-label")) return;
      if (names[key]) el.setAttribute("aria-label", names[key]);
      else if (el.classList.contains("filter-value")) el.setAttribute("aria-label", "Filter value");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fix);
  else fix();
})();
