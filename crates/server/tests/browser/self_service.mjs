// The self-service site in Debian's Chromium (docs/web.md): a user opens a sign-in link,
// starts activating the authenticator, the QR code on the page is photographed (an
// element screenshot) and handed to the reference authenticator's CLI, and the page
// turns to "activated" by itself (server-sent events). Every page passes axe-core; with
// a screenshot directory, each main page is saved there.
// Usage: node self_service.mjs LINK_URL AUTHENTICATOR_BIN WORK_DIR [SCREENSHOT_DIR]
// Prints one JSON line; exits non-zero on failure.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { checkAccessible } from "./a11y.mjs";

const [link, cli, work, shots] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
const problems = [];
const a11y = [];
let code = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  // A platform authenticator with a screen lock, for the passkey steps.
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e}`));
  const shot = async (name) => { if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true }); };

  await page.goto(link);
  await checkAccessible(page, "sign-in link", a11y);
  await shot("self-service-sign-in");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(/\/home$/);
  await checkAccessible(page, "home", a11y);

  await page.getByRole("button", { name: "Activate a new authenticator" }).click();
  await page.waitForURL(/\/activations\//);
  await page.waitForSelector("#activation-status[data-state='waiting']");
  await checkAccessible(page, "activation", a11y);
  await shot("self-service-activation");
  const shown = (await page.textContent("#activation-text")).trim();
  const qr = join(work, "qr.png");
  await page.locator("#activation-qr").screenshot({ path: qr });

  // The phone: the CLI scans the picture and activates (code, keys, PIN, confirmation).
  const run = spawnSync(cli, ["activate", "--qr-image", qr, "--pin", "1234"], {
    cwd: work, env: { ...process.env, COUNTERSIGN_AUTHENTICATOR_PASSPHRASE: "browser-test" }, encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`activate failed: ${run.stderr}`);

  // The page follows by itself: no reload, no click.
  await page.waitForSelector("#activation-status[data-state='activated']", { timeout: 15000 });
  const status = (await page.textContent("#activation-status")).trim();
  const qrHidden = await page.locator("#activation-code").isHidden();
  await checkAccessible(page, "activated", a11y);
  await shot("self-service-activated");

  await page.getByRole("link", { name: "Back to your authenticators" }).click();
  await page.waitForURL(/\/home$/);
  const rows = await page.locator("section[aria-labelledby='devices-h'] tbody tr").allTextContents();
  await checkAccessible(page, "home with a device", a11y);

  // An authenticator app for one-time codes: the key read from the page, the code made
  // by oathtool, typed into the form.
  await page.getByRole("button", { name: "Add an authenticator app" }).click();
  await page.waitForURL(/\/tokens\//);
  await checkAccessible(page, "authenticator app", a11y);
  await shot("self-service-totp");
  const secret = (await page.textContent("#token-secret")).trim();
  const otp = spawnSync("oathtool", ["--totp", "-b", secret], { encoding: "utf8" });
  if (otp.status !== 0) throw new Error(`oathtool: ${otp.stderr}`);
  await page.getByLabel("Code from the app").fill(otp.stdout.trim());
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.waitForURL(/\/home$/);
  const tokenRows = await page.locator("section[aria-labelledby='tokens-h'] tbody tr").allTextContents();

  // Phone width: nothing wider than the screen.
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  await checkAccessible(page, "home at 360 px", a11y);

  await page.setViewportSize({ width: 1000, height: 760 });
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/self-service\/[^/]+$/);
  const signedOut = (await page.textContent("h1")).trim();
  await checkAccessible(page, "sign-in", a11y);

  // Back in with the password and a push the phone (the CLI) approves: the page follows
  // the push and goes on by itself.
  await page.getByLabel("User ID").fill("alice");
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForSelector("#sign-in-status[data-state='Pending']");
  await checkAccessible(page, "approve on the phone", a11y);
  await shot("self-service-push");
  const number = await page.locator("#sign-in-number").textContent().catch(() => null);
  const cliEnv = { cwd: work, env: { ...process.env, COUNTERSIGN_AUTHENTICATOR_PASSPHRASE: "browser-test" }, encoding: "utf8" };
  const listed = spawnSync(cli, ["pending"], cliEnv);
  const request = JSON.parse(listed.stdout)[0];
  const args = ["respond", request.requestID, "--approve"];
  if (number) args.push("--number", number.trim());
  const answered = spawnSync(cli, args, cliEnv);
  if (answered.status !== 0) throw new Error(`respond failed: ${answered.stderr}`);
  await page.waitForURL(/\/home$/, { timeout: 15000 });
  const backIn = (await page.textContent("h1")).trim();

  // A passkey: added on the home page, then used to sign in with the user ID alone.
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await page.waitForSelector("section[aria-labelledby='passkeys-h'] tbody tr");
  await checkAccessible(page, "home with a passkey", a11y);
  await page.locator("section[aria-labelledby='passkeys-h'] input[name='name']").fill("Laptop passkey");
  await page.locator("section[aria-labelledby='passkeys-h']").getByRole("button", { name: "Rename" }).click();
  await page.waitForSelector("section[aria-labelledby='passkeys-h'] input[value='Laptop passkey']");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/self-service\/[^/]+$/);
  await page.getByLabel("User ID").fill("alice");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await page.waitForURL(/\/home$/, { timeout: 15000 });
  const passkeyRows = await page.locator("section[aria-labelledby='passkeys-h'] tbody tr").allTextContents();
  const passkeyName = await page.locator("section[aria-labelledby='passkeys-h'] input[name='name']").inputValue();
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  await shot("self-service-home");

  // "Not me" on the newest sign-in: under the default policy the account is locked and
  // this browser signed out.
  await page.locator("section[aria-labelledby='sign-ins-h'] tbody tr").first().getByRole("button", { name: /Not me/ }).click();
  await page.waitForSelector("h1:text('Sign-in reported')");
  const reported = (await page.textContent("main p[role='status']")).trim();
  await checkAccessible(page, "sign-in reported", a11y);
  if (problems.length) throw new Error(problems.join("; "));
  const tidy = (rs) => rs.map((r) => r.replace(/\s+/g, " ").trim());
  console.log(JSON.stringify({ shown, status, qrHidden, rows: tidy(rows), tokens: tidy(tokenRows), overflow, signedOut, pushed: request.message, backIn, passkeys: tidy(passkeyRows), passkeyName, credentials: credentials.length, reported, a11y }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e), problems, a11y }));
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
