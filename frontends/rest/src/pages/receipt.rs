//! `/receipt/{key}` and `/private/{key}`: the sender's view of a secret (its state, when the
//! secret and the receipt expire) with a button to burn the secret while it is unread.
//!
//! The burn answer carries the state from before the burn (OTS's own behaviour), so the script
//! reads the receipt again afterwards to show `burned`. A generated value that a receipt view
//! may carry is never shown: this page is reachable by anyone holding the link.

pub const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Secret receipt (ots-gateway)</title>
<link rel="stylesheet" href="/gateway/pages/page.css">
<script src="/gateway/pages/receipt.js" defer></script>
</head><body>
<h1>Secret receipt</h1>
<p>What has happened to the secret you shared. Served by the ots-gateway from its built-in OTS
simulator.</p>
<dl>
<dt>State</dt><dd id="state">loading…</dd>
<dt>Secret expires</dt><dd id="secret-expiry">–</dd>
<dt>This receipt expires</dt><dd id="receipt-expiry">–</dd>
<dt>Passphrase</dt><dd id="passphrase-required">–</dd>
</dl>
<div id="burn-form" hidden>
<p><label id="passphrase-label" hidden>Passphrase: <input id="passphrase" type="password" autocomplete="off"></label></p>
<p><button id="burn">Burn the secret</button> (nobody can read it afterwards)</p>
</div>
<p id="message" role="status"></p>
</body></html>
"#;

pub const SCRIPT: &str = r#""use strict";
const key = location.pathname.split("/").pop();
const api = "/api/v1/receipt/" + encodeURIComponent(key);
const explained = {
  new: "not read yet",
  viewed: "not read yet",
  received: "read by the recipient",
  burned: "burned before anyone read it",
  expired: "expired unread",
  orphaned: "gone",
};
function show(id, text) { document.getElementById(id).textContent = text; }
function when(remaining) {
  if (typeof remaining !== "number") return "–";
  const at = new Date(Date.now() + remaining * 1000);
  return "in " + remaining + " s (" + at.toLocaleString() + ")";
}
async function load() {
  try {
    const response = await fetch(api);
    const data = await response.json();
    if (!response.ok) {
      show("state", data.message || "Unknown secret");
      document.getElementById("burn-form").hidden = true;
      return;
    }
    show("state", data.state + ": " + (explained[data.state] || data.state));
    show("secret-expiry", when(data.secret_ttl));
    show("receipt-expiry", when(data.metadata_ttl));
    show("passphrase-required", data.passphrase_required ? "required" : "none");
    const unread = data.state === "new" || data.state === "viewed";
    document.getElementById("burn-form").hidden = !unread;
    document.getElementById("passphrase-label").hidden = !data.passphrase_required;
  } catch (error) {
    show("state", "The gateway did not answer.");
  }
}
document.getElementById("burn").addEventListener("click", async () => {
  const body = new URLSearchParams();
  const passphrase = document.getElementById("passphrase").value;
  if (passphrase) body.set("passphrase", passphrase);
  try {
    const response = await fetch(api + "/burn", { method: "POST", body });
    const data = await response.json();
    show("message", response.ok ? "Burned." : (data.message || "The secret could not be burned."));
  } catch (error) {
    show("message", "The gateway did not answer.");
  }
  await load();
});
load();
"#;
