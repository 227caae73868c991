import { test, expect, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const baseUrl = () => {
  const url = process.env.BASE_URL;
  if (!url) throw new Error("BASE_URL is set by global-setup.ts");
  return url;
};

/** Waits until the wasm has taken over the page. */
async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1, { timeout: 20_000 });
}

/** Marks the current document, so a reload (which would lose the mark) can be detected. */
async function markDocument(page: Page) {
  await page.evaluate(() => ((window as unknown as { __mark: number }).__mark = 42));
}
async function sameDocument(page: Page) {
  return page.evaluate(() => (window as unknown as { __mark?: number }).__mark === 42);
}

test.describe("app shell", () => {
  test("the home page is rendered on the server", async ({ browser }) => {
    // Without JavaScript, everything visible comes from server-side rendering.
    const context = await browser.newContext({ javaScriptEnabled: false, locale: "de-DE" });
    const page = await context.newPage();
    const response = await page.goto(baseUrl() + "/");
    expect(response?.status()).toBe(200);
    await expect(page.locator("html")).toHaveAttribute("lang", "de");
    await expect(page.locator("h1")).toHaveText("Übersicht");
    await expect(page.getByRole("navigation")).toContainText("Verbindungen");
    await expect(page.getByTestId("database-engine")).toHaveText("SQLite");
    await context.close();
  });

  test("hydration makes controls work without a reload", async ({ browser }) => {
    const context = await browser.newContext({
      locale: "en-US",
      viewport: { width: 390, height: 844 },
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));

    await page.goto(baseUrl() + "/");
    await hydrated(page);
    await markDocument(page);

    const nav = page.locator("#main-nav");
    const toggle = page.locator("#menu-toggle");
    await expect(nav).toBeHidden();
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-expanded", "true");
    await expect(nav).toBeVisible();

    // Client-side navigation: a new page without a document load.
    await nav.getByRole("link", { name: "Orders" }).click();
    await expect(page.locator("h1")).toHaveText("Orders");
    await expect(page).toHaveURL(/\/orders$/);
    await expect(nav).toBeHidden();
    expect(await sameDocument(page)).toBe(true);

    // A blocked hydration script or a CSP violation would show up here.
    expect(problems).toEqual([]);
    await context.close();
  });

  test("the language switch changes the page at once and is remembered", async ({ browser }) => {
    const context = await browser.newContext({ locale: "de-DE" });
    const page = await context.newPage();
    await page.goto(baseUrl() + "/");
    await hydrated(page);
    await expect(page.locator("h1")).toHaveText("Übersicht");
    await markDocument(page);

    await page.locator("button[data-locale='en']").click();
    await expect(page.locator("h1")).toHaveText("Dashboard");
    await expect(page.locator("html")).toHaveAttribute("lang", "en");
    await expect(page.locator("button[data-locale='en']")).toHaveAttribute("aria-pressed", "true");
    expect(await sameDocument(page)).toBe(true);

    await page.reload();
    await expect(page.locator("h1")).toHaveText("Dashboard");
    await hydrated(page);

    await page.locator("button[data-locale='de']").click();
    await expect(page.locator("h1")).toHaveText("Übersicht");
    await context.close();
  });

  test("unknown addresses show the not-found page", async ({ page }) => {
    const response = await page.goto(baseUrl() + "/does-not-exist");
    expect(response?.status()).toBe(404);
    await expect(page.locator("h1")).toHaveText(/Page not found|Seite nicht gefunden/);
  });

  test("screenshot of the dashboard", async ({ browser }, testInfo) => {
    const dir = join(__dirname, "..", "artifacts");
    mkdirSync(dir, { recursive: true });
    for (const [name, viewport, scheme] of [
      ["dashboard-desktop-light", { width: 1280, height: 800 }, "light"],
      ["dashboard-phone-dark", { width: 390, height: 844 }, "dark"],
    ] as const) {
      const context = await browser.newContext({ locale: "de-DE", viewport, colorScheme: scheme });
      const page = await context.newPage();
      await page.goto(baseUrl() + "/");
      await hydrated(page);
      const path = join(dir, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      await testInfo.attach(name, { path, contentType: "image/png" });
      await context.close();
    }
  });
});
