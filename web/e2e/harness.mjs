// Starts a real `octo serve` on 127.0.0.1:0 with a temp data dir, and
// Debian's Chromium through playwright-core (no browser is downloaded).

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const ARTIFACTS = new URL("../test-artifacts/", import.meta.url).pathname;

export async function startServer() {
  const bin = process.env.OCTO_BIN;
  if (!bin) throw new Error("set OCTO_BIN to the octo binary (scripts/test.sh does)");
  const data = mkdtempSync(join(tmpdir(), "octo-e2e-"));
  const child = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data", data], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, OCTO_LOG: "warn" },
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`octo did not start in 30 s: ${stderr}`)), 30_000);
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`octo exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** JSON to the API; throws on a non-2xx answer. */
export async function call(base, method, path, token, body) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const resp = await fetch(`${base}/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
  return json;
}

export async function launch() {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** A page that records console errors and uncaught exceptions into `errors`. */
export async function openPage(browser, base, errors, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, baseURL: base });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`${msg.text()} @ ${msg.location().url}`);
  });
  page.on("pageerror", (err) => errors.push(String(err)));
  return page;
}

/** Signs a page in with a token, as the login form would have stored it. */
export async function signIn(page, token) {
  await page.goto("/");
  await page.evaluate((t) => localStorage.setItem("octo.token", t), token);
  await page.goto("/");
}
