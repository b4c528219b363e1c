// Opens countersign's API explorer (/docs, Swagger UI) in Debian's Chromium, sets the
// admin token with "Authorize", runs `GET /admin/v1/tenants` with "Try it out" and
// "Execute", and reports what the page shows. Every request the page makes is recorded,
// so the caller can check that none left the server. Usage: node docs.mjs BASE ADMIN_TOKEN
// Prints one JSON line; exits non-zero on failure.
import { chromium } from "playwright-core";

const [base, adminToken] = process.argv.slice(2);
const origin = new URL(base).origin;
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const requests = [];
const problems = [];
let code = 0;
try {
  const context = await browser.newContext();
  // Context-wide, so requests from workers and popups are seen too.
  context.on("request", (r) => requests.push({ url: r.url(), authorization: r.headers()["authorization"] ?? null }));
  const page = await context.newPage();
  // A CSP violation or a script error shows here.
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e}`));

  const response = await page.goto(`${base}/docs`);
  if (response.status() !== 200) throw new Error(`/docs answered ${response.status()}`);
  await page.waitForSelector(".opblock-tag-section", { timeout: 30000 });

  const tags = await page.$$eval(".opblock-tag", (els) => els.map((e) => e.getAttribute("data-tag")));
  const intro = await page.$eval(".info .description", (el) => ({
    text: el.innerText,
    code: el.querySelectorAll("code").length,
    strong: el.querySelectorAll("strong").length,
  }));
  const summaries = await page.$$eval(".opblock-summary-description", (els) => els.map((e) => e.innerText));

  // Authorize: the admin token for the adminToken scheme.
  await page.click("button.authorize");
  const scheme = page.locator(".auth-container", { hasText: "adminToken" });
  await scheme.locator("input").fill(adminToken);
  await scheme.locator("button.authorize").click();
  await scheme.locator("h6", { hasText: "Authorized" }).waitFor();
  await page.click("button.close-modal");

  // GET /admin/v1/tenants: Try it out, Execute.
  const op = page.locator("#operations-admin-list_tenants");
  await op.locator(".opblock-summary").click();
  await op.locator("button.try-out__btn").click();
  await op.locator("button.execute").click();
  const row = op.locator(".live-responses-table .response").first();
  await row.waitFor({ timeout: 30000 });
  const status = (await row.locator(".response-col_status").innerText()).trim();
  const body = (await row.locator(".response-col_description .highlight-code pre").first().innerText()).trim();

  const foreign = requests.map((r) => r.url).filter((u) => !u.startsWith("data:") && new URL(u).origin !== origin);
  const call = requests.find((r) => new URL(r.url).pathname === "/admin/v1/tenants");
  console.log(JSON.stringify({
    tags, intro, summaries, status, body, foreign, problems,
    requests: requests.length,
    authorization: call?.authorization ?? null,
  }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e), problems, requests: requests.map((r) => r.url) }));
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
