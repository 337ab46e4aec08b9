// Time to first render in Chromium: a fresh browser context (cold cache)
// opens a channel with 50 messages; reports first contentful paint, the
// first frame with the channel list (sidebar) in it, and the time until the
// messages are on screen, all from navigation start, median of RUNS.
// `npm run measure`.

import { call, launch, openPage, startServer } from "./harness.mjs";

const RUNS = Number(process.env.RUNS ?? 7);
const server = await startServer();
const browser = await launch();
try {
  const setup = await call(server.url, "POST", "/setup", null, {
    org_name: "Bench",
    name: "olivia",
    email: "olivia@bench.test",
    password: "bench-pass-1",
  });
  const token = setup.token;
  const space = await call(server.url, "POST", `/orgs/${setup.org.id}/spaces`, token, { name: "Eng", visibility: "open" });
  const channel = await call(server.url, "POST", `/spaces/${space.id}/channels`, token, { name: "general" });
  for (let i = 0; i < 50; i++) {
    await call(server.url, "POST", `/channels/${channel.id}/messages`, token, { text: `message **${i}** with a [link](https://example.invalid)` });
  }
  const fcp = [];
  const sidebar = [];
  const ready = [];
  for (let i = 0; i < RUNS; i++) {
    const errors = [];
    const page = await openPage(browser, server.url, errors);
    await page.context().addInitScript((t) => localStorage.setItem("octo.token", t), token);
    // Stamps the first animation frame in which a channel is in the sidebar:
    // the frame that paints it.
    await page.context().addInitScript(() => {
      const look = () => {
        if (document.querySelector(".sidebar [data-channel]")) window.__sidebarPainted = performance.now();
        else requestAnimationFrame(look);
      };
      requestAnimationFrame(look);
    });
    await page.goto(`/c/${channel.id}`);
    await page.locator("article.message", { hasText: "message 49" }).waitFor();
    const t = await page.evaluate(() => ({
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
      sidebar: window.__sidebarPainted ?? NaN,
      ready: performance.now(),
    }));
    fcp.push(t.fcp);
    sidebar.push(t.sidebar);
    ready.push(t.ready);
    if (errors.length) throw new Error(errors.join("\n"));
    await page.context().close();
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(0);
  console.log(`runs: ${RUNS}`);
  console.log(`first contentful paint: median ${median(fcp)} ms`);
  console.log(`channel list painted: median ${median(sidebar)} ms`);
  console.log(`50 messages on screen: median ${median(ready)} ms (upper bound: measured after the wait returns)`);
} finally {
  await browser.close();
  await server.stop();
}
