// End to end in Chromium against a real `octo serve`: the group.md panel (live
// refresh, the conflict view that keeps your text, history and restore) and
// the composer's mic (a fake microphone records a clip that reaches /transcribe).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { ARTIFACTS, call, launch, openPage, signIn, startServer } from "./harness.mjs";

let server;
let browser;
const errors = [];
const s = {};

const shot = (page, name) => page.screenshot({ path: `${ARTIFACTS}${name}.png` });
const panel = (page) => page.getByRole("complementary", { name: "group.md" });
/** Waits until the panel's header shows revision `n` as the current one. */
const atRevision = (page, n) => panel(page).locator("header").getByText(`revision ${n}`, { exact: true }).waitFor();
// Chromium logs every non-2xx fetch as a console error; these are the answers
// the UI is built to handle, and nothing else is forgiven.
const expected = [/status of 409 \(Conflict\).*\/groupmd @/, /status of 503 .*\/transcribe @/];

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
  const me = await call(server.url, "GET", "/me", s.aliceToken);
  s.org = me.org.id;
  const space = await call(server.url, "POST", `/orgs/${s.org}/spaces`, s.aliceToken, { name: "Eng", visibility: "open" });
  const channel = await call(server.url, "POST", `/spaces/${space.id}/channels`, s.aliceToken, { name: "general" });
  s.general = channel.id;
  const bob = await call(server.url, "POST", `/orgs/${s.org}/members`, s.aliceToken, {
    name: "bob",
    email: "bob@acme.test",
    password: "bob-pass-12",
  });
  const login = await call(server.url, "POST", "/auth/login", null, { email: "bob@acme.test", password: "bob-pass-12" });
  s.bobToken = login.token;
  await call(server.url, "POST", `/channels/${s.general}/members`, s.aliceToken, { principal_id: bob.id });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openGeneral(token) {
  const page = await openPage(browser, server.url, errors);
  await signIn(page, token);
  await page.getByRole("heading", { name: "#general" }).waitFor();
  await page.getByRole("button", { name: "group.md" }).click();
  await panel(page).getByTestId("groupmd-doc").waitFor();
  return page;
}

test("A saves group.md and B's open panel shows it live", async () => {
  s.alice = await openGeneral(s.aliceToken);
  s.bob = await openGeneral(s.bobToken);
  // Bob starts editing now, from the revision both see.
  await panel(s.bob).getByRole("button", { name: "Edit" }).click();
  await panel(s.bob).getByLabel("group.md text").fill("# Bob's plan\n\n- bob was here");

  // Bob's second page (not editing) follows Alice's save live.
  s.bobReader = await openGeneral(s.bobToken);
  await panel(s.alice).getByRole("button", { name: "Edit" }).click();
  await panel(s.alice).getByLabel("group.md text").fill("# Launch\n\n- ship **Friday**\n- <b>no html</b>");
  await panel(s.alice).getByRole("button", { name: "Save" }).click();
  await atRevision(s.alice, 1);
  const doc = panel(s.bobReader).getByTestId("groupmd-doc");
  await doc.locator("strong", { hasText: "Friday" }).waitFor();
  assert.equal(await doc.locator("b").count(), 0, "raw HTML stays text");
  assert.match(await doc.innerText(), /<b>no html<\/b>/);
  await shot(s.bobReader, "10-groupmd-panel");
});

test("B saves from a stale base and gets the conflict view with their text kept", async () => {
  const p = panel(s.bob);
  await p.getByRole("button", { name: "Save" }).click();
  const conflict = p.getByRole("alert", { name: "Edit conflict" });
  await conflict.waitFor();
  assert.match(await conflict.getByTestId("theirs").innerText(), /ship \*\*Friday\*\*/);
  assert.match(await conflict.getByTestId("yours").innerText(), /bob was here/);
  assert.equal(await p.getByLabel("group.md text").inputValue(), "# Bob's plan\n\n- bob was here");
  await shot(s.bob, "11-groupmd-conflict");

  // Bob merges by hand and saves on top of Alice's revision.
  await p.getByRole("button", { name: /I merged it/ }).click();
  await p.getByLabel("group.md text").fill("# Launch\n\n- ship **Friday**\n- bob was here");
  await p.getByRole("button", { name: "Save" }).click();
  await atRevision(s.bob, 2);
  const now = await call(server.url, "GET", `/channels/${s.general}/groupmd`, s.aliceToken);
  assert.equal(now.revision, 2);
  assert.match(now.text, /bob was here/);
  assert.match(now.text, /Friday/);
});

