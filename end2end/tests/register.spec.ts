import { test, expect, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const baseUrl = () => process.env.BASE_URL as string;

async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1, { timeout: 20_000 });
}

test("sign up with field checks, then confirm the address from the outbox", async ({ browser }) => {
  const context = await browser.newContext({ locale: "de-DE" });
  const page = await context.newPage();
  const serverCalls: string[] = [];
  page.on("request", (r) => r.url().includes("/api/register") && serverCalls.push(r.url()));
  const email = `erika+${Date.now()}@example.de`;

  await page.goto(baseUrl() + "/register");
  await hydrated(page);

  // The shared rule answers in the browser, before any request.
  await page.fill("#field-email", "keine-adresse");
  await page.locator("#field-email").blur();
  await expect(page.locator("[data-field='email']")).toContainText("keine gültige E-Mail-Adresse");
  await page.fill("#field-password", "kurz");
  await page.locator("#field-password").blur();
  await expect(page.locator("[data-field='password']")).toContainText("mindestens 12 Zeichen");
  expect(serverCalls).toEqual([]);

  // The server adds what only it can check: the common-password list.
  await page.fill("#field-email", email);
  await page.fill("#field-password", "qwerty123456");
  await page.fill("#field-display_name", "Erika Mustermann");
  await page.fill("#field-organization_name", "Muster GmbH");
  await page.click("#register-submit");
  await expect(page.locator("[data-field='password']")).toContainText("zu verbreitet");
  mkdirSync(join(__dirname, "..", "artifacts"), { recursive: true });
  await page.screenshot({ path: join(__dirname, "..", "artifacts", "register-field-errors.png"), fullPage: true });

  await page.fill("#field-password", "Heftklammer Batterie Pferd 42");
  await page.click("#register-submit");
  await expect(page.locator("#register-done")).toContainText("E-Mail geschickt");

  // The development outbox holds the confirmation mail with its single-use link.
  await page.goto(baseUrl() + "/dev/outbox");
  const mail = page.locator(`article[data-to='${email}']`);
  await expect(mail).toContainText("Bitte bestätigen Sie Ihre E-Mail-Adresse");
  const body = (await mail.locator(".outbox-body").textContent()) ?? "";
  const link = body.match(/https?:\/\/\S+verify-email\?token=\S+/)?.[0];
  expect(link).toBeTruthy();

  // Opening the link changes nothing; the button confirms.
  const path = new URL(link as string).pathname + new URL(link as string).search;
  await page.goto(baseUrl() + path);
  await hydrated(page);
  await page.click("#verify-submit");
  await expect(page.locator("#verify-result")).toContainText("bestätigt");

  // The link works once.
  await page.goto(baseUrl() + path);
  await hydrated(page);
  await page.click("#verify-submit");
  await expect(page.locator("#verify-result")).toContainText("ungültig");
  await context.close();
});
