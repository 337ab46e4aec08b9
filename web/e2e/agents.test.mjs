// An LLM agent in the browser, end to end on real parts: `octo agent create`
// makes the agent, `octo agent run` bridges it with the openai connector to a
// small OpenAI-compatible server in this file (real SSE chunks, held back
// mid-answer so the stream is visibly partial), and the person mentions it in
// Chromium. Then the agent's profile, opened from a message, the members
// panel and the sidebar DM, with its tokens for the owner.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ARTIFACTS, call, launch, openPage, signIn, startServer } from "./harness.mjs";

let server;
let browser;
let model;
let bridge;
let dir;
const errors = [];
const s = {};

const shot = (page, name) => page.screenshot({ path: `${ARTIFACTS}${name}.png` });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `POST /v1/chat/completions` with `stream: true`, answered as OpenAI does:
 * `data: {chunk}` lines, then `data: [DONE]`. The first half of the answer
 * goes out at once; the rest waits for `release()`.
 */
async function startModel() {
  const requests = [];
  let release;
  const gate = new Promise((r) => (release = r));
  const http = createServer(async (req, res) => {
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"no such route"}}');
      return;
    }
    let raw = "";
    for await (const c of req) raw += c;
    const body = JSON.parse(raw);
    requests.push({ body, authorization: req.headers.authorization ?? null });
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const chunk = (delta, finish = null) =>
      res.write(
        `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
      );
    chunk({ role: "assistant", content: "" });
    for (const part of ["We ship ", "on Friday, "]) {
      chunk({ content: part });
      await sleep(100);
    }
    await gate;
    for (const part of ["and Postgres ", "is the database."]) {
      chunk({ content: part });
      await sleep(100);
    }
    chunk({}, "stop");
    res.end("data: [DONE]\n\n");
  });
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${http.address().port}/v1`,
    requests,
    release: () => release(),
    async stop() {
      release();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}

before(async () => {
  server = await startServer();
  browser = await launch();
  model = await startModel();
  dir = mkdtempSync(join(tmpdir(), "octo-e2e-agents-"));
  const owner = await call(server.url, "POST", "/setup", null, {
    org_name: "Acme",
    name: "alice",
    email: "alice@acme.test",
    password: "alice-pass-1",
  });
  s.aliceToken = owner.token;
  s.aliceId = owner.principal.id;
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
});

after(async () => {
  if (bridge && bridge.exitCode === null) {
    const exited = new Promise((r) => bridge.once("exit", r));
    bridge.kill("SIGTERM");
    await Promise.race([exited, sleep(12_000)]);
    if (bridge.exitCode === null) bridge.kill("SIGKILL");
  }
  await model?.stop();
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("octo agent create, octo agent run with the openai connector, and a streamed answer in the browser", async () => {
  // The CLI, as the README shows it, acting as alice.
  const out = execFileSync(process.env.OCTO_BIN, ["agent", "create", "sage", "--description", "answers from the channel's notes"], {
    env: { ...process.env, OCTO_URL: server.url, OCTO_TOKEN: s.aliceToken, OCTO_CONFIG_DIR: dir, OCTO_LOG: "warn" },
    encoding: "utf8",
    timeout: 30_000,
  });
  const made = /created agent @sage \(([^)]+)\)/.exec(out);
  const token = /token \(shown once; store it now\): (\S+)/.exec(out);
  assert.ok(made && token, out);
  s.sageId = made[1];
  await call(server.url, "POST", `/channels/${s.general}/members`, s.aliceToken, { principal_id: s.sageId });
  // Something for the context window to carry: the channel's group.md,
  // written on top of whatever revision is there (the scribe may write too).
  const now = await call(server.url, "GET", `/channels/${s.general}/groupmd`, s.aliceToken);
  const put = await fetch(`${server.url}/api/v1/channels/${s.general}/groupmd`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${s.aliceToken}`, "if-match": `"${now.revision}"` },
    body: JSON.stringify({ text: "# group.md\n\n## Decisions\n- Ship the beta on Friday\n" }),
  });
  assert.equal(put.status, 200, await put.text());

  const config = join(dir, "agents.toml");
  writeFileSync(
    config,
    [
      `url = "${server.url}"`,
      "[[agents]]",
      'name = "sage"',
      'token_env = "SAGE_TOKEN"',
      'connector = "openai"',
      `base_url = "${model.url}"`,
      'model = "tiny-local"',
      'system_prompt = "You are sage. Be brief."',
      "max_attempts = 1",
      "",
    ].join("\n"),
  );
  bridge = spawn(process.env.OCTO_BIN, ["agent", "run", "--config", config], {
    env: { ...process.env, SAGE_TOKEN: token[1], OCTO_LOG: "warn" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let bridgeErr = "";
  bridge.stderr.on("data", (d) => (bridgeErr += d));

  const alice = await openPage(browser, server.url, errors);
  s.alice = alice;
  await signIn(alice, s.aliceToken);
  await alice.getByRole("heading", { name: "#general" }).waitFor();
  const box = alice.getByLabel("Message #general");
  await box.fill("@sage when do we ship?");
  await box.press("Enter");
  const asked = alice.locator(".channel-view article.message", { hasText: "when do we ship?" });
  await asked.waitFor();
  // Follow the thread the agent answers in.
  await asked.hover();
  await asked.getByRole("button", { name: "Reply in thread" }).click();
  const thread = alice.getByRole("complementary", { name: "Thread" });
  const reply = thread.locator("article.message[data-author=sage]");
  try {
    await reply.locator(".body", { hasText: "We ship on Friday," }).waitFor({ timeout: 30_000 });
  } catch (e) {
    throw new Error(`${e.message}\nbridge stderr: ${bridgeErr}`);
  }
  // Mid-stream: the first half is on screen, marked as being written; the rest is held back.
  assert.match(await reply.getAttribute("class"), /streaming/);
  assert.doesNotMatch(await reply.innerText(), /database/);
  await shot(alice, "30-llm-streaming");
  model.release();
  await reply.locator(".body", { hasText: "We ship on Friday, and Postgres is the database." }).waitFor();
  await alice.waitForFunction(() => !document.querySelector("[aria-label=Thread] article.message.streaming"));
  assert.equal(await reply.locator(".agent-tag").count(), 1);
  await alice.locator(".channel-view article.message", { hasText: "when do we ship?" }).getByRole("button", { name: "1 reply" }).waitFor();
  await shot(alice, "31-llm-done");

  // What the model was sent: the channel's context for this turn.
  assert.equal(model.requests.length, 1);
  const sent = model.requests[0].body;
  assert.equal(sent.stream, true);
  assert.equal(sent.model, "tiny-local");
  const all = sent.messages.map((m) => `${m.role}: ${m.content}`).join("\n");
  assert.match(all, /system: You are sage/);
  assert.match(all, /Ship the beta on Friday/, "the channel's group.md heads the context");
  assert.match(all, /user: .*when do we ship\?/, "the mention is in it");
});

test("the agent's profile: from its message, with owner, channels and tokens for the owner", async () => {
  await call(server.url, "PATCH", `/agents/${s.sageId}`, s.aliceToken, { display_name: "Sage", skills: ["release notes", "search"] });
  const alice = s.alice;
  await alice.reload();
  await alice.getByRole("heading", { name: "#general" }).waitFor();
  const asked = alice.locator(".channel-view article.message", { hasText: "when do we ship?" });
  await asked.getByRole("button", { name: "1 reply" }).click();
  const thread = alice.getByRole("complementary", { name: "Thread" });
  await thread.locator("article.message[data-author=sage]").getByRole("button", { name: "Profile of @sage" }).click();

  const profile = alice.getByRole("dialog", { name: "Profile of @sage" });
  await profile.getByRole("heading", { name: "Sage" }).waitFor();
  const text = await profile.innerText();
  assert.match(text, /@sage/);
  assert.match(text, /agent/i);
  assert.match(text, /answers from the channel's notes/);
  assert.match(text, /release notes/);
  assert.match(text, /Owner\s+@alice/);
  // The bridge holds a WebSocket: the agent is online.
  await profile.getByTestId("profile-presence").getByText("online").waitFor();
  const channels = profile.getByRole("region", { name: "Channels in common" });
  await channels.getByText("#general").waitFor();
  assert.match(await channels.innerText(), /wakes on mention/);

  // Tokens: the first one, then a new one shown once, then revoked.
  const tokens = profile.getByRole("region", { name: "Tokens" });
  await tokens.locator("tr", { hasText: "agent" }).waitFor();
  await tokens.getByRole("button", { name: "New token" }).click();
  const secret = await tokens.locator(".secret code").innerText();
  assert.match(secret, /^octo_/);
  assert.equal((await call(server.url, "GET", "/me", secret)).principal.name, "sage");
  await shot(alice, "32-agent-profile");
  await tokens.getByRole("button", { name: "Revoke token web" }).click();
  await tokens.locator("tr", { hasText: "web" }).getByText("revoked").waitFor();
  const refused = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(refused.status, 401);
  // The bridge's own token still works: it stays online.
  assert.equal(await tokens.getByRole("button", { name: "Revoke token agent" }).count(), 1);
  await alice.keyboard.press("Escape");
  await profile.waitFor({ state: "detached" });
});

test("the profile opens from the members panel and from a DM with the agent; a member sees no tokens", async () => {
  const alice = s.alice;
  await call(server.url, "POST", `/orgs/${s.org}/dms`, s.aliceToken, { principal_ids: [s.sageId] });
  const dm = alice.locator(".sidebar li.dm-row", { hasText: "sage" });
  await dm.waitFor();
  await dm.getByRole("button", { name: "Profile of @sage" }).click();
  const profile = alice.getByRole("dialog", { name: "Profile of @sage" });
  await profile.getByRole("region", { name: "Channels in common" }).getByText("#general").waitFor();
  await profile.getByRole("button", { name: "Close profile" }).click();
  await profile.waitFor({ state: "detached" });

  const bob = await openPage(browser, server.url, errors);
  await signIn(bob, s.bobToken);
  await bob.getByRole("heading", { name: "#general" }).waitFor();
  await bob.getByRole("button", { name: "Members" }).click();
  const members = bob.getByRole("complementary", { name: "Members" });
  await members.getByRole("button", { name: "Profile of @sage" }).click();
  const bobsView = bob.getByRole("dialog", { name: "Profile of @sage" });
  await bobsView.getByRole("region", { name: "Channels in common" }).getByText("#general").waitFor();
  assert.match(await bobsView.innerText(), /Owner\s+@alice/);
  assert.equal(await bobsView.getByRole("region", { name: "Tokens" }).count(), 0, "only the owner and admins see tokens");
  await shot(bob, "33-agent-profile-member");
});

test("no console errors", () => {
  assert.deepEqual(errors, []);
});
