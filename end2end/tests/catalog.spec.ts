import { test, expect, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const baseUrl = () => process.env.BASE_URL as string;
const artifacts = join(__dirname, "..", "artifacts");
const password = "Heftklammer Batterie Pferd 42";

// A 2×2 PNG (red, green, blue, white): small, but a real image the server decodes.
const png = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR4nGP4z8DAAMIM/4EAAB/uBfsL2WiLAAAAAElFTkSuQmCC",
  "base64",
);

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

async function fillVariant(page: Page, row: number, size: string, sku: string, price: string, stock: string) {
  const cells = page.locator(`#variants-grid tr[data-row='${row}']`);
  await cells.locator("td").first().locator("input").fill(size);
  await page.fill(`input[name='variants.${row}.sku']`, sku);
  await page.fill(`input[name='variants.${row}.price']`, price);
  await page.fill(`input[name='variants.${row}.on_hand']`, stock);
}

test("catalog: create a product with two variants and an image, find it, change its price in bulk", async ({ browser }) => {
  test.setTimeout(120_000);
  const stamp = Date.now();
  const context = await browser.newContext({ locale: "en-GB" });
  const page = await context.newPage();
  await signedUp(page, `erika+${stamp}@example.com`);

  // The editor: content, one option axis, two variants with opening stock.
  await page.goto(baseUrl() + "/products/new");
  await hydrated(page);
  const title = `Linen shirt Fjord ${stamp}`;
  await page.fill("#field-title", title);
  await page.fill("#field-brand", "Fjordlicht");
  await page.fill("#field-option-0", "Size");
  await fillVariant(page, 0, "M", `LS-${stamp}-M`, "19.90", "5");
  await page.click("#variant-add");
  await fillVariant(page, 1, "L", `LS-${stamp}-L`, "19.90", "3");
  // A typo in the second SKU is answered at its field and nothing is saved.
  await page.fill("input[name='variants.1.sku']", "LS L");
  await page.click("#product-save");
  await expect(page.locator("#editor-answer")).toBeVisible();
  await page.fill("input[name='variants.1.sku']", `LS-${stamp}-L`);
  await page.click("#product-save");
  await page.waitForURL(/\/products\/[0-9a-f-]{36}$/);
  await hydrated(page);
  await expect(page.locator("#variants-grid .stock")).toHaveCount(2);

  // An image, uploaded like a drop onto the page, with its progress.
  await page.setInputFiles("#image-files", { name: "hemd.jpg", mimeType: "image/jpeg", buffer: png });
  await expect(page.locator("#upload-list li[data-state='done']")).toHaveCount(1);
  await expect(page.locator("#image-grid img")).toHaveCount(1);
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "catalog-editor.png"), fullPage: true });

  // Found by search in the list; its price changed by 10 % in bulk.
  await page.goto(baseUrl() + "/products?q=" + encodeURIComponent(`Fjord ${stamp}`));
  await hydrated(page);
  const row = page.locator("[data-testid='product-row']", { hasText: title });
  await expect(row).toHaveCount(1);
  await expect(row.locator("[data-testid='product-price']")).toContainText("19.90");
  await row.locator("[data-testid='product-select']").check();
  await expect(page.locator("[data-testid='bulk-selected-count']")).toContainText("1");
  await page.selectOption("[data-testid='bulk-price-mode']", "percent");
  await page.fill("[data-testid='bulk-price-value']", "10");
  await page.click("[data-testid='bulk-price-submit']");
  await expect(page.locator("[data-testid='bulk-answer']")).toBeVisible();
  await expect(
    page.locator("[data-testid='product-row']", { hasText: title }).locator("[data-testid='product-price']"),
  ).toContainText("21.89");
  await page.screenshot({ path: join(artifacts, "catalog-list.png"), fullPage: true });
});
