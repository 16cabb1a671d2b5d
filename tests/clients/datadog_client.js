// Datadog's official TypeScript client (@datadog/datadog-api-client, npm) against orgmint, unchanged but for
// the host: `POST /api/v1/org` for a child, the child's keys at once, a 400, and 403s for bad keys and at the
// cap, each answer parsed by the client's own deserializer (a body it cannot read fails the run).
//
// Run by tests/tests/e2e/http.rs with ORGMINT_URL, DD_API_KEY, DD_APP_KEY (a parent that nests, with room
// for exactly two children) and NODE_PATH=.tools/node_modules. Prints the child's public id as JSON.

const assert = require("node:assert/strict");
const { client, v1 } = require("@datadog/datadog-api-client");

function api(apiKey, appKey) {
  const configuration = client.createConfiguration({
    baseServer: new client.BaseServerConfiguration(process.env.ORGMINT_URL, {}),
    authMethods: { apiKeyAuth: apiKey, appKeyAuth: appKey },
  });
  return new v1.OrganizationsApi(configuration);
}

function create(apiKey, appKey, name, subscription = "pro") {
  return api(apiKey, appKey).createChildOrg({
    body: { name, billing: { type: "parent_billing" }, subscription: { type: subscription } },
  });
}

// A refusal as the client hands it over: an ApiException whose body it deserialized as APIErrorResponse.
async function refused(promise, code, errors) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof client.ApiException, `not the client's ApiException: ${e}`);
    assert.equal(e.code, code, JSON.stringify(e.body));
    assert.ok(e.body instanceof v1.APIErrorResponse, `body not parsed: ${JSON.stringify(e.body)}`);
    assert.deepEqual(e.body.errors, errors);
    return;
  }
  assert.fail(`expected a ${code}`);
}

function check(response, name) {
  assert.ok(response instanceof v1.OrganizationCreateResponse, typeof response);
  assert.equal(response.apiKey.key.length, 32);
  assert.equal(response.applicationKey.hash.length, 40);
  assert.equal(response.org.name, name);
  assert.match(response.org.publicId, /^[0-9a-f]{12}$/);
  assert.match(response.org.created, /Z$/);
  assert.equal(response.org.billing.type, "parent_billing");
  assert.equal(response.org.settings.samlAutocreateAccessRole, "st");
  assert.equal(response.user.accessRole, "adm");
  assert.equal(response.user.handle, response.apiKey.createdBy);
  assert.equal(response.user.handle, response.applicationKey.owner);
}

async function main() {
  const { DD_API_KEY: apiKey, DD_APP_KEY: appKey } = process.env;
  const child = await create(apiKey, appKey, "Child via TypeScript", "trial");
  check(child, "Child via TypeScript");
  assert.equal(child.org.trial, true);
  assert.equal(child.org.subscription.type, "trial");

  // The child's keys work at once (the parent nests): its own child.
  const grandchild = await create(child.apiKey.key, child.applicationKey.hash, "Grandchild via TypeScript");
  check(grandchild, "Grandchild via TypeScript");

  await refused(create(apiKey, appKey, "x".repeat(33)), 400, ["'name' must be at most 32 characters long (got 33)"]);
  await refused(create(apiKey, "0".repeat(40), "Nope"), 403, ["Forbidden"]);
  await refused(create("f".repeat(32), appKey, "Nope"), 403, ["Forbidden"]);

  // The parent's second child fills its cap of 2; the third is Datadog's 403, parsed.
  check(await create(apiKey, appKey, "Second child"), "Second child");
  await refused(create(apiKey, appKey, "Third child"), 403, ["Maximum number of child organizations (2) reached"]);

  // The organizations around the create: listOrgs, getOrg, updateOrg (Datadog has no delete).
  const orgs = api(apiKey, appKey);
  const listed = await orgs.listOrgs();
  assert.deepEqual(listed.orgs.map((o) => o.name), ["Child via TypeScript", "Second child"]);
  const got = await orgs.getOrg({ publicId: child.org.publicId });
  assert.equal(got.org.publicId, child.org.publicId);
  const updated = await orgs.updateOrg({ publicId: child.org.publicId, body: { name: "Renamed via TypeScript" } });
  assert.equal(updated.org.name, "Renamed via TypeScript");
  await refused(orgs.getOrg({ publicId: grandchild.org.publicId }), 403, ["Forbidden"]);
  console.log(JSON.stringify({ child: child.org.publicId }));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
