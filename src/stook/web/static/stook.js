// stook web: JavaScript only improves the form. Without it, "Add" and "Remove" are
// submit buttons the server answers; with it, rows are added and removed in place.
(function () {
  "use strict";

  function rowsOf(list) {
    return Array.prototype.filter.call(list.children, function (el) {
      return el.hasAttribute("data-row");
    });
  }

  function nextIndex(list) {
    var name = list.getAttribute("data-list");
    var prefix = name + "[";
    var next = 0;
    rowsOf(list).forEach(function (row) {
      var path = row.getAttribute("data-row");
      if (path.indexOf(prefix) === 0) {
        var n = parseInt(path.slice(prefix.length), 10);
        if (!isNaN(n) && n >= next) { next = n + 1; }
      }
    });
    return next;
  }

  function addRow(button) {
    var list = button.closest("[data-list]");
    var template = list && Array.prototype.find.call(list.children, function (el) {
      return el.tagName === "TEMPLATE";
    });
    if (!template) { return false; }
    var depth = list.getAttribute("data-depth");
    var index = nextIndex(list);
    var html = template.innerHTML
      .split("__i" + depth + "__").join(String(index))
      .split("__n" + depth + "__").join(String(rowsOf(list).length + 1));
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var added = [];
    while (holder.firstChild) {
      var node = holder.firstChild;
      list.insertBefore(node, button);
      if (node.nodeType === 1) { added.push(node); }
    }
    button.textContent = button.textContent.replace(/^Add a /, "Add another ");
    var first = added.length && added[0].querySelector("input, select, textarea");
    if (first) { first.focus(); }
    return true;
  }

  function removeRow(button) {
    var row = button.closest("[data-row]");
    if (!row) { return false; }
    var list = row.parentElement;
    var addButton = list && list.querySelector(":scope > [data-add]");
    row.remove();
    if (addButton) { addButton.focus(); }
    return true;
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button[data-add], button[data-remove]");
    if (!target) { return; }
    var done = target.hasAttribute("data-add") ? addRow(target) : removeRow(target);
    if (done) { event.preventDefault(); }
  });
})();