test("history lists revisions with authors, shows a diff, and restore makes a new revision", async () => {
  const p = panel(s.alice);
  await atRevision(s.alice, 2); // live, Alice was not editing
  await p.getByRole("button", { name: "History" }).click();
  const history = p.getByRole("region", { name: "Revisions" });
  await history.getByRole("button", { name: "Revision 2" }).waitFor();
  assert.match(await history.innerText(), /Revision 2\s+bob/);
  assert.match(await history.innerText(), /Revision 1\s+alice/);
  await history.getByRole("button", { name: "Revision 2" }).click();
  const diff = p.getByTestId("diff");
  await diff.waitFor();
  assert.match(await diff.locator(".add").allInnerTexts().then((t) => t.join("\n")), /bob was here/);
  await history.getByRole("button", { name: "Revision 1" }).click();
  await p.getByRole("button", { name: "Restore revision 1" }).click();
  await atRevision(s.alice, 3);
  await shot(s.alice, "12-groupmd-history");
  const now = await call(server.url, "GET", `/channels/${s.general}/groupmd`, s.aliceToken);
  assert.equal(now.revision, 3);
  assert.doesNotMatch(now.text, /bob was here/);
  // Bob's reader page follows the restore too.
  await atRevision(s.bobReader, 3);
});

test("the mic records a clip from a fake microphone and the transcript or a clear error shows", async () => {
  // Only this browser gets a fake microphone (a beep) and auto-granted permission.
  const micBrowser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
    ],
  });
  try {
    const page = await openPage(micBrowser, server.url, errors);
    await signIn(page, s.aliceToken);
    await page.getByRole("heading", { name: "#general" }).waitFor();
    const sent = page.waitForRequest((r) => r.url().endsWith(`/channels/${s.general}/transcribe`) && r.method() === "POST");
    const answered = page.waitForResponse((r) => r.url().endsWith(`/channels/${s.general}/transcribe`));
    await page.getByRole("button", { name: "Voice input" }).click();
    await page.getByRole("button", { name: "Stop recording" }).waitFor();
    // Let some audio through the fake device before stopping.
    await page.waitForTimeout(800);
    await page.getByRole("button", { name: "Stop recording" }).click();
    const request = await sent;
    const body = request.postDataBuffer();
    assert.ok(body && body.length > 44, "a WAV with samples was posted");
    assert.equal(body.subarray(0, 4).toString(), "RIFF");
    assert.equal(body.subarray(8, 12).toString(), "WAVE");
    assert.equal(body.readUInt16LE(22), 1, "mono");
    assert.equal(body.readUInt16LE(34), 16, "16-bit");
    const response = await answered;
    if (response.status() === 200) {
      const t = await response.json();
      const shown = page.getByLabel("Transcript");
      await shown.waitFor();
      assert.equal(await page.getByTestId("voice-raw").innerText(), t.raw || "(nothing)");
      assert.equal(await page.getByLabel("Message #general").inputValue(), t.text);
    } else {
      assert.equal(response.status(), 503);
      const alert = page.getByRole("alert").filter({ hasText: "Voice input failed" });
      await alert.waitFor();
    }
    await shot(page, "13-voice");
  } finally {
    await micBrowser.close();
  }
});

test("no console errors besides the answers the UI handles", () => {
  assert.deepEqual(
    errors.filter((e) => !expected.some((re) => re.test(e))),
    [],
  );
});
