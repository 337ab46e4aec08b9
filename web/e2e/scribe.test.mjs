// As a new user would: a fresh `octo serve`, setup through the first-run
// page, a space and a channel from the sidebar, a conversation in plain
// words, `/groupmd`, the built-in scribe's note and the group.md panel, then
// `@scribe what was decided?` answered in its thread. No API key, no network.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ARTIFACTS, launch, openPage, startServer } from "./harness.mjs";

let server;
let browser;
let page;
const errors = [];

const shot = (name) => page.screenshot({ path: `${ARTIFACTS}${name}.png` });
const message = (text) => page.locator(".channel-view article.message", { hasText: text });
const say = async (text) => {
  const box = page.getByLabel("Message #launch");
  await box.fill(text);
  await box.press("Enter");
  await message(text).first().waitFor();
};

before(async () => {
  server = await startServer();
  browser = await launch();
  page = await openPage(browser, server.url, errors);
  // The scribe works on its own schedule; its answers can take a few seconds.
  page.setDefaultTimeout(30_000);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("set up through the page, then a space and a channel from the sidebar", async () => {
  await page.goto("/");
  await page.getByLabel("Organisation").fill("Garden Club");
  await page.getByLabel("Your handle").fill("nora");
  await page.getByLabel("Email").fill("nora@garden.test");
  await page.getByLabel("Password").fill("nora-pass-12");
  await page.getByRole("button", { name: "Create organisation" }).click();
  await page.getByRole("button", { name: "+ New space" }).click();
  await page.getByRole("dialog").getByLabel("Name").fill("Projects");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByRole("button", { name: "New channel in Projects" }).click();
  await page.getByRole("dialog").getByLabel("Name", { exact: true }).fill("launch");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByRole("heading", { name: "#launch" }).waitFor();
  // The built-in scribe is a member of the new channel, marked as an agent.
  await page.getByRole("button", { name: "Members" }).click();
  const members = page.getByRole("complementary", { name: "Members" });
  await members.locator("li", { hasText: "scribe" }).locator(".agent-tag").waitFor();
  await page.getByRole("button", { name: "Close members" }).click();
  await shot("20-scribe-new-channel");
});

test("a decision, an action item and a question, then /groupmd: the scribe notes it and group.md shows them", async () => {
  await say("Let's go with Postgres for the launch database.");
  await say("I'll write the migration plan by Friday.");
  await say("Open question: who pays for the staging server?");
  await say("/groupmd");

  const note = page.locator(".channel-view article.message[data-author=scribe]", { hasText: "group.md updated" }).first();
  await note.waitFor();
  assert.match(await note.innerText(), /decision/);
  assert.equal(await note.locator(".agent-tag").count(), 1, "the scribe is marked as an agent");
  await shot("21-scribe-note");

  await page.getByRole("button", { name: "group.md", exact: true }).click();
  const doc = page.getByRole("complementary", { name: "group.md", exact: true }).getByTestId("groupmd-doc");
  await doc.getByText(/Postgres/).waitFor();
  const text = await doc.innerText();
  assert.match(text, /Decisions[\s\S]*Postgres/);
  assert.match(text, /Action items[\s\S]*migration plan/);
  assert.match(text, /Open questions[\s\S]*staging server/);
  await shot("22-scribe-groupmd");
  await page.getByRole("button", { name: "Close group.md" }).click();
});

test("@scribe what was decided? is answered in its thread from group.md", async () => {
  const box = page.getByLabel("Message #launch");
  await box.fill("@scribe what was decided?");
  await box.press("Enter");
  const question = message("what was decided?");
  await question.getByRole("button", { name: "1 reply" }).waitFor();
  await question.getByRole("button", { name: "1 reply" }).click();
  const thread = page.getByRole("complementary", { name: "Thread" });
  const answer = thread.locator("article.message[data-author=scribe]", { hasText: "Decided" });
  await answer.waitFor();
  const said = await answer.innerText();
  assert.match(said, /Decided/);
  assert.match(said, /Postgres/);
  assert.match(said, /@nora: .*migration plan/);
  assert.match(said, /staging server/);
  await shot("23-scribe-answer");
});

test("no console errors", () => {
  assert.deepEqual(errors, []);
});
