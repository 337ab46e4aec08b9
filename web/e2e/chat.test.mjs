// End to end in Chromium against a real `octo serve`: first-run setup, two
// people talking in real time, threads, an agent's streamed answer, and a
// private channel that a non-member never sees. Screenshots go to
// web/test-artifacts/.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ARTIFACTS, call, launch, openPage, startServer } from "./harness.mjs";

let server;
let browser;
const errors = [];
const s = {}; // what the steps share: pages, tokens, ids

const shot = (page, name) => page.screenshot({ path: `${ARTIFACTS}${name}.png` });
const message = (page, text) => page.locator(".channel-view article.message", { hasText: text });
const sidebarChannel = (page, name) => page.locator(`.sidebar [data-channel="${name}"]`);

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("first-run setup, then a space and a channel from the sidebar", async () => {
  const alice = await openPage(browser, server.url, errors);
  s.alice = alice;
  await alice.goto("/");
  await shot(alice, "01-setup");
  await alice.getByLabel("Organisation").fill("Acme");
  await alice.getByLabel("Your handle").fill("alice");
  await alice.getByLabel("Email").fill("alice@acme.test");
  await alice.getByLabel("Password").fill("alice-pass-1");
  await alice.getByRole("button", { name: "Create organisation" }).click();

  await alice.getByRole("button", { name: "+ New space" }).click();
  await alice.getByRole("dialog").getByLabel("Name").fill("Eng");
  await alice.getByRole("button", { name: "Create" }).click();
  await alice.getByRole("button", { name: "New channel in Eng" }).click();
  await alice.getByRole("dialog").getByLabel("Name", { exact: true }).fill("general");
  await alice.getByRole("dialog").getByLabel("Topic (optional)").fill("all things Eng");
  await alice.getByRole("button", { name: "Create" }).click();
  await alice.getByRole("heading", { name: "#general" }).waitFor();

  s.aliceToken = await alice.evaluate(() => localStorage.getItem("octo.token"));
  const me = await call(server.url, "GET", "/me", s.aliceToken);
  s.org = me.org.id;
  const tree = await call(server.url, "GET", `/orgs/${s.org}/tree`, s.aliceToken);
  s.general = tree.spaces[0].channels[0].id;
  assert.equal(tree.spaces[0].channels[0].name, "general");
});

test("two people in two browsers exchange messages in real time", async () => {
  await call(server.url, "POST", `/orgs/${s.org}/members`, s.aliceToken, {
    name: "bob",
    email: "bob@acme.test",
    password: "bob-pass-12",
  });
  const bob = await openPage(browser, server.url, errors);
  s.bob = bob;
  await bob.goto("/");
  await bob.getByLabel("Email").fill("bob@acme.test");
  await bob.getByLabel("Password").fill("bob-pass-12");
  await bob.getByRole("button", { name: "Log in" }).click();
  await bob.getByRole("heading", { name: "#general" }).waitFor();
  s.bobToken = await bob.evaluate(() => localStorage.getItem("octo.token"));

  await s.alice.getByLabel("Message #general").fill("hello @bob, **welcome** <b>raw</b>");
  await s.alice.getByLabel("Message #general").press("Enter");
  const seen = message(bob, "welcome");
  await seen.waitFor();
  // Markdown renders; raw HTML stays text; the mention of bob is highlighted for bob.
  assert.equal(await seen.locator("strong", { hasText: "welcome" }).count(), 1);
  assert.equal(await seen.locator("b").count(), 0);
  assert.match(await seen.innerText(), /<b>raw<\/b>/);
  assert.equal(await seen.locator(".mention-me").innerText(), "@bob");

  const box = bob.getByLabel("Message #general");
  await box.fill("first line");
  await box.press("Shift+Enter");
  await box.pressSequentially("second line");
  await box.press("Enter");
  const reply = message(s.alice, "second line");
  await reply.waitFor();
  assert.match(await reply.innerText(), /first line\nsecond line/);
  await shot(s.alice, "02-channel");
});

