// End to end in Chromium against a real `octo serve`: the group.md panel (live
// refresh, the conflict view that keeps your text, history and restore) and
// the composer's mic (a fake microphone records a clip that reaches /transcribe).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
const expected = [
  /status of 409 \(Conflict\) @ http:\/\/127\.0\.0\.1:\d+\/api\/v1\/channels\/[^/]+\/groupmd$/,
  /status of 503 \(Service Unavailable\) @ http:\/\/127\.0\.0\.1:\d+\/api\/v1\/channels\/[^/]+\/transcribe$/,
];

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
    const isTranscribe = (r) => r.url().endsWith(`/channels/${s.general}/transcribe`);
    const sent = page.waitForRequest((r) => isTranscribe(r) && r.method() === "POST");
    const answered = page.waitForResponse(isTranscribe);
    // Both are awaited below; keep a failure before that from going unhandled.
    sent.catch(() => {});
    answered.catch(() => {});
    await page.getByRole("button", { name: "Voice input" }).click();
    await page.getByRole("button", { name: "Stop recording" }).waitFor();
    // Let some audio through the fake device before stopping.
    await page.waitForTimeout(800);
    await page.getByRole("button", { name: "Stop recording" }).click();
    await sent;
    const response = await answered;
    await expectVoiceOutcome(page, response);
    await shot(page, "13-voice");

    // The fallback for browsers without a mic: an uploaded WAV takes the same path.
    await page.getByRole("button", { name: "Dismiss" }).click();
    await page.getByLabel("Message #general").fill("");
    const uploaded = page.waitForResponse(isTranscribe);
    await page.getByLabel("Upload audio file").setInputFiles({ name: "tone.wav", mimeType: "audio/wav", buffer: spokenWav() ?? toneWav() });
    await expectVoiceOutcome(page, await uploaded);
    await shot(page, "14-voice-upload");
  } finally {
    await micBrowser.close();
  }
});

/** Speech from flite (scripts/test.sh installs it) naming a member, so corrections are likely; null without flite. */
function spokenWav() {
  const dir = mkdtempSync(join(tmpdir(), "octo-e2e-voice-"));
  try {
    const out = join(dir, "say.wav");
    execFileSync("flite", ["-t", "please ask at bob about the launch", "-o", out], { timeout: 10_000 });
    return readFileSync(out);
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One second of a 440 Hz tone, 16 kHz 16-bit mono. */
function toneWav() {
  const rate = 16000;
  const n = rate;
  const b = Buffer.alloc(44 + n * 2);
  b.write("RIFF", 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write("WAVEfmt ", 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write("data", 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return b;
}

/** The server decoded the WAV (200 with its length) or said clearly it has no engine; the UI shows which. */
async function expectVoiceOutcome(page, response) {
  if (response.status() === 200) {
    const t = await response.json();
    assert.ok(t.audio_seconds > 0.2, `the server decoded a clip with audio (${t.audio_seconds} s)`);
    await page.getByLabel("Transcript").waitFor();
    assert.equal(await page.getByTestId("voice-raw").innerText(), t.raw || "(nothing)");
    assert.equal(await page.getByLabel("Message #general").inputValue(), t.text);
    // Undoing a correction puts what was heard back at its span (offsets count code points).
    const last = t.corrections.at(-1);
    if (last) {
      await page.locator(".voice-result .chip").last().click();
      const chars = Array.from(t.text);
      const expect = [...chars.slice(0, last.start), last.before, ...chars.slice(last.end)].join("");
      assert.equal(await page.getByLabel("Message #general").inputValue(), expect);
    }
  } else {
    assert.equal(response.status(), 503);
    await page.getByRole("alert").filter({ hasText: "Voice input failed" }).waitFor();
  }
}

test("no console errors besides the answers the UI handles", () => {
  assert.deepEqual(
    errors.filter((e) => !expected.some((re) => re.test(e))),
    [],
  );
});
