// Drives Debian's Chromium (never a downloaded one) through puppeteer-core.
//
// usage: node browser_hostile.js <chromium> <user-data-dir> <own-page-url> <hostile-url>...
//
// Each hostile page tries to create, retrieve and burn through the gateway and sets
// window.attemptsSettled when every attempt has finished, one way or another. The page cannot
// see the answers (no-cors), so the Rust test checks the gateway's state afterwards.
// The gateway's own reveal page must still work: its revealed text is printed.
const puppeteer = require("puppeteer-core");

async function main() {
  const [chromium, userDataDir, ownPage, ...hostilePages] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir,
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
    for (const url of hostilePages) {
      const page = await browser.newPage();
      await page.goto(url, { waitUntil: "load" });
      await page.waitForFunction("window.attemptsSettled === true", { timeout: 30000 });
      console.log(`ok hostile ${url}`);
      await page.close();
    }
    const page = await browser.newPage();
    await page.goto(ownPage, { waitUntil: "load" });
    await page.click("#reveal");
    await page.waitForSelector("#out:not([hidden])", { timeout: 30000 });
    const text = await page.$eval("#out", (el) => el.textContent);
    console.log(`ok own-page ${text}`);
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