test("a thread reply appears in the other person's thread panel", async () => {
  const root = message(s.alice, "welcome");
  await root.hover();
  await root.getByRole("button", { name: "Reply in thread" }).click();
  const alicePanel = s.alice.getByRole("complementary", { name: "Thread" });
  await alicePanel.locator("article.message", { hasText: "welcome" }).waitFor();

  const bobRoot = message(s.bob, "welcome");
  await bobRoot.hover();
  await bobRoot.getByRole("button", { name: "Reply in thread" }).click();
  const bobPanel = s.bob.getByRole("complementary", { name: "Thread" });
  await bobPanel.getByLabel("Reply in thread").fill("replying in the thread");
  await bobPanel.getByLabel("Reply in thread").press("Enter");

  await alicePanel.locator("article.message", { hasText: "replying in the thread" }).waitFor();
  await message(s.alice, "welcome").getByRole("button", { name: "1 reply" }).waitFor();
  // The reply stays in the thread, not in the channel.
  assert.equal(await message(s.alice, "replying in the thread").count(), 0);
  await shot(s.alice, "03-thread");
  await alicePanel.getByRole("button", { name: "Close thread" }).click();
});

test("an agent answers a mention with a reply that renders as it streams", async () => {
  const made = await call(server.url, "POST", `/orgs/${s.org}/agents`, s.aliceToken, {
    name: "scout",
    description: "finds things",
  });
  const agent = { id: made.principal.id, token: made.token };
  await call(server.url, "POST", `/channels/${s.general}/members`, s.aliceToken, { principal_id: agent.id });

  const box = s.alice.getByLabel("Message #general");
  await box.pressSequentially("@sco");
  const option = s.alice.getByRole("option", { name: /@scout/ });
  await option.waitFor();
  await box.press("Enter"); // picks the suggestion
  await box.pressSequentially("what is new?");
  assert.equal(await box.inputValue(), "@scout what is new?");
  await box.press("Enter");

  // The test plays the agent: wait for its trigger, then answer in pieces.
  // The trigger is recorded just after the message commits, so a poll may see
  // the message first; nothing is acked, so the next poll sees both.
  let trigger;
  for (let i = 0; i < 100 && !trigger; i++) {
    const polled = await call(server.url, "GET", "/events?wait=5", agent.token);
    trigger = polled.items.find((f) => f.type === "trigger");
    if (!trigger) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(trigger, "the mention woke the agent");
  const turn = trigger.trigger.turn_token;
  await call(server.url, "PUT", `/channels/${s.general}/status`, turn, { text: "reading the channel…" });
  await s.alice.locator(".agent-status", { hasText: "reading the channel…" }).waitFor();

  const opened = await call(server.url, "POST", `/channels/${s.general}/messages`, turn, { text: "", stream: true });
  const answer = s.alice.locator(`article.message[data-id="${opened.id}"]`);
  const parts = ["Three ", "things ", "shipped ", "today."];
  let sofar = "";
  for (const part of parts.slice(0, 2)) {
    await call(server.url, "POST", `/messages/${opened.id}/deltas`, turn, { text: part });
    sofar += part;
    await answer.locator(".body", { hasText: sofar.trim() }).waitFor();
  }
  // Mid-stream: partial text, still marked as being written.
  assert.match(await answer.getAttribute("class"), /streaming/);
  assert.doesNotMatch(await answer.innerText(), /today/);
  await shot(s.alice, "04-agent-streaming");
  for (const part of parts.slice(2)) {
    await call(server.url, "POST", `/messages/${opened.id}/deltas`, turn, { text: part });
  }
  await call(server.url, "POST", `/messages/${opened.id}/finish`, turn, {});
  await answer.locator(".body", { hasText: "Three things shipped today." }).waitFor();
  await s.alice.waitForFunction((id) => !document.querySelector(`article[data-id="${id}"]`)?.classList.contains("streaming"), opened.id);
  assert.equal(await answer.locator(".agent-tag").count(), 1, "the agent is marked as one");
  await message(s.bob, "Three things shipped today.").waitFor();

  // The members panel lists the agent as one.
  await s.alice.getByRole("button", { name: "Members" }).click();
  const panel = s.alice.getByRole("complementary", { name: "Members" });
  await panel.locator("li", { hasText: "scout" }).locator(".agent-tag").waitFor();
  await shot(s.alice, "04b-members");
  await s.alice.keyboard.press("Escape");
  await panel.waitFor({ state: "detached" });
});

test("reactions, edit and delete of your own message reach the other person", async () => {
  const id = await message(s.bob, "second line").getAttribute("data-id");
  const mine = s.bob.locator(`article.message[data-id="${id}"]`);
  await mine.hover();
  await mine.getByRole("button", { name: "Edit" }).click();
  await mine.getByLabel("Edit message").fill("second line, edited");
  await mine.getByRole("button", { name: "Save" }).click();
  const onAlice = message(s.alice, "second line, edited");
  await onAlice.locator(".edited").waitFor();

  await onAlice.hover();
  await onAlice.getByRole("button", { name: "React 👍" }).click();
  await message(s.bob, "second line, edited").getByRole("button", { name: "👍 1" }).waitFor();

  // Alice can't edit or delete bob's message.
  assert.equal(await onAlice.getByRole("button", { name: "Delete" }).count(), 0);
  await mine.hover();
  await mine.getByRole("button", { name: "Delete" }).click();
  await message(s.alice, "second line, edited").waitFor({ state: "detached" });
});

test("a private channel never shows to a non-member", async () => {
  await s.alice.getByRole("button", { name: "New channel in Eng" }).click();
  await s.alice.getByRole("dialog").getByLabel("Name", { exact: true }).fill("secret");
  await s.alice.getByRole("dialog").getByLabel("Private").check();
  await s.alice.getByRole("button", { name: "Create" }).click();
  await s.alice.getByRole("heading", { name: "#secret" }).waitFor();
  await s.alice.getByLabel("Message #secret").fill("for my eyes only");
  await s.alice.getByLabel("Message #secret").press("Enter");
  await message(s.alice, "for my eyes only").waitFor();

  // Bob's live sidebar and a fresh load both leave it out.
  await s.bob.waitForTimeout(300);
  assert.equal(await sidebarChannel(s.bob, "secret").count(), 0);
  await s.bob.reload();
  await s.bob.getByRole("heading", { name: "#general" }).waitFor();
  assert.equal(await sidebarChannel(s.bob, "secret").count(), 0);
  assert.equal(await sidebarChannel(s.bob, "general").count(), 1);
  assert.equal(await s.bob.getByText("for my eyes only").count(), 0);
  await shot(s.bob, "05-non-member-sidebar");
});

test("unread counts and mention badges in the sidebar", async () => {
  // Bob looks at general; alice mentions him in another channel he can see.
  const tree = await call(server.url, "GET", `/orgs/${s.org}/tree`, s.aliceToken);
  const space = tree.spaces[0].id;
  const random = await call(server.url, "POST", `/spaces/${space}/channels`, s.aliceToken, { name: "random" });
  const bobId = (await call(server.url, "GET", "/me", s.bobToken)).principal.id;
  await call(server.url, "POST", `/channels/${random.id}/members`, s.aliceToken, { principal_id: bobId });
  await sidebarChannel(s.bob, "random").waitFor();
  await call(server.url, "POST", `/channels/${random.id}/messages`, s.aliceToken, { text: "hey @bob, look" });
  await call(server.url, "POST", `/channels/${random.id}/messages`, s.aliceToken, { text: "and this" });
  const entry = sidebarChannel(s.bob, "random");
  await entry.getByLabel("unread").waitFor();
  await entry.getByLabel("mentions").filter({ hasText: "@1" }).waitFor();
  await entry.click();
  await s.bob.getByRole("heading", { name: "#random" }).waitFor();
  await entry.getByLabel("unread").waitFor({ state: "detached" });
});

test("history pages back on scroll instead of loading everything", async () => {
  const tree = await call(server.url, "GET", `/orgs/${s.org}/tree`, s.aliceToken);
  const history = await call(server.url, "POST", `/spaces/${tree.spaces[0].id}/channels`, s.aliceToken, { name: "history" });
  for (let i = 0; i < 120; i++) {
    await call(server.url, "POST", `/channels/${history.id}/messages`, s.aliceToken, { text: `old message ${i}.` });
  }
  await sidebarChannel(s.alice, "history").click();
  await message(s.alice, "old message 119.").waitFor();
  // Live events may show the newest before the first page lands.
  await s.alice.locator(".channel-view .older").waitFor();
  const loaded = () => s.alice.locator(".channel-view article.message").count();
  assert.equal(await loaded(), 50, "one page at first");
  assert.equal(await message(s.alice, "old message 0.").count(), 0);
  for (let i = 0; i < 10 && (await message(s.alice, "old message 0.").count()) === 0; i++) {
    await s.alice.locator(".channel-view .messages").evaluate((el) => (el.scrollTop = 0));
    await s.alice.waitForTimeout(200);
  }
  await message(s.alice, "old message 0.").waitFor();
  assert.equal(await loaded(), 120);
  await s.alice.getByText("This is the start of #history.").waitFor();

  // Having looked at the channel, nothing in it is unread after a reload.
  let unread;
  for (let i = 0; i < 30 && unread !== 0; i++) {
    const t = await call(server.url, "GET", `/orgs/${s.org}/tree`, s.aliceToken);
    unread = t.spaces[0].channels.find((c) => c.id === history.id).unread;
    if (unread !== 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(unread, 0);
});

test("a file attached in the composer reaches the other person", async () => {
  await sidebarChannel(s.alice, "general").click();
  await sidebarChannel(s.bob, "general").click();
  await s.alice.locator(".composer input[type=file]").first().setInputFiles({
    name: "notes.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("meeting notes"),
  });
  await s.alice.locator(".pending-files", { hasText: "notes.txt" }).waitFor();
  await s.alice.getByLabel("Message #general").fill("see the notes");
  await s.alice.getByLabel("Message #general").press("Enter");
  await message(s.bob, "see the notes").locator(".attachments", { hasText: "notes.txt" }).waitFor();
});

test("a direct message from the sidebar reaches the other person", async () => {
  await s.alice.getByRole("button", { name: "New direct message" }).click();
  await s.alice.getByRole("dialog").getByLabel(/With/).fill("@bob");
  await s.alice.getByRole("button", { name: "Create" }).click();
  await s.alice.getByRole("heading", { name: "bob" }).waitFor();
  await s.alice.getByLabel("Message bob").fill("just between us");
  await s.alice.getByLabel("Message bob").press("Enter");
  const dm = s.bob.locator(".sidebar .channel", { hasText: "alice" });
  await dm.click();
  await message(s.bob, "just between us").waitFor();
  // Presence: bob sees alice online next to the DM.
  await dm.locator(".dot.online").waitFor();
});

test("admin pages, dark theme and phone width render", async () => {
  await s.alice.getByTitle("Admin").click();
  await s.alice.getByRole("button", { name: "Overrides" }).click();
  await s.alice.getByLabel("Overrides of").selectOption({ label: "Eng / #general" });
  await s.alice.getByLabel("Overrides JSON").fill("not json");
  await s.alice.getByRole("button", { name: "Save overrides" }).click();
  await s.alice.getByRole("status").filter({ hasText: /JSON/ }).waitFor();
  await s.alice.getByLabel("Overrides JSON").fill("[]");
  await s.alice.getByRole("button", { name: "Save overrides" }).click();
  await s.alice.getByRole("status").filter({ hasText: "saved" }).waitFor();
  await s.alice.getByRole("button", { name: "Audit log" }).click();
  await s.alice.locator(".admin td", { hasText: "agent" }).first().waitFor();
  await shot(s.alice, "06-admin-audit");
  await s.alice.getByLabel("Toggle theme").click();
  await s.alice.goBack();
  await s.alice.locator(".channel-view article.message").first().waitFor();
  await shot(s.alice, "07-dark");

  const phone = await openPage(browser, server.url, errors, { width: 390, height: 844 });
  await phone.goto("/");
  await phone.evaluate((t) => localStorage.setItem("octo.token", t), s.bobToken);
  await phone.goto("/");
  await phone.getByRole("heading", { name: /#/ }).waitFor();
  await shot(phone, "08-phone");
  await phone.getByRole("button", { name: "Channels", exact: true }).click();
  await shot(phone, "09-phone-nav");
});

test("no console errors on any page", () => {
  assert.deepEqual(errors, []);
});
