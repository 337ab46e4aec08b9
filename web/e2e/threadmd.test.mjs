// A thread's own group.md in the thread panel: the same panel as the
// channel's, on the thread's routes. Saving it leaves the channel's document
// alone, another person's open thread panel follows live, and history is
// tried only when the server has the thread revision routes.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ARTIFACTS, call, launch, openPage, signIn, startServer } from "./harness.mjs";

let server;
let browser;
const errors = [];
const s = {};

const shot = (page, name) => page.screenshot({ path: `${ARTIFACTS}${name}.png` });
const panel = (page) => page.getByRole("complementary", { name: "Thread group.md" });
const atRevision = (page, n) => panel(page).locator("header").getByText(`revision ${n}`, { exact: true }).waitFor();

before(async () => {
  server = await startServer();
  browser = await launch();
  const owner = await call(server.url, "POST", "/setup", null, {
    org_name: "Acme",
    name: "alice",
    email: "alice@acme.test",
    password: "alice-pass-1",
  });
  s.aliceToken = owner.token;
  s.org = owner.org.id;
  const space = await call(server.url, "POST", `/orgs/${s.org}/spaces`, s.aliceToken, { name: "Eng", visibility: "open" });
  s.general = (await call(server.url, "POST", `/spaces/${space.id}/channels`, s.aliceToken, { name: "general" })).id;
  const bob = await call(server.url, "POST", `/orgs/${s.org}/members`, s.aliceToken, {
    name: "bob",
    email: "bob@acme.test",
    password: "bob-pass-12",
  });
  await call(server.url, "POST", `/channels/${s.general}/members`, s.aliceToken, { principal_id: bob.id });
  s.bobToken = (await call(server.url, "POST", "/auth/login", null, { email: "bob@acme.test", password: "bob-pass-12" })).token;
  s.root = (await call(server.url, "POST", `/channels/${s.general}/messages`, s.aliceToken, { text: "Beta plan thread" })).id;
  await call(server.url, "POST", `/channels/${s.general}/messages`, s.bobToken, { text: "count me in", thread_id: s.root });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Signs in, opens the thread of the root, then its group.md. */
async function openThreadDoc(token) {
  const page = await openPage(browser, server.url, errors);
  await signIn(page, token);
  await page.getByRole("heading", { name: "#general" }).waitFor();
  const root = page.locator(".channel-view article.message", { hasText: "Beta plan thread" });
  await root.getByRole("button", { name: "1 reply" }).click();
  const thread = page.getByRole("complementary", { name: "Thread" });
  await thread.locator("article.message", { hasText: "count me in" }).waitFor();
  await thread.getByRole("button", { name: "Thread group.md" }).click();
  await panel(page).getByTestId("groupmd-doc").waitFor();
  return page;
}

test("the thread panel's group.md edits the thread's document, not the channel's, and others see it live", async () => {
  const channelBefore = await call(server.url, "GET", `/channels/${s.general}/groupmd`, s.aliceToken);
  const alice = await openThreadDoc(s.aliceToken);
  const bob = await openThreadDoc(s.bobToken);
  await atRevision(alice, 0);

  const p = panel(alice);
  await p.getByRole("button", { name: "Edit" }).click();
  await p.getByLabel("group.md text").fill("# Beta thread\n\n- ask **design** first");
  await p.getByRole("button", { name: "Save" }).click();
  await atRevision(alice, 1);

  // Bob's open panel follows the thread's document.
  await panel(bob).getByTestId("groupmd-doc").locator("strong", { hasText: "design" }).waitFor();
  await atRevision(bob, 1);
  await shot(bob, "50-thread-groupmd");

  const thread = await call(server.url, "GET", `/channels/${s.general}/threads/${s.root}/groupmd`, s.aliceToken);
  assert.equal(thread.revision, 1);
  assert.match(thread.text, /ask \*\*design\*\* first/);
  const channelAfter = await call(server.url, "GET", `/channels/${s.general}/groupmd`, s.aliceToken);
  assert.equal(channelAfter.revision, channelBefore.revision, "the channel's group.md is untouched");
  assert.doesNotMatch(channelAfter.text, /Beta thread/);

  // A save of the channel's document does not disturb the thread's panel.
  const put = await fetch(`${server.url}/api/v1/channels/${s.general}/groupmd`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${s.aliceToken}`, "if-match": `"${channelAfter.revision}"` },
    body: JSON.stringify({ text: "# Channel doc\n\n- channel only" }),
  });
  assert.equal(put.status, 200);
  await alice.waitForTimeout(300);
  assert.doesNotMatch(await panel(bob).getByTestId("groupmd-doc").innerText(), /channel only/);

  // Closing the document goes back to the thread.
  await p.getByRole("button", { name: "Close group.md" }).click();
  await alice.getByRole("complementary", { name: "Thread" }).locator("article.message", { hasText: "count me in" }).waitFor();
  s.alice = alice;
});

test("history of the thread's group.md, when the server has its routes", async (t) => {
  const probe = await fetch(`${server.url}/api/v1/channels/${s.general}/threads/${s.root}/groupmd/revisions`, {
    headers: { authorization: `Bearer ${s.aliceToken}` },
  });
  if (probe.status === 404) {
    t.skip("this server has no revision routes for a thread's group.md");
    return;
  }
  assert.equal(probe.status, 200);
  const alice = s.alice;
  await alice.getByRole("complementary", { name: "Thread" }).getByRole("button", { name: "Thread group.md" }).click();
  const p = panel(alice);
  await p.getByRole("button", { name: "History" }).click();
  const history = p.getByRole("region", { name: "Revisions" });
  await history.getByRole("button", { name: "Revision 1" }).click();
  await p.getByTestId("diff").locator(".add", { hasText: "design" }).waitFor();
});

test("no console errors", () => {
  assert.deepEqual(errors, []);
});
