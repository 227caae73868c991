import { test, expect, type Browser, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { currentCode, freshCode } from "./totp";

const baseUrl = () => process.env.BASE_URL as string;
const artifacts = join(__dirname, "..", "artifacts");
const password = "Heftklammer Batterie Pferd 42";

async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1, { timeout: 20_000 });
}

async function screenshot(page: Page, name: string) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, name), fullPage: true });
}

async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ locale: "en-GB" });
  return context.newPage();
}

/** The password step; answers where the login page sent the browser. */
async function signInWithPassword(page: Page, email: string): Promise<void> {
  await page.goto(baseUrl() + "/login");
  await hydrated(page);
  await page.fill("#login-form input[name=email]", email);
  await page.fill("#login-form input[name=password]", password);
  await page.click("#login-submit");
}

async function enterSecondFactor(page: Page, code: string) {
  await page.fill("#second-factor-form input[name=code]", code);
  await page.click("#second-factor-submit");
}

test("account: two-factor sign-in on, sign in with a code, end the other sessions", async ({ browser }) => {
  test.setTimeout(120_000);
  const email = `max+${Date.now()}@example.com`;
  const page = await newPage(browser);

  // Sign up, and confirm the address with the link from the development outbox.
  await page.goto(baseUrl() + "/register");
  await hydrated(page);
  await page.fill("#field-email", email);
  await page.fill("#field-password", password);
  await page.fill("#field-display_name", "Max Mustermann");
  await page.fill("#field-organization_name", "Muster KG");
  await page.click("#register-submit");
  await expect(page.locator("#register-done")).toBeVisible();

  await page.goto(baseUrl() + "/dev/outbox");
  const mail = page.locator(`article[data-to='${email}']`);
  await expect(mail).toHaveCount(1);
  const body = (await mail.locator(".outbox-body").textContent()) ?? "";
  const link = body.match(/https?:\/\/\S+verify-email\?token=\S+/)?.[0];
  expect(link).toBeTruthy();
  const verify = new URL(link as string);
  await page.goto(baseUrl() + verify.pathname + verify.search);
  await hydrated(page);
  await page.click("#verify-submit");
  await expect(page.locator("#verify-result")).toBeVisible();

  // Sign in with the password alone (no second factor yet).
  await signInWithPassword(page, email);
  await page.waitForURL(baseUrl() + "/");

  // A second browser is signed in too; turning 2FA on will end its session.
  const other = await newPage(browser);
  await signInWithPassword(other, email);
  await other.waitForURL(baseUrl() + "/");

  // Turn on two-factor sign-in: password, then the key from the page and a code for it.
  await page.goto(baseUrl() + "/account");
  await hydrated(page);
  await expect(page.locator("#two-factor-status")).toHaveAttribute("data-state", "off");
  await page.click("#two-factor-enable");
  await page.fill("#two-factor-password-form input[name=password]", "not my password at all");
  await page.click("#two-factor-password-submit");
  await expect(page.locator("#password-error")).not.toBeEmpty();
  await page.fill("#two-factor-password-form input[name=password]", password);
  await page.click("#two-factor-password-submit");
  await expect(page.locator("#two-factor-qr")).toBeVisible();
  expect(await page.locator("#two-factor-qr").getAttribute("src")).toMatch(/^data:image\/svg\+xml,/);
  const shownSecret = (await page.locator("#two-factor-secret").textContent()) ?? "";
  expect(shownSecret).toMatch(/^([A-Z2-7]{4} )*[A-Z2-7]{1,4}$/);
  const secret = shownSecret.replace(/\s/g, "");
  await screenshot(page, "account-two-factor-scan.png");

  // A wrong code changes nothing; the right one turns 2FA on and shows ten recovery codes.
  const enrolment = currentCode(secret);
  const wrong = ((Number(enrolment.code) + 500_000) % 1_000_000).toString().padStart(6, "0");
  await page.fill("#two-factor-confirm-form input[name=code]", wrong);
  await page.click("#two-factor-confirm-submit");
  await expect(page.locator("#code-error")).not.toBeEmpty();
  await page.fill("#two-factor-confirm-form input[name=code]", enrolment.code);
  await page.click("#two-factor-confirm-submit");
  const codes = page.locator("#recovery-codes li");
  await expect(codes).toHaveCount(10);
  const recoveryCodes = (await codes.allTextContents()).map((c) => c.trim());
  for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
  await expect(page.locator("#two-factor-notice")).toBeVisible();
  await screenshot(page, "account-recovery-codes.png");
  await expect(page.locator("#recovery-codes-done")).toBeDisabled();
  await page.check("#recovery-codes-saved");
  await page.click("#recovery-codes-done");
  await expect(page.locator("#recovery-codes")).toHaveCount(0);
  await expect(page.locator("#two-factor-status")).toHaveAttribute("data-state", "on");
  await expect(page.locator("#recovery-codes-left")).toHaveAttribute("data-count", "10");

  // The change ended the other browser's session.
  await other.goto(baseUrl() + "/account");
  await expect(other.locator("#please-sign-in")).toBeVisible();

  // Sign out, and in again: the password alone now leads to the code step.
  await page.click("#sign-out");
  await page.waitForURL(baseUrl() + "/login");
  await signInWithPassword(page, email);
  await page.waitForURL(baseUrl() + "/login/second-factor");
  await hydrated(page);
  const login = await freshCode(secret, enrolment.step);
  await enterSecondFactor(page, login.code);
  await page.waitForURL(baseUrl() + "/");

  // The other browser signs in too. The code just used is refused (each step works once);
  // a recovery code works, once.
  await signInWithPassword(other, email);
  await other.waitForURL(baseUrl() + "/login/second-factor");
  await hydrated(other);
  await enterSecondFactor(other, login.code);
  await expect(other.locator("#second-factor-message")).toBeVisible();
  await enterSecondFactor(other, recoveryCodes[0]);
  await other.waitForURL(baseUrl() + "/");
  await other.goto(baseUrl() + "/account");
  await expect(other.locator("#sessions")).toBeVisible();

  // Both sessions are listed; this one is marked. One recovery code is used up.
  await page.goto(baseUrl() + "/account");
  await hydrated(page);
  await expect(page.locator("#sessions tr.session")).toHaveCount(2);
  await expect(page.locator("#sessions tr.session.current")).toHaveCount(1);
  await expect(page.locator("#recovery-codes-left")).toHaveAttribute("data-count", "9");
  await screenshot(page, "account-sessions.png");

  // "End all others": the other browser is signed out on its next request; this one stays.
  await page.click("#end-other-sessions");
  await expect(page.locator("#ended-others")).toBeVisible();
  await expect(page.locator("#sessions tr.session")).toHaveCount(1);
  await other.reload();
  await expect(other.locator("#please-sign-in")).toBeVisible();
  await screenshot(other, "account-other-session-ended.png");
  await page.reload();
  await expect(page.locator("#sessions tr.session.current")).toHaveCount(1);

  await other.context().close();
  await page.context().close();
});
