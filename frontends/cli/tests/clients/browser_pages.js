// Drives Debian's Chromium (never a downloaded one) through puppeteer-core over the pages behind
// the links `serve --dev` hands out: the receipt page shows the state, the reveal page reveals
// with a passphrase, and the receipt page's burn button burns.
//
// usage: node browser_pages.js <chromium> <user-data-dir> <gateway-base-url>
// Prints "ok <step>" lines; exits non-zero on the first failure.
"use strict";
const assert = require("assert/strict");
const puppeteer = require("puppeteer-core");

async function share(base, fields) {
  const response = await fetch(`${base}/api/v1/share`, {
    method: "POST",
    body: new URLSearchParams(fields),
  });
  assert.equal(response.status, 200, "share");
  return response.json();
}

async function receiptState(page, url) {
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(
    () => document.getElementById("state").textContent !== "loading…",
    { timeout: 30000 },
  );
  return page.$eval("#state", (el) => el.textContent);
}

async function main() {
  const [chromium, userDataDir, base] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });

    const shared = await share(base, { secret: "browser-secret", passphrase: "open-sesame" });
    let state = await receiptState(page, shared.metadata_url);
    assert.match(state, /^new/, "receipt page before the reveal");
    assert.equal(await page.$eval("#passphrase-required", (el) => el.textContent), "required");
    assert.equal(await page.$eval("#burn-form", (el) => el.hidden), false, "burn offered");
    console.log("ok receipt-new");

    await page.goto(shared.share_url, { waitUntil: "load" });
    await page.type("#passphrase", "open-sesame");
    await page.click("#reveal");
    await page.waitForSelector("#out:not([hidden])", { timeout: 30000 });
    assert.equal(await page.$eval("#out", (el) => el.textContent), "browser-secret");
    console.log("ok reveal");

    state = await receiptState(page, shared.metadata_url);
    assert.match(state, /^received/, "receipt page after the reveal");
    assert.equal(await page.$eval("#burn-form", (el) => el.hidden), true, "nothing left to burn");
    console.log("ok receipt-received");

    const unread = await share(base, { secret: "never-read" });
    state = await receiptState(page, unread.receipt_url);
    assert.match(state, /^new/);
    await page.click("#burn");
    await page.waitForFunction(
      () => document.getElementById("state").textContent.startsWith("burned"),
      { timeout: 30000 },
    );
    assert.equal(await page.$eval("#message", (el) => el.textContent), "Burned.");
    console.log("ok burn");

    const gone = await fetch(`${base}/api/v1/secret/${unread.secret_key}`, { method: "POST" });
    assert.equal(gone.status, 404, "a burned secret cannot be revealed");
    assert.deepEqual(problems, [], "the pages ran without console errors (CSP included)");
    console.log("ok clean-console");
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(`FAILED: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});
