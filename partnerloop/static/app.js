// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // <select data-autosubmit> submits its form on change (the form keeps a submit button for no-JS).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) select.form.submit();
    });
  });

  // <input type="checkbox" data-select-all="name"> ticks every checkbox named `name` in its form.
  document.querySelectorAll("input[data-select-all]").forEach(function (master) {
    var name = master.getAttribute("data-select-all");
    var scope = master.form || document;
    function boxes() {
      return Array.prototype.slice.call(scope.querySelectorAll('input[type="checkbox"][name="' + name + '"]'));
    }
    master.hidden = false;
    if (master.parentElement) master.parentElement.hidden = false;
    master.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = master.checked; });
    });
    scope.addEventListener("change", function (event) {
      if (event.target === master) return;
      var all = boxes();
      var ticked = all.filter(function (box) { return box.checked; }).length;
      master.checked = all.length > 0 && ticked === all.length;
      master.indeterminate = ticked > 0 && ticked < all.length;
    });
  });

  // <button data-copy="#id"> copies the text (or value) of the element #id.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (!target || !navigator.clipboard) return;
      var text = "value" in target && target.value !== undefined ? target.value : target.textContent;
      navigator.clipboard.writeText(text.trim()).then(function () {
        var label = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });

  // <form data-confirm="Question?"> asks before submitting.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();
