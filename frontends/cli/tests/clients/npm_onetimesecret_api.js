// Drives the npm package `onetimesecret-api` (an unmodified OTS client library) against the
// gateway. Usage: node npm_onetimesecret_api.js BASE_URL, with OTS_CLIENT_MODULES pointing at the
// node_modules folder the package was installed into. Exits non-zero on the first mismatch.
"use strict";
const path = require("path");
const assert = require("assert/strict");

const modules = process.env.OTS_CLIENT_MODULES;
// The package names its TypeScript source as "main", so the compiled file is required directly.
const lib = require(path.join(modules, "onetimesecret-api", "index.js"));
const { OneTimeSecretApi, UnknownSecretError, NotFoundError } = lib;

async function main() {
    const baseUrl = process.argv[2];
    // The gateway holds the team credentials; whatever the client sends is not forwarded.
    const api = new OneTimeSecretApi("someone@example.com", "client-side-key", { url: baseUrl });

    assert.equal(await api.status(), true, "status");
    console.log("ok status");

    const secret = `npm-secret-${process.pid}-${Date.now()}`;
    const shared = await api.share(secret, { ttl: 600, passphrase: "npm-pass-1234" });
    assert.match(shared.metadata_key, /^[a-z0-9]{20,}$/, "metadata_key");
    assert.match(shared.secret_key, /^[a-z0-9]{20,}$/, "secret_key");
    assert.equal(shared.ttl, 600, "ttl");
    assert.equal(shared.passphrase_required, true, "passphrase_required");
    assert.ok(shared.share_link.endsWith(`/secret/${shared.secret_key}`), "share_link");
    console.log("ok share");

    const metadata = await api.retrieveMetadata(shared.metadata_key);
    assert.equal(metadata.state, "new", "metadata state before reveal");
    console.log("ok metadata");

    const revealed = await api.retrieveSecret(shared.secret_key, { passphrase: "npm-pass-1234" });
    assert.equal(revealed.value, secret, "revealed value");
    console.log("ok retrieve");

    await assert.rejects(
        api.retrieveSecret(shared.secret_key, { passphrase: "npm-pass-1234" }),
        UnknownSecretError,
        "a second retrieve is an unknown secret",
    );
    console.log("ok retrieve-once");

    const afterReveal = await api.retrieveMetadata(shared.metadata_key);
    assert.equal(afterReveal.state, "received", "metadata state after reveal");
    console.log("ok metadata-received");

    const generated = await api.generate({ ttl: 300 });
    assert.equal(typeof generated.value, "string", "generated value");
    assert.equal(generated.value.length, 12, "default generated length");
    console.log("ok generate");

    const burned = await api.burn(generated.metadata_key);
    assert.equal(typeof burned.state, "object", "burn returns the nested state object");
    assert.equal(burned.secret_shortkey, generated.secret_key.slice(0, 8), "secret_shortkey");
    const afterBurn = await api.retrieveMetadata(generated.metadata_key);
    assert.equal(afterBurn.state, "burned", "metadata state after burn");
    console.log("ok burn");

    const recent = await api.recentMetadata();
    assert.ok(Array.isArray(recent), "recent is an array");
    const keys = recent.map((item) => item.metadata_key);
    assert.ok(keys.includes(shared.metadata_key), "recent lists the shared secret");
    assert.ok(keys.includes(generated.metadata_key), "recent lists the generated secret");
    console.log("ok recent");

    await assert.rejects(api.retrieveMetadata("tooshort"), NotFoundError, "short key");
    console.log("ok not-found");
}

main().catch((error) => {
    console.error(`FAILED: ${error && error.stack ? error.stack : error}`);
    process.exit(1);
});
