/* Partnerloop referral widget: <script src="…/js/referral-widget.js" data-key="pl_pk_…"
   data-customer="<customer id>" data-token="<hex HMAC>" async></script>. Renders the advocate's link,
   share buttons, referrals and rewards in a shadow root; every value goes in as text, never as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var d = script.dataset, base = new URL(script.src).origin;
  // Everything is set on .w itself: what the host inherits from the merchant's page (even !important) stops there.
  var CSS = ":host{all:initial;display:block}" +
    ".w{all:initial;display:block;box-sizing:border-box;font:16px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;color:#1a1a1a;" +
    "border:1px solid #c8ccd4;border-radius:12px;padding:16px;background:#fff;max-width:34em}" +
    "h2{font-size:1.15em;margin:0 0 4px}p{margin:0 0 12px;color:#3d4148}label{display:block;font-weight:600;margin-bottom:4px}" +
    ".row{display:flex;gap:8px;flex-wrap:wrap}input{flex:1 1 12em;min-width:0;font:inherit;padding:8px 10px;border:1px solid #767b85;border-radius:8px;color:#1a1a1a;background:#fff}" +
    "button,a.s{font:inherit;font-weight:600;padding:8px 12px;border-radius:8px;border:1px solid #2454c5;background:#2454c5;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}" +
    "a.s{background:#fff;color:#1d4299}ul{list-style:none;padding:0;margin:0}li{padding:6px 0;border-top:1px solid #e3e5e9;display:flex;justify-content:space-between;gap:8px}" +
    "h3{font-size:1em;margin:16px 0 6px}.share{margin-top:12px}:focus-visible{outline:3px solid #f5a300;outline-offset:2px}.st{font-size:.9em;color:#3d4148}" +
    ".vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = String(text);
    return node;
  }
  function safeUrl(url) {
    return /^(https?:|mailto:)/i.test(String(url)) ? String(url) : "#";
  }
  function money(amount, currency) {
    if (amount == null) return "";
    try { return new Intl.NumberFormat(undefined, {style: "currency", currency: currency.toUpperCase()}).format(amount / 100); }
    catch (e) { return amount + " " + currency.toUpperCase(); }
  }
  function rewardText(r) {
    var what = r.percent != null ? r.percent + "% off" : money(r.amount, r.currency);
    return {credit: what + " credit", cash: what + " cash", coupon: what + " coupon"}[r.type] || what;
  }

  function render(root, data) {
    var w = el("section", {"class": "w", "aria-label": "Refer a friend"});
    w.appendChild(el("h2", {}, "Refer a friend to " + data.program.name));
    if (data.offer) w.appendChild(el("p", {}, data.offer.replace(/^Your customer gets/, "You get")));
    w.appendChild(el("label", {"for": "pl-link"}, "Your referral link"));
    var row = el("div", {"class": "row"});
    var input = el("input", {id: "pl-link", type: "text", readonly: "", value: data.advocate.share_url});
    var copy = el("button", {type: "button"}, "Copy link");
    var status = el("span", {"class": "vh", "aria-live": "polite"});
    copy.addEventListener("click", function () {
      input.select();
      var done = function () { copy.textContent = "Copied"; status.textContent = "Link copied"; };
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      else { document.execCommand("copy"); done(); }
    });
    row.appendChild(input); row.appendChild(copy); w.appendChild(row); w.appendChild(status);
    var share = el("div", {"class": "row share", role: "group", "aria-label": "Share"});
    [["email", "Email"], ["x", "X"], ["linkedin", "LinkedIn"], ["whatsapp", "WhatsApp"], ["facebook", "Facebook"]].forEach(function (p) {
      var a = el("a", {"class": "s", href: safeUrl(data.share[p[0]]), target: "_blank", rel: "noopener noreferrer",
        "aria-label": "Share on " + p[1]}, p[1]);
      share.appendChild(a);
    });
    w.appendChild(share);
    w.appendChild(el("h3", {}, "Your referrals (" + data.referrals.length + ")"));
    var list = el("ul", {});
    data.referrals.slice(0, 20).forEach(function (r) {
      var li = el("li", {}); li.appendChild(el("span", {}, new Date(r.joined_at).toLocaleDateString()));
      li.appendChild(el("span", {"class": "st"}, r.status)); list.appendChild(li);
    });
    if (!data.referrals.length) list.appendChild(el("li", {}, "No referrals yet: share your link."));
    w.appendChild(list);
    w.appendChild(el("h3", {}, "Your rewards"));
    var rewards = el("ul", {});
    data.rewards.slice(0, 20).forEach(function (r) {
      var li = el("li", {}); li.appendChild(el("span", {}, rewardText(r) + (r.code ? " · " + r.code : "")));
      li.appendChild(el("span", {"class": "st"}, r.status)); rewards.appendChild(li);
    });
    if (!data.rewards.length) rewards.appendChild(el("li", {}, "No rewards yet."));
    w.appendChild(rewards);
    root.appendChild(w);
  }

  var host = document.getElementById("partnerloop-referrals");
  if (!host) { host = el("div", {id: "partnerloop-referrals"}); script.parentNode.insertBefore(host, script.nextSibling); }
  var root = host.attachShadow ? host.attachShadow({mode: "open"}) : host;
  var url = base + "/api/v1/referral-widget?key=" + encodeURIComponent(d.key || "") + "&customer=" +
    encodeURIComponent(d.customer || "") + "&token=" + encodeURIComponent(d.token || "");
  fetch(url, {credentials: "omit"}).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
    if (!data) return;
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); root.adoptedStyleSheets = [sheet];
    } else root.appendChild(el("style", {}, CSS));
    render(root, data);
    host.setAttribute("data-ready", "");
  }, function () {});
})();
