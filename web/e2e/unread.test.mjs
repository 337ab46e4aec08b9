// Jump to first unread: opening a channel whose unread messages reach above
// the view shows "N new messages — jump"; the button pages back to the first
// unread message and shows it under the "New" divider. A channel whose few
// unread messages fit on screen shows the divider and no banner.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ARTIFACTS, call, launch, openPage, startServer } from "./harness.mjs";

let server;
let browser;
const errors = [];
const s = {};

const shot = (page, name) => page.screenshot({ path: `${ARTIFACTS}${name}.png` });
const message = (page, text) => page.locator(".channel-view article.message", { hasText: text });

/** Whether `text`'s message lies fully inside the visible part of the message list. */
const onScreen = (page, text) =>
  page.evaluate((text) => {
    const list = document.querySelector(".channel-view .messages");
    const m = [...list.querySelectorAll("article.message")].find((a) => a.innerText.includes(text));
    if (!m) return false;
    const l = list.getBoundingClientRect();
    const r = m.getBoundingClientRect();
    return r.top >= l.top && r.bottom <= l.bottom;
  }, text);

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
  const bob = await call(server.url, "POST", `/orgs/${s.org}/members`, s.aliceToken, {
    name: "bob",
    email: "bob@acme.test",
    password: "bob-pass-12",
  });
  s.bobToken = (await call(server.url, "POST", "/auth/login", null, { email: "bob@acme.test", password: "bob-pass-12" })).token;
  const space = await call(server.url, "POST", `/orgs/${s.org}/spaces`, s.aliceToken, { name: "Eng", visibility: "open" });
  for (const name of ["busy", "quiet"]) {
    const ch = await call(server.url, "POST", `/spaces/${space.id}/channels`, s.aliceToken, { name });
    await call(server.url, "POST", `/channels/${ch.id}/members`, s.aliceToken, { principal_id: bob.id });
    s[name] = ch.id;
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a long unread stretch: the banner counts it, and jump shows the first unread under the divider", async () => {
  const seqs = [];
  for (let i = 0; i < 120; i++) {
    const m = await call(server.url, "POST", `/channels/${s.busy}/messages`, s.bobToken, { text: `update ${i}.` });
    seqs.push(m.seq);
  }
  // Alice read up to update 19; everything after it is new to her.
  await call(server.url, "PUT", `/channels/${s.busy}/cursor`, s.aliceToken, { seq: seqs[19] });

  const page = await openPage(browser, server.url, errors);
  // Straight into the channel: landing on "/" first would open (and read) it.
  await page.goto("/");
  await page.evaluate((t) => localStorage.setItem("octo.token", t), s.aliceToken);
  await page.goto(`/c/${s.busy}`);
  await message(page, "update 119.").waitFor();
  // One page (50) is loaded and all of it is unread, with older pages left.
  const banner = page.getByRole("button", { name: /new messages — jump/ });
  await banner.waitFor();
  assert.equal(await banner.innerText(), "50+ new messages — jump");
  assert.equal(await message(page, "update 20.").count(), 0, "the first unread is not loaded yet");
  await shot(page, "40-unread-banner");

  await banner.click();
  await message(page, "update 20.").waitFor();
  await page.waitForFunction(() => {
    const d = document.querySelector(".unread-divider");
    const l = document.querySelector(".channel-view .messages").getBoundingClientRect();
    const r = d?.getBoundingClientRect();
    return r && r.top >= l.top && r.bottom <= l.bottom;
  });
  assert.ok(await onScreen(page, "update 20."), "the first unread message is on screen");
  // The divider sits right between the last read message and the first unread one.
  const around = await page.evaluate(() => {
    const d = document.querySelector(".unread-divider");
    return {
      label: d.innerText,
      after: d.nextElementSibling?.innerText ?? "",
      before: d.parentElement.previousElementSibling?.innerText ?? "",
    };
  });
  assert.equal(around.label, "New");
  assert.match(around.after, /update 20\./);
  assert.match(around.before, /update 19\./);
  await banner.waitFor({ state: "detached" });
  await shot(page, "41-unread-jumped");
  s.page = page;
});

test("a few unread messages that fit on screen: the divider shows and no banner", async () => {
  await call(server.url, "POST", `/channels/${s.quiet}/messages`, s.aliceToken, { text: "my own note." });
  for (const text of ["quiet one.", "quiet two."]) {
    await call(server.url, "POST", `/channels/${s.quiet}/messages`, s.bobToken, { text });
  }
  const page = s.page;
  await page.locator(`.sidebar [data-channel="quiet"]`).click();
  await message(page, "quiet two.").waitFor();
  const divider = page.locator(".unread-divider");
  await divider.waitFor();
  assert.match(await page.evaluate(() => document.querySelector(".unread-divider").nextElementSibling.innerText), /quiet one\./);
  assert.equal(await page.getByRole("button", { name: /new messages — jump/ }).count(), 0);
});

test("no console errors", () => {
  assert.deepEqual(errors, []);
});
