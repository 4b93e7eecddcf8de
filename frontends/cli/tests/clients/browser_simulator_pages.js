// Opens the pages behind the simulator's links in Debian's headless Chromium (puppeteer-core,
// which downloads no browser of its own) and uses them as a person would.
// Usage: node browser_simulator_pages.js BASE SECRET_KEY RECEIPT_KEY PASSPHRASE EXPECTED_VALUE BURN_RECEIPT_KEY
const path = require("path");
const puppeteer = require(path.join(process.env.PUPPETEER_MODULES, "puppeteer-core"));

const [base, secretKey, receiptKey, passphrase, expected, burnReceiptKey] = process.argv.slice(2);

async function textOf(page, selector) {
  return page.$eval(selector, (el) => el.textContent);
}

async function receiptState(page, key) {
  await page.goto(`${base}/receipt/${key}`);
  await page.waitForFunction(() => document.getElementById("state").textContent !== "…");
  return textOf(page, "#state");
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage();
    if ((await receiptState(page, receiptKey)) === "new") console.log("ok receipt-new");

    await page.goto(`${base}/secret/${secretKey}`);
    await page.type("#passphrase", passphrase);
    await page.click("#reveal");
    await page.waitForFunction(() => !document.getElementById("out").hidden);
    if ((await textOf(page, "#out")) === expected) console.log("ok reveal");

    const after = await receiptState(page, receiptKey);
    if (after === "received" || after === "revealed") console.log("ok receipt-revealed");

    await receiptState(page, burnReceiptKey);
    await page.click("#burn");
    await page.waitForFunction(() => document.getElementById("message").textContent === "Burned.");
    await page.waitForFunction(() => document.getElementById("state").textContent === "burned");
    console.log("ok burn");
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
