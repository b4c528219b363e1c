// Drives countersign's admin console (/console) in Debian's Chromium: an administrator
// signs in with the password, registers a passkey of a CDP virtual authenticator, signs
// out, signs in again with password + passkey, creates a tenant, a user, changes a
// setting (first a wrong value, shown beside its field), and looks at the outbox; then
// changes an authentication type, the risk rules (and tries an input), the FIDO relying
// party, the callbacks and the SMS provider (a test sent).
// axe-core checks every page (a11y.mjs). Usage:
//   node console.mjs URL USERNAME PASSWORD [SCREENSHOT_DIR]
// URL is the console's address on `localhost` (the relying party ID of its passkeys).
// Prints one JSON line; exits non-zero (with what went wrong) on failure.
import { chromium } from "playwright-core";
import { checkAccessible } from "./a11y.mjs";

const [url, username, password, shots] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
const out = { problems: [], a11y: [] };
let code = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  // The wrong setting's page is a 422 on purpose: Chromium logs it as a failed load.
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 422/.test(m.text())) out.problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => out.problems.push(`pageerror: ${e}`));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  const check = (what) => checkAccessible(page, what, out.a11y);
  const shot = async (name) => { if (shots) await page.screenshot({ path: `${shots}/console-${name}.png`, fullPage: true }); };

  const signInWithPassword = async () => {
    await page.goto(`${url}/console`);
    await page.fill("#username", username);
    await page.fill("#password", password);
    await Promise.all([page.waitForURL("**/console/passkey"), page.click("button[type=submit]")]);
  };

  // 1. The first sign-in: password, then the first passkey is made.
  await page.goto(`${url}/console`);
  await check("sign-in");
  await shot("sign-in");
  await signInWithPassword();
  out.firstStep = (await page.textContent("h1")).trim();
  await check("passkey registration");
  await Promise.all([page.waitForURL("**/console/tenants"), page.click("#passkey")]);
  await check("tenants (empty)");

  // 2. Sign out, and in again: password + the passkey just made.
  await Promise.all([page.waitForURL(/\/console$/), page.click("nav button")]);
  out.signedOut = (await page.textContent("h1")).trim();
  await signInWithPassword();
  out.secondStep = (await page.textContent("h1")).trim();
  await check("passkey");
  await shot("passkey");
  await Promise.all([page.waitForURL("**/console/tenants"), page.click("#passkey")]);

  // 3. A tenant.
  await page.fill("#domain", "shop.example");
  await Promise.all([page.waitForURL("**/console/tenants/shop.example"), page.click("text=Create the tenant")]);
  await check("tenant settings");

  // 4. A setting: a wrong value is shown beside its field, then a right one is saved.
  await page.fill("#s-loginTimeoutSeconds", "99999");
  await Promise.all([page.waitForLoadState("load"), page.click("text=Save the settings")]);
  await page.waitForSelector("#e-loginTimeoutSeconds");
  out.settingError = (await page.textContent("#e-loginTimeoutSeconds")).trim();
  out.describedBy = await page.getAttribute("#s-loginTimeoutSeconds", "aria-describedby");
  await check("tenant settings with an error");
  await page.fill("#s-loginTimeoutSeconds", "90");
  await page.selectOption("#s-numberMatching", "required");
  await Promise.all([page.waitForLoadState("load"), page.click("text=Save the settings")]);
  await page.waitForSelector("text=The settings are saved.");
  out.saved = await page.inputValue("#s-loginTimeoutSeconds");
  await shot("settings");

  // 5. A user.
  await page.click("text=Users");
  await page.waitForURL("**/console/tenants/shop.example/users");
  await page.fill("#new-user", "alice");
  await page.fill("#new-email", "alice@shop.example");
  await Promise.all([page.waitForURL("**/users/alice"), page.click("text=Create the user")]);
  await page.fill("#phone", "+15550100");
  await Promise.all([page.waitForLoadState("load"), page.click("text=Save phone and e-mail")]);
  await page.waitForSelector("text=Phone and e-mail saved.");
  await check("user");
  await page.goto(`${url}/console/tenants/shop.example/users?prefix=al`);
  out.users = await page.$$eval("tbody tr", (rows) => rows.map((r) => r.textContent.replace(/\s+/g, " ").trim()));
  await check("users");
  await shot("users");

  // 6. An API key (shown once), the outbox, and the page at phone width.
  await page.goto(`${url}/console/tenants/shop.example/api-keys`);
  await page.fill("#key-name", "shop");
  await Promise.all([page.waitForLoadState("load"), page.click("text=Create the key")]);
  out.keyShown = (await page.textContent("#new-key")).startsWith("csk_");
  await check("API keys");
  await page.goto(`${url}/console/outbox`);
  await check("outbox");

  // 7. The tenant's methods and risk: one change on each page.
  const t = `${url}/console/tenants/shop.example`;
  const save = async (button, done) => {
    await Promise.all([page.waitForLoadState("load"), page.click(`text=${button}`)]);
    await page.waitForSelector(`text=${done}`);
  };
  await page.goto(`${t}/auth-types`);
  await check("authentication types");
  await shot("auth-types");
  await page.fill("#f-name", "sms-short");
  await page.fill("#f-ttlSeconds", "120");
  await save("Save the authentication type", "The authentication type is saved.");
  await check("authentication type saved");
  await page.goto(`${t}/risk`);
  await page.fill("#f-ipDeny", "203.0.113.0/24");
  await save("Save the risk settings", "The risk settings are saved.");
  await check("risk rules saved");
  await page.fill("#f-ipAddress", "203.0.113.9");
  await Promise.all([page.waitForURL("**/risk/try?**"), page.click("text=Try it")]);
  out.firedRule = (await page.textContent("#fired-rule")).trim();
  await check("risk rules tried");
  await shot("risk");
  await page.goto(`${t}/fido`);
  await page.fill("#f-rpName", "The Shop");
  await save("Save the relying party", "The relying party is saved.");
  await check("FIDO relying party");
  await page.goto(`${t}/callbacks`);
  await page.fill('[id="f-url.0"]', "https://shop.example/callback");
  await save("Save the allowlist", "The allowlist is saved.");
  await Promise.all([page.waitForLoadState("load"), page.click("text=Make a new signing secret")]);
  out.secretShown = (await page.textContent("#new-secret")).startsWith("cbs_");
  await check("callbacks");
  await page.goto(`${t}/providers`);
  await page.fill("#f-providers", JSON.stringify({ sms: { provider: "twilio", accountSid: "AC123", authToken: "tw-secret", from: "+15550001111", baseUrl: "http://127.0.0.1:9" } }));
  await save("Save the providers", "The providers are saved.");
  await page.fill("#f-to", "+15550100");
  await Promise.all([page.waitForLoadState("load"), page.click("button:has-text('Send a test')")]);
  out.testQueued = (await page.textContent("#queued")).trim().length > 0;
  await check("providers");
  await page.setViewportSize({ width: 360, height: 800 });
  await page.goto(`${url}/console/tenants/shop.example`);
  out.overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  await check("settings at 360 px");
  if (out.problems.length) throw new Error(out.problems.join("; "));
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
  code = 1;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(code);
