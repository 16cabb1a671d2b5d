// Clerk's official browser/native SDK (@clerk/clerk-js, npm) against orgmint's Frontend API, unchanged but for the
// host: headless, as Expo runs it (the `clerk.native.js` build, the client token in `Authorization` with
// `_is_native=1`, no cookies). It loads the signed-in user, creates an organization, makes it active and takes a
// session token for it; or it provokes a refusal and reports the error exactly as clerk-js hands it over.
//
// Inputs (environment):
//   ORGMINT_URL            base URL of orgmint's FAPI, e.g. http://127.0.0.1:9000 (given to clerk-js as
//                          `proxyUrl`, the one option that lets it talk plain http)
//   CLERK_CLIENT_TOKEN     the client token (what `tenant create` prints); sent raw as `Authorization`
//   CLERK_PUBLISHABLE_KEY  optional; default `pk_test_` + base64("<host>:<port>$") of ORGMINT_URL (clerk-js wants
//                          a dot in the host: for `localhost` a placeholder host is used; with proxyUrl the key's
//                          host is never contacted)
//   NODE_PATH              the node_modules directory holding @clerk/clerk-js (.tools/node_modules); ESM ignores
//                          NODE_PATH, so the package is resolved from it with createRequire
//   CLERK_SCENARIO         `flow` (default), `error` or `lifecycle`; argv[2] wins over it
//   CLERK_ORG_NAME         the name to create (flow: default "Acme via clerk-js"; error: default "")
//   CLERK_ORG_SLUG         optional slug passed to createOrganization
//
// Output: one JSON object on stdout.
//   flow:  {"user_id","session_id","organization":{"id","name","slug"},"active_organization_id",
//           "jwt","claims","fresh_jwt","fresh_claims","jwks_kids","memberships":[{"id","organization_id","role"}…]}
//          (`claims`/`fresh_claims` are the decoded payloads; both tokens are checked against GET /v1/jwks,
//          whose kids are reported as "jwks_kids")
//   error: {"status","code","message","long_message","meta","isClerkAPIResponseError"}
// Exit 0 on success; non-zero with the reason on stderr on anything unexpected (load failing, a signed-out
// client, the flow throwing, the error scenario *not* throwing).
//
//   NODE_PATH=.tools/node_modules ORGMINT_URL=http://127.0.0.1:9000 CLERK_CLIENT_TOKEN=… \
//     node tests/clients/clerk_client.mjs flow

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";

const env = process.env;
const scenario = process.argv[2] || env.CLERK_SCENARIO || "flow";
const base = (env.ORGMINT_URL || "").replace(/\/+$/, "");
const clientToken = env.CLERK_CLIENT_TOKEN;
if (!base || !clientToken) fail("ORGMINT_URL and CLERK_CLIENT_TOKEN are required");
// With `proxyUrl` set every request goes to the proxy: the key's host only has to pass clerk-js's format check
// (it must contain a dot, so `localhost` is replaced).
const keyHost = new URL(base).host.includes(".") ? new URL(base).host : "clerk.orgmint.test";
const publishableKey = env.CLERK_PUBLISHABLE_KEY || `pk_test_${Buffer.from(`${keyHost}$`).toString("base64")}`;

// `require("@clerk/clerk-js")` resolves to the browser bundle (dist/clerk.js); the React Native / Expo entry is its
// sibling dist/clerk.native.js (the package's exports hide it from a direct require).
const nodeModules = (env.NODE_PATH || "").split(path.delimiter).find(Boolean) || path.resolve(".tools/node_modules");
let Clerk, isClerkAPIResponseError;
try {
  const require = createRequire(path.join(path.resolve(nodeModules), "noop.js"));
  ({ Clerk, isClerkAPIResponseError } = require(
    path.join(path.dirname(require.resolve("@clerk/clerk-js")), "clerk.native.js"),
  ));
} catch (e) {
  fail(`cannot load @clerk/clerk-js (clerk.native.js) from ${nodeModules}: ${e.message.split("\n")[0]}`);
}

function fail(message) {
  console.error(`clerk_client: ${message}`);
  process.exit(1);
}

function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
}

async function load() {
  const clerk = new Clerk(publishableKey, { proxyUrl: base });
  let token = clientToken;
  // What @clerk/clerk-expo does: no cookies, `_is_native=1`, the client token as `Authorization`, and keep
  // the rotated one the server may hand back.
  clerk.__internal_onBeforeRequest((req) => {
    req.credentials = "omit";
    req.url.searchParams.append("_is_native", "1");
    req.headers.set("authorization", token);
  });
  clerk.__internal_onAfterResponse((_req, res) => {
    const rotated = res?.headers?.get("authorization");
    if (rotated) token = rotated;
  });
  await clerk.load({
    standardBrowser: false,
    telemetry: false,
    experimental: { runtimeEnvironment: "headless", rethrowOfflineNetworkErrors: true },
  });
  assert.ok(clerk.loaded, "clerk.load() resolved but clerk is not loaded");
  assert.ok(clerk.user, "signed out: GET /v1/client returned no active session for this client token");
  assert.ok(clerk.session, "no active session");
  return clerk;
}

