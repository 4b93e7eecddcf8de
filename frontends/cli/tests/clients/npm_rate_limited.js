// Shows that the gateway's quota refusal reaches users of the npm `onetimesecret-api` package as
// that library's own RateLimitedError. Usage: node npm_rate_limited.js BASE_URL, with
// OTS_CLIENT_MODULES set, against a gateway whose REST create quota allows one share.
"use strict";
const path = require("path");
const assert = require("assert/strict");

const lib = require(path.join(process.env.OTS_CLIENT_MODULES, "onetimesecret-api", "index.js"));
const { OneTimeSecretApi, RateLimitedError } = lib;

async function main() {
    const api = new OneTimeSecretApi("someone@example.com", "unused", { url: process.argv[2] });
    await api.share("first share fits the quota");
    console.log("ok first-share");
    await assert.rejects(api.share("second share is over it"), RateLimitedError);
    console.log("ok rate-limited");
}

main().catch((error) => {
    console.error(`FAILED: ${error && error.stack ? error.stack : error}`);
    process.exit(1);
});
