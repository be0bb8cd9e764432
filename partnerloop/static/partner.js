// Progressive enhancement for the partner pages: every form works without this file.
(function () {
  "use strict";

  // Payout details: show only the fields of the chosen method (all are shown without the script).
  var choices = document.querySelectorAll("input[data-method-choice]");
  function showChosen() {
    var chosen = document.querySelector("input[data-method-choice]:checked");
    document.querySelectorAll("fieldset[data-method]").forEach(function (fieldset) {
      fieldset.hidden = !chosen || fieldset.getAttribute("data-method") !== chosen.value;
    });
  }
  choices.forEach(function (choice) { choice.addEventListener("change", showChosen); });
  if (choices.length) showChosen();
})();
