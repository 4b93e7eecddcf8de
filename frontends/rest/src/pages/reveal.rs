//! `/secret/{key}`: reveals a secret once, asking for its passphrase if it has one.

pub const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>One-time secret (ots-gateway)</title>
<link rel="stylesheet" href="/gateway/pages/page.css">
<script src="/gateway/pages/reveal.js" defer></script>
</head><body>
<h1>One-time secret</h1>
<p>This secret can be viewed once. Served by the ots-gateway from its built-in OTS simulator.</p>
<p><label>Passphrase (if any): <input id="passphrase" type="password" autocomplete="off"></label></p>
<p><button id="reveal">Reveal the secret</button></p>
<pre id="out" hidden></pre>
</body></html>
"#;

pub const SCRIPT: &str = r#""use strict";
document.getElementById("reveal").addEventListener("click", async () => {
  const key = location.pathname.split("/").pop();
  const body = new URLSearchParams();
  const passphrase = document.getElementById("passphrase").value;
  if (passphrase) body.set("passphrase", passphrase);
  const out = document.getElementById("out");
  try {
    const response = await fetch("/api/v1/secret/" + encodeURIComponent(key), { method: "POST", body });
    const data = await response.json();
    out.textContent = response.ok ? data.value : (data.message || "Unknown secret");
  } catch (error) {
    out.textContent = "The gateway did not answer.";
  }
  out.hidden = false;
  document.getElementById("reveal").disabled = true;
});
"#;
