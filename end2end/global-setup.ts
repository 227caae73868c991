// Starts the built server on a free port with a fresh SQLite database in a temporary
// directory, waits until it is ready, and stops it after the tests.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, createWriteStream } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

export default async function globalSetup() {
  const root = resolve(__dirname, "..");
  const bin = process.env.SHOPMARKETS_BIN;
  if (!bin) throw new Error("SHOPMARKETS_BIN is not set (make test sets it to the built binary)");

  const port = await freePort();
  const sandboxPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "shopmarkets-e2e-"));
  const baseUrl = `http://127.0.0.1:${port}`;
  // The server's log is kept beside the screenshots, as a test artifact.
  const artifacts = join(__dirname, "artifacts");
  mkdirSync(artifacts, { recursive: true });
  const log = createWriteStream(join(artifacts, "server.log"));

  const server = spawn(bin, ["serve"], {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH ?? "",
      APP_ENV: "development",
      DATA_DIR: dataDir,
      LEPTOS_OUTPUT_NAME: "shopmarkets",
      LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT || join(root, "target", "site"),
      LEPTOS_SITE_PKG_DIR: "pkg",
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      SANDBOX_ADDR: `127.0.0.1:${sandboxPort}`,
      RUST_LOG: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout?.pipe(log);
  server.stderr?.pipe(log);

  const deadline = Date.now() + 60_000;
  let ready = false;
  while (Date.now() < deadline && server.exitCode === null) {
    try {
      if ((await fetch(`${baseUrl}/health/ready`)).ok) {
        ready = true;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!ready) {
    server.kill("SIGKILL");
    throw new Error(`server did not become ready at ${baseUrl}; see end2end/artifacts/server.log`);
  }
  process.env.BASE_URL = baseUrl;

  return async () => {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    rmSync(dataDir, { recursive: true, force: true });
  };
}
