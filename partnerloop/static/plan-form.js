// The plan editor: show only the fields that apply to a rule's event as the manager changes it. The page is
// rendered with them hidden already and the server ignores the ones that do not apply, so this is comfort only.
document.addEventListener("DOMContentLoaded", () => {
  for (const rule of document.querySelectorAll("fieldset.rule")) {
    const event = rule.querySelector('select[name$="-event"]');
    if (!event) continue;
    const show = () => {
      for (const part of rule.querySelectorAll("[data-events]")) {
        part.hidden = !part.dataset.events.split(" ").includes(event.value);
      }
    };
    event.addEventListener("change", show);
  }
});
