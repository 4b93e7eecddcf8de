// A burst from the npm package `onetimesecret-api`, as a busy script would send it: COUNT shares
// at once, then a receipt call and a reveal for each. Usage: node npm_burst.js BASE_URL COUNT,
// with OTS_CLIENT_MODULES set. Prints "ok <step> <n>" per step; exits non-zero on any failure,
// naming a rate-limit refusal as such.
"use strict";
const path = require("path");
const assert = require("assert/strict");

const lib = require(path.join(process.env.OTS_CLIENT_MODULES, "onetimesecret-api", "index.js"));
const { OneTimeSecretApi, RateLimitedError } = lib;

async function all(step, calls) {
    const results = await Promise.allSettled(calls);
    const limited = results.filter((r) => r.status === "rejected" && r.reason instanceof RateLimitedError);
    assert.equal(limited.length, 0, `${step}: ${limited.length} of ${calls.length} rate limited`);
    const failed = results.filter((r) => r.status === "rejected");
    assert.equal(failed.length, 0, `${step}: ${failed.map((r) => r.reason).join("; ")}`);
    console.log(`ok ${step} ${results.length}`);
    return results.map((r) => r.value);
}

async function main() {
    const [baseUrl, countText] = process.argv.slice(2);
    const count = Number(countText);
    const api = new OneTimeSecretApi("someone@example.com", "unused", { url: baseUrl });
    const secrets = Array.from({ length: count }, (_, n) => `npm-burst-${process.pid}-${n}`);

    const shared = await all("share", secrets.map((secret) => api.share(secret, { ttl: 600 })));
    const receipts = await all("receipt", shared.map((s) => api.retrieveMetadata(s.metadata_key)));
    receipts.forEach((r) => assert.equal(r.state, "new", "receipt state before reveal"));
    const revealed = await all("reveal", shared.map((s) => api.retrieveSecret(s.secret_key)));
    revealed.forEach((r, n) => assert.equal(r.value, secrets[n], "revealed value"));
}

main().catch((error) => {
    console.error(`FAILED: ${error && error.stack ? error.stack : error}`);
    process.exit(1);
});
