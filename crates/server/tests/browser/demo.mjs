// Drives countersign's demo shop (/demo) in Debian's Chromium: activates the reference
// authenticator from the QR payload on the page, then signs in with a push approved by
// the CLI (asynchronous with number matching, and synchronous), an e-mail code read from
// the SMTP server's Maildir, a TOTP app whose codes come from `oathtool`, a passkey of a
// CDP virtual authenticator, a QR login claimed by the CLI and the static password
// scored by the risk engine, and approves a transfer on the "phone". axe-core checks the
// page before and after. Usage: node demo.mjs URL, with the environment:
//   CS_AUTHENTICATOR  the countersign-authenticator binary
//   CS_STORE          its state file (created by the activation)
//   CS_MAILDIR        the Maildir the SMTP server writes to
//   CS_SCREENSHOT     optional: save a full-page screenshot there at the end
// Prints one JSON line; exits non-zero (with what went wrong) on failure.
import { chromium } from "playwright-core";
import { execFile } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { promisify } from "node:util";
import { axeViolations } from "./a11y.mjs";

const run = promisify(execFile);
const url = process.argv[2];
const { CS_AUTHENTICATOR: cli, CS_STORE: store, CS_MAILDIR: maildir, CS_SCREENSHOT: screenshot } = process.env;

const authenticator = async (...args) => {
  const { stdout } = await run(cli, ["--store", store, ...args], { env: { ...process.env, COUNTERSIGN_AUTHENTICATOR_PASSPHRASE: "demo" } });
  return stdout.trim();
};
const oathtool = async (secret, unix) => (await run("oathtool", ["--totp", "-b", "--now", `@${unix}`, secret])).stdout.trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
const out = { problems: [] };
let code = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (m) => { if (m.type() === "error") out.problems.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => out.problems.push(`pageerror: ${e}`));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });

  // axe-core (a11y.mjs): the serious and critical violations.
  const axe = async () =>
    (await axeViolations(page)).filter((v) => ["serious", "critical"].includes(v.impact));

  const status = async () => ({
    state: await page.getAttribute("#status", "data-state"),
    text: await page.textContent("#status"),
    request: await page.getAttribute("#status", "data-request"),
  });
  // Wait for the status to reach one of `states` (or an error): what it shows then.
  const reach = async (states, timeout = 60000) => {
    await page.waitForFunction((want) => {
      const s = document.getElementById("status").dataset.state;
      return want.includes(s) || !["working", "idle", "Pending"].includes(s);
    }, states, { timeout });
    const s = await status();
    if (!states.includes(s.state)) throw new Error(`wanted ${states}, the page says ${s.state}: ${s.text}`);
    return s;
  };
  const click = (action) => page.click(`[data-action="${action}"]`);
  const calls = () => page.$$eval("#calls > li > p > strong", (els) => els.map((e) => e.textContent));

  await page.goto(url);
  out.axeBefore = await axe();

  // Activation: the QR payload shown beside the QR image, given to the CLI.
  await click("activate");
  await reach(["activation"]);
  const payload = await page.textContent("#qr-text");
  out.qrImage = (await page.getAttribute("#qr-img", "src")).startsWith("data:image/png;base64,");
  out.activated = JSON.parse(await authenticator("activate", "--pin", "1234", payload));

  // Asynchronous push: the number shown on the page is picked on the phone.
  await click("push-async");
  const pending = await reach(["Pending"]);
  const number = await page.getAttribute("#number", "data-number");
  out.number = number;
  await authenticator("respond", pending.request, "--approve", "--pin", "1234", "--number", number);
  out.pushAsync = (await reach(["Accept"])).text;
  out.pushAsyncCalls = await calls();

  // Synchronous push: the page waits on its back end's call while the phone answers.
  await click("push-sync");
  let requests = [];
  for (let i = 0; i < 100 && requests.length === 0; i++) {
    requests = JSON.parse(await authenticator("pending"));
    if (requests.length === 0) await sleep(100);
  }
  await authenticator("respond", requests[0].requestID, "--approve", "--pin", "1234");
  out.pushSync = (await reach(["Accept"])).text;

  // A code by e-mail, read from the SMTP server's Maildir.
  const mailsBefore = (await readdir(`${maildir}/new`).catch(() => [])).length;
  await click("code-email");
  await reach(["Pending"]);
  let mails = [];
  for (let i = 0; i < 150 && mails.length <= mailsBefore; i++) {
    mails = await readdir(`${maildir}/new`).catch(() => []);
    if (mails.length <= mailsBefore) await sleep(100);
  }
  const mail = await readFile(`${maildir}/new/${mails.sort().at(-1)}`, "utf8");
  const text = mail.split("Content-Type: text/plain")[1];
  const emailCode = text.match(/\b(\d{6})\b/)[1];
  await page.fill("#code", emailCode);
  await click("code-check");
  out.email = (await reach(["Accept"])).text;

  // TOTP: enrolled from the otpauth URI, confirmed, then a sign-in with the next step's code.
  await click("totp-enrol");
  await reach(["enrolling"]);
  const uri = await page.textContent("#qr-text");
  const secret = new URL(uri.replace("otpauth://", "https://")).searchParams.get("secret");
  const now = Math.floor(Date.now() / 1000);
  await page.fill("#totp", await oathtool(secret, now));
  await click("totp-confirm");
  await reach(["confirmed"]);
  await page.fill("#totp", await oathtool(secret, now + 30));
  await click("totp-login");
  out.totp = (await reach(["Accept"])).text;

  // A passkey: registered and used in the browser (the virtual authenticator).
  await click("passkey-register");
  out.passkeyRegistered = (await reach(["registered"])).text;
  await click("passkey-login");
  out.passkey = (await reach(["Accept"])).text;
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  out.credentials = credentials.length;

  // QR login: no user name; the CLI claims the QR payload.
  await click("qr");
  await reach(["Pending"]);
  await authenticator("claim", await page.textContent("#qr-text"));
  out.qr = (await reach(["Accept"])).text;

  // The static password, asked for by the risk engine (this browser is new to it).
  await page.fill("#password", process.env.CS_PASSWORD);
  await click("password");
  out.password = (await reach(["Accept"])).text;
  out.passwordCalls = await calls();

  // A transfer approved on the phone, which shows the amount it signs.
  await page.fill("#amount", "1250.00");
  await click("transfer");
  const transfer = await reach(["Pending"]);
  const shown = JSON.parse(await authenticator("pending")).find((r) => r.requestID === transfer.request);
  out.transferMessage = shown.message;
  const args = ["respond", transfer.request, "--approve", "--pin", "1234"];
  const n = await page.getAttribute("#number", "data-number");
  if (n) args.push("--number", n);
  await authenticator(...args);
  out.transfer = (await reach(["Accept"])).text;
  out.transferCalls = await calls();
  out.signedIn = await page.textContent("#signed-in");

  out.axeAfter = await axe();
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  // Narrow screens: nothing wider than the viewport.
  await page.setViewportSize({ width: 360, height: 800 });
  out.overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
} catch (e) {
  out.error = String(e && e.stack || e);
  code = 1;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(code);
