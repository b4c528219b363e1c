// Accessibility checks shared by the browser tests: axe-core (npm) run inside the page.
// The pages forbid inline scripts (Content-Security-Policy), so axe is evaluated through
// the DevTools protocol, which the policy does not cover. Serious and critical
// violations fail; the rest are reported.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Run axe on the page; the violations, each {id, impact, nodes}. */
export async function axeViolations(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }));
}

/** Fail when axe finds a serious or critical violation on the page (named `what`). */
export async function checkAccessible(page, what, report) {
  const found = await axeViolations(page);
  report.push({ page: what, violations: found });
  const bad = found.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) throw new Error(`${what}: accessibility violations ${JSON.stringify(bad)}`);
}