async function flow(clerk) {
  const name = env.CLERK_ORG_NAME ?? "Acme via clerk-js";
  const out = { user_id: clerk.user.id, session_id: clerk.session.id };

  const args = { name };
  if (env.CLERK_ORG_SLUG) args.slug = env.CLERK_ORG_SLUG;
  const org = await clerk.createOrganization(args);
  assert.match(org.id, /^org_/, "createOrganization returned no organization");
  out.organization = { id: org.id, name: org.name, slug: org.slug };

  await clerk.setActive({ organization: org });
  assert.equal(clerk.organization?.id, org.id, "setActive did not make the organization active");
  out.active_organization_id = clerk.organization.id;

  // getToken() may answer from the `last_active_token` the touch response carried (no request at all);
  // skipCache forces POST /v1/client/sessions/{id}/tokens with `organization_id`. Both must be the
  // organization's token.
  const orgOf = (claims) => claims.o?.id ?? claims.org_id;
  const jwt = await clerk.session.getToken();
  assert.ok(jwt, "getToken returned no token");
  out.jwt = jwt;
  out.claims = claimsOf(jwt);
  assert.equal(orgOf(out.claims), org.id, `getToken(): not the organization's token: ${JSON.stringify(out.claims)}`);
  const fresh = await clerk.session.getToken({ skipCache: true });
  assert.ok(fresh, "getToken({skipCache}) returned no token");
  out.fresh_jwt = fresh;
  out.fresh_claims = claimsOf(fresh);
  assert.equal(orgOf(out.fresh_claims), org.id, `fresh token not the organization's: ${JSON.stringify(out.fresh_claims)}`);

  // The app's backend side: both tokens verify (RS256) against GET /v1/jwks, which needs no credential.
  const jwks = await (await fetch(`${base}/v1/jwks`)).json();
  for (const token of [jwt, fresh]) {
    const [head, body, sig] = token.split(".");
    const { alg, kid } = JSON.parse(Buffer.from(head, "base64url").toString());
    assert.equal(alg, "RS256", "session token not RS256");
    const jwk = jwks.keys?.find((k) => k.kid === kid);
    assert.ok(jwk, `kid ${kid} not in /v1/jwks`);
    const ok = crypto.verify("sha256", Buffer.from(`${head}.${body}`), crypto.createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(sig, "base64url"));
    assert.ok(ok, `session token signature does not verify with /v1/jwks kid ${kid}`);
  }
  out.jwks_kids = jwks.keys.map((k) => k.kid);

  // Re-read the client (GET /v1/client) and the user's memberships as clerk-js now holds them.
  await clerk.client.reload();
  out.memberships = clerk.user.organizationMemberships.map((m) => ({
    id: m.id,
    organization_id: m.organization.id,
    role: m.role,
  }));
  assert.ok(
    out.memberships.some((m) => m.organization_id === org.id),
    "the reloaded user has no membership in the new organization",
  );
  return out;
}

async function error(clerk) {
  const name = env.CLERK_ORG_NAME ?? "";
  const args = { name };
  if (env.CLERK_ORG_SLUG) args.slug = env.CLERK_ORG_SLUG;
  try {
    await clerk.createOrganization(args);
  } catch (e) {
    const first = e.errors?.[0] ?? {};
    return {
      status: e.status ?? null,
      code: first.code ?? null,
      message: first.message ?? null,
      long_message: first.longMessage ?? null,
      meta: first.meta ?? null,
      isClerkAPIResponseError: isClerkAPIResponseError(e),
    };
  }
  throw new Error(`createOrganization(${JSON.stringify(args)}) did not fail`);
}

// The organization's lifecycle as an app drives it: create, rename (organization.update), list the user's
// memberships (user.getOrganizationMemberships), delete (organization.destroy), list again.
async function lifecycle(clerk) {
  const org = await clerk.createOrganization({ name: env.CLERK_ORG_NAME ?? "Lifecycle via clerk-js" });
  const id = org.id; // destroy() empties the resource
  const renamed = (await org.update({ name: "Renamed via clerk-js" })).name;
  assert.equal(renamed, "Renamed via clerk-js", "organization.update did not rename");
  const before = await clerk.user.getOrganizationMemberships();
  const ids = (page) => (page.data ?? page).map((m) => m.organization.id);
  assert.ok(ids(before).includes(id), "getOrganizationMemberships does not list the new organization");
  await org.destroy();
  const after = await clerk.user.getOrganizationMemberships();
  assert.ok(!ids(after).includes(id), "the destroyed organization is still listed");
  return {
    organization: { id, renamed },
    memberships_before: ids(before),
    total_before: before.total_count ?? null,
    memberships_after: ids(after),
  };
}

const scenarios = { flow, error, lifecycle };
if (!scenarios[scenario]) fail(`unknown scenario ${JSON.stringify(scenario)} (flow | error | lifecycle)`);

try {
  const clerk = await load();
  const out = await scenarios[scenario](clerk);
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
} catch (e) {
  console.error(e?.stack || e);
  if (e?.errors) console.error(JSON.stringify(e.errors));
  process.exit(1);
}
