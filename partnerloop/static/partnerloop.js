/* Partnerloop site tracking. Hand-written and dependency-free so that it stays small and never blocks.
 * <script async src="https://<partnerloop>/js/partnerloop.js" data-key="<publishable key>"
 *         data-consent="required"? data-params="code,aff"? data-cookie-days="90"?></script>
 * On a landing URL with a referral parameter it records one click, keeps the click id in the first-party
 * cookie pl_cid, adds it as client_reference_id to Stripe checkout links and fills input[name=pl_cid]. */
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  var pl = (w.partnerloop = w.partnerloop || {});
  if (!script || pl.loaded) return;
  pl.loaded = true;
  var key = script.getAttribute("data-key") || "";
  var base = script.src.replace(/\/js\/partnerloop\.js.*$/, "");
  var scriptQuery = new URL(script.src).searchParams;
  var names = ["ref", "via"].concat(
    ((script.getAttribute("data-params") || "") + "," + (scriptQuery.get("params") || "")).split(",")
  );
  var defaultDays = +(script.getAttribute("data-cookie-days") || 90);
  var needsConsent = script.getAttribute("data-consent") === "required";
  var consented = !needsConsent || pl.consented === true;
  var started = false;

  function readCookie() {
    var match = d.cookie.match(/(?:^|;\s*)pl_cid=([A-Za-z0-9_-]{1,64})/);
    return match ? match[1] : null;
  }

  function writeCookie(id, days) {
    d.cookie = "pl_cid=" + id + "; Max-Age=" + Math.round(days * 86400) + "; Path=/; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }

  function decorate() {
    var id = pl.clickId;
    if (!id) return;
    var links = d.querySelectorAll('a[href^="https://buy.stripe.com/"], [data-partnerloop-checkout]');
    for (var i = 0; i < links.length; i++) {
      var el = links[i];
      if (el.tagName === "FORM") {
        var field = el.querySelector('input[name="client_reference_id"]');
        if (!field) {
          field = d.createElement("input");
          field.type = "hidden";
          field.name = "client_reference_id";
          el.appendChild(field);
        }
        field.value = id;
      } else if (el.href) {
        var url = new URL(el.href);
        url.searchParams.set("client_reference_id", id);
        el.href = url.toString();
      } else {
        el.setAttribute("data-client-reference-id", id);
      }
    }
    var inputs = d.querySelectorAll('input[name="pl_cid"]');
    for (var j = 0; j < inputs.length; j++) inputs[j].value = id;
  }

  function ready(id, days) {
    pl.clickId = id;
    if (days) writeCookie(id, days);
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", decorate);
    else decorate();
    try {
      w.dispatchEvent(new CustomEvent("partnerloop:ready", { detail: { clickId: id } }));
    } catch (e) {}
  }

  function start() {
    if (started || !consented) return;
    started = true;
    var query = new URLSearchParams(location.search);
    var fromRedirect = query.get("pl_cid");
    if (fromRedirect && /^[A-Za-z0-9_-]{1,64}$/.test(fromRedirect)) return ready(fromRedirect, defaultDays);
    var ref = null;
    for (var i = 0; i < names.length && !ref; i++) if (names[i]) ref = query.get(names[i].trim());
    var stored = readCookie();
    if (!ref) {
      if (stored) ready(stored, 0);
      return;
    }
    // text/plain keeps this a "simple" request: one request, no CORS preflight.
    fetch(base + "/api/v1/track/click", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      keepalive: true,
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ key: key, ref: ref, url: location.href, referrer: d.referrer || null })
    })
      .then(function (response) {
        if (!response.ok) throw new Error("partnerloop: click not recorded (" + response.status + ")");
        return response.json();
      })
      .then(function (answer) {
        ready(answer.click_id, answer.cookie_days);
      })
      .catch(function (error) {
        if (stored) ready(stored, 0);
        if (w.console) console.warn(error.message || error);
      });
  }

  pl.consent = function () {
    consented = pl.consented = true;
    start();
  };
  pl.decorate = decorate;
  start();
})(window, document);
