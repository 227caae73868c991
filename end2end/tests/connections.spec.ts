import { test, expect, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const baseUrl = () => process.env.BASE_URL as string;
const artifacts = join(__dirname, "..", "artifacts");
const password = "Heftklammer Batterie Pferd 42";

async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1, { timeout: 20_000 });
}

/** Signs up, confirms the address from the development outbox and signs in. */
async function signedUp(page: Page, email: string) {
  await page.goto(baseUrl() + "/register");
  await hydrated(page);
  await page.fill("#field-email", email);
  await page.fill("#field-password", password);
  await page.fill("#field-display_name", "Erika Muster");
  await page.fill("#field-organization_name", "Fjordlicht GmbH");
  await page.click("#register-submit");
  await expect(page.locator("#register-done")).toBeVisible();
  await page.goto(baseUrl() + "/dev/outbox");
  const body = (await page.locator(`article[data-to='${email}'] .outbox-body`).textContent()) ?? "";
  const link = new URL(body.match(/https?:\/\/\S+verify-email\?token=\S+/)?.[0] as string);
  await page.goto(baseUrl() + link.pathname + link.search);
  await hydrated(page);
  await page.click("#verify-submit");
  await expect(page.locator("#verify-result")).toBeVisible();
  await page.goto(baseUrl() + "/login");
  await hydrated(page);
  await page.fill("#login-form input[name=email]", email);
  await page.fill("#login-form input[name=password]", password);
  await page.click("#login-submit");
  await page.waitForURL(baseUrl() + "/");
}

test("connections: connect Shopify and Etsy through their consent pages, then disconnect one", async ({ browser }) => {
  test.setTimeout(120_000);
  const stamp = Date.now();
  const context = await browser.newContext({ locale: "en-GB" });
  const page = await context.newPage();
  await signedUp(page, `erika+${stamp}@example.com`);

  // Shopify: the shop domain, then the sandbox's install page.
  await page.goto(baseUrl() + "/connections");
  await hydrated(page);
  const shopify = page.locator("[data-marketplace='shopify'][data-configured='true']");
  await shopify.getByLabel("Shop domain").fill(`fjordlicht-${stamp}.myshopify.com`);
  await page.getByRole("button", { name: "Connect Shopify" }).click();
  await expect(page.getByRole("button", { name: "Install app" })).toBeVisible();
  await page.getByRole("button", { name: "Install app" }).click();
  await page.waitForURL(/\/connections\?connected=/);
  await hydrated(page);
  const shopifyCard = page.locator("article.connection-card[data-marketplace='shopify']");
  await expect(shopifyCard).toHaveAttribute("data-status", "active");
  await expect(shopifyCard).toContainText(`fjordlicht-${stamp}.myshopify.com`);
  await expect(shopifyCard.locator(".connection-expiry")).toContainText(/expires in/i);

  // Etsy: PKCE behind the scenes, the sandbox's consent page in front.
  await page.getByRole("button", { name: "Connect Etsy" }).click();
  await expect(page.getByRole("button", { name: "Allow access" })).toBeVisible();
  await page.getByRole("button", { name: "Allow access" }).click();
  await page.waitForURL(/\/connections\?connected=/);
  await hydrated(page);
  const etsyCard = page.locator("article.connection-card[data-marketplace='etsy']");
  await expect(etsyCard).toHaveAttribute("data-status", "active");
  await expect(shopifyCard).toHaveAttribute("data-status", "active");

  // Both work: a test call each.
  await etsyCard.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByText("The connection works.")).toBeVisible();
  await expect(etsyCard).toHaveAttribute("data-status", "active");

  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "connections-two-active.png"), fullPage: true });

  // Disconnect Etsy, confirming in the dialog; Shopify stays.
  await etsyCard.getByRole("button", { name: "Disconnect" }).click();
  await page.getByRole("button", { name: "Disconnect now" }).click();
  await expect(etsyCard).toHaveAttribute("data-status", "disconnected");
  await expect(shopifyCard).toHaveAttribute("data-status", "active");
  await page.reload();
  await hydrated(page);
  await expect(page.locator("article.connection-card[data-marketplace='etsy']")).toHaveAttribute(
    "data-status",
    "disconnected",
  );
  await page.screenshot({ path: join(artifacts, "connections-one-disconnected.png"), fullPage: true });
  await context.close();
});
