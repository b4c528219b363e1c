// Registers a passkey and logs in with it on countersign's demo page, in Debian's
// Chromium with a CDP virtual authenticator. Usage: node passkey.mjs URL
// Prints one JSON line; exits non-zero (with the page's status) on failure.
import { chromium } from "playwright-core";

const url = process.argv[2];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
let code = 0;
try {
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  await page.goto(url);
  const step = async (button, want) => {
    await page.click(button);
    await page.waitForFunction(() => !["working", "idle"].includes(document.getElementById("status").dataset.state));
    const state = await page.getAttribute("#status", "data-state");
    const text = await page.textContent("#status");
    if (state !== want) throw new Error(`${button}: wanted ${want}, page says ${state}: ${text}`);
    return text;
  };
  const registered = await step("#register", "registered");
  const login = await step("#login", "Accept");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  console.log(JSON.stringify({ registered, login, credentials: credentials.length, signCount: credentials[0]?.signCount }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e) }));
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
