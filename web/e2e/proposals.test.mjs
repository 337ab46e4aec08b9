// End to end in Chromium against a real `octo serve`: group.md review mode.
// An agent proposes through the API; Bob (a member, so he may edit group.md)
// sees it arrive live, accepts it, and sees the document change; Carol (denied
// edit_groupmd) sees the proposal but no Accept or Reject; the owner switches
// the mode in the panel.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ARTIFACTS, call, launch, openPage, signIn, startServer } from "./harness.mjs";

let server;
let browser;
const errors = [];
const s = {};

const TEMPLATE =
  "# group.md\n\n## Purpose\n\n## Decisions\n\n## Working agreements\n\n## Open questions\n\n## Action items\n\n## Glossary\n";
const withDecision = (line) => TEMPLATE.replace("## Decisions\n", `## Decisions\n- ${line}\n`);
const shot = (page, name) => page.screenshot({ path: `${ARTIFACTS}${name}.png` });
const panel = (page) => page.getByRole("complementary", { name: "group.md" });
const proposals = (page) => panel(page).getByRole("region", { name: "Proposals" });

async function member(name) {
  const p = await call(server.url, "POST", `/orgs/${s.org}/members`, s.ownerToken, {
    name,
    email: `${name}@acme.test`,
    password: `${name}-pass-12`,
  });
  const login = await call(server.url, "POST", "/auth/login", null, {
    email: `${name}@acme.test`,
    password: `${name}-pass-12`,
  });
  await call(server.url, "POST", `/channels/${s.general}/members`, s.ownerToken, { principal_id: p.id });
  return { id: p.id, token: login.token };
}

before(async () => {
  server = await startServer();
  browser = await launch();
  const owner = await call(server.url, "POST", "/setup", null, {
    org_name: "Acme",
    name: "olivia",
    email: "olivia@acme.test",
    password: "olivia-pass-1",
  });
  s.ownerToken = owner.token;
  s.org = owner.org.id;
  const space = await call(server.url, "POST", `/orgs/${s.org}/spaces`, s.ownerToken, { name: "Eng", visibility: "open" });
  s.general = (await call(server.url, "POST", `/spaces/${space.id}/channels`, s.ownerToken, { name: "general" })).id;
  s.bob = await member("bob");
  s.carol = await member("carol");
  const agent = await call(server.url, "POST", `/orgs/${s.org}/agents`, s.ownerToken, { name: "helper", description: "takes notes" });
  s.agentToken = agent.token;
  await call(server.url, "POST", `/channels/${s.general}/members`, s.ownerToken, { principal_id: agent.principal.id });
  // Carol may read and post here, but not edit group.md.
  await call(server.url, "PUT", `/channels/${s.general}/overrides`, s.ownerToken, {
    overrides: [{ target: { kind: "principal", id: s.carol.id }, action: "edit_groupmd", effect: "deny" }],
  });
  await call(server.url, "PUT", `/channels/${s.general}/groupmd/settings`, s.ownerToken, { mode: "review" });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openPanel(token) {
  const page = await openPage(browser, server.url, errors);
  await signIn(page, token);
  await page.getByRole("heading", { name: "#general" }).waitFor();
  await page.getByRole("button", { name: "group.md" }).click();
  await panel(page).getByTestId("groupmd-doc").waitFor();
  await proposals(page).getByText("No pending proposals.").waitFor();
  return page;
}

test("a proposal arrives live; a member with edit_groupmd accepts it and the document changes", async () => {
  s.bobPage = await openPanel(s.bob.token);
  s.carolPage = await openPanel(s.carol.token);
  await call(server.url, "POST", `/channels/${s.general}/groupmd/proposals`, s.agentToken, {
    text: withDecision("Water the tomatoes at dawn"),
    base_revision: 0,
    summary: "+1 decision",
  });

  const card = proposals(s.bobPage).getByRole("article", { name: "Proposal by helper" });
  await card.waitFor();
  assert.match(await card.innerText(), /\+1 decision/);
  assert.match(await card.getByTestId("proposal-diff").innerText(), /^\+- Water the tomatoes at dawn$/m);
  await shot(s.bobPage, "20-groupmd-proposal");
  assert.equal(
    (await panel(s.bobPage).getByTestId("groupmd-doc").innerText()).includes("Water the tomatoes"),
    false,
    "a proposal is not the document",
  );

  await card.getByRole("button", { name: "Accept" }).click();
  await panel(s.bobPage).getByTestId("groupmd-doc").getByText("Water the tomatoes at dawn").waitFor();
  await panel(s.bobPage).locator("header").getByText("revision 1", { exact: true }).waitFor();
  await proposals(s.bobPage).getByText("No pending proposals.").waitFor();
  const now = await call(server.url, "GET", `/channels/${s.general}/groupmd`, s.ownerToken);
  assert.equal(now.revision, 1);
  assert.match(now.text, /Water the tomatoes at dawn/);
});

test("without edit_groupmd the proposal shows but Accept and Reject do not", async () => {
  // Carol's page followed the accept live.
  await panel(s.carolPage).getByTestId("groupmd-doc").getByText("Water the tomatoes at dawn").waitFor();
  await call(server.url, "POST", `/channels/${s.general}/groupmd/proposals`, s.agentToken, {
    text: withDecision("Water the tomatoes at dawn\n- Buy a hose"),
    base_revision: 1,
    summary: "+1 decision",
  });
  const card = proposals(s.carolPage).getByRole("article", { name: "Proposal by helper" });
  await card.getByTestId("proposal-diff").waitFor();
  assert.match(await card.getByTestId("proposal-diff").innerText(), /^\+- Buy a hose$/m);
  assert.equal(await card.getByRole("button", { name: "Accept" }).count(), 0);
  assert.equal(await card.getByRole("button", { name: "Reject" }).count(), 0);
  assert.equal(await proposals(s.carolPage).getByLabel("group.md mode").count(), 0, "no mode switch for her");
  assert.equal(await proposals(s.carolPage).getByTestId("groupmd-mode").innerText(), "changes are reviewed");
  await shot(s.carolPage, "21-groupmd-proposal-read-only");
});

test("rejecting leaves the document as it was", async () => {
  const card = proposals(s.bobPage).getByRole("article", { name: "Proposal by helper" });
  await card.getByRole("button", { name: "Reject" }).click();
  await proposals(s.bobPage).getByText("No pending proposals.").waitFor();
  await proposals(s.carolPage).getByText("No pending proposals.").waitFor();
  const now = await call(server.url, "GET", `/channels/${s.general}/groupmd`, s.ownerToken);
  assert.equal(now.revision, 1);
  assert.doesNotMatch(now.text, /Buy a hose/);
  const all = await call(server.url, "GET", `/channels/${s.general}/groupmd/proposals?status=all`, s.ownerToken);
  assert.deepEqual(
    all.proposals.map((p) => p.status),
    ["rejected", "accepted"],
  );
});

test("the owner switches the channel back to auto in the panel", async () => {
  const page = await openPanel(s.ownerToken);
  const select = proposals(page).getByLabel("group.md mode");
  assert.equal(await select.inputValue(), "review");
  await select.selectOption("auto");
  for (let i = 0; i < 50; i++) {
    const settings = await call(server.url, "GET", `/channels/${s.general}/groupmd/settings`, s.ownerToken);
    if (settings.mode === "auto") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail("the mode never became auto");
});

test("no console errors", () => {
  assert.deepEqual(errors, []);
});
