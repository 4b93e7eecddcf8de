// Plays the person at a secret entry page: opens it in headless Chromium (Debian's, driven by
// puppeteer-core), types the secret, submits, and prints the HTTP status and the outcome text.
//
// Usage: node fill_entry_page.mjs CHROMIUM USER_DATA_DIR URL SECRET [PASSPHRASE]
import puppeteer from "puppeteer-core";

const [chromium, userDataDir, url, secret, passphrase] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: chromium,
  userDataDir,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage();
  const opened = await page.goto(url, { waitUntil: "load" });
  if (opened.status() !== 200) {
    console.log(JSON.stringify({ opened: opened.status() }));
  } else {
    await page.type("#secret", secret);
    if (passphrase) {
      await page.type("#passphrase", passphrase);
    }
    const [submitted] = await Promise.all([
      page.waitForNavigation({ waitUntil: "load" }),
      page.click("#share"),
    ]);
    const outcome = await page.$eval("#outcome", (node) => node.textContent);
    console.log(JSON.stringify({ opened: 200, submitted: submitted.status(), outcome }));
  }
} finally {
  await browser.close();
}
