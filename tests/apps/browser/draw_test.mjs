// Browser test: Debian's Chromium, headless, driven by Playwright, opens the page that
// `digitnet serve` serves, draws a 1 and then a 0 with the mouse, and checks the prediction
// the page shows. Saves a screenshot (used in the README).
//   node draw_test.mjs DIGITNET_BINARY MODEL.npz SCREENSHOT.png
// Exits 77 (skipped) when Chromium or playwright-core is not installed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [binary, model, screenshot] = process.argv.slice(2);
const chromiumPath = '/usr/bin/chromium';
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  console.log('browser test skipped: run `npm ci` in tests/apps/browser for playwright-core');
  process.exit(77);
}
if (!existsSync(chromiumPath)) {
  console.log('browser test skipped: apt-get install chromium');
  process.exit(77);
}

// Start the server on a free port and read the port from its first line.
const server = spawn(binary, ['serve', model, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const firstLine = await new Promise((resolve, reject) => {
  createInterface({ input: server.stdout }).once('line', resolve);
  server.once('exit', code => reject(new Error(`digitnet serve exited with ${code}`)));
});
const url = firstLine.match(/http:\/\/\S+/)[0];

let passed = 0, failed = 0;
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 640 } });
  await page.goto(url);
  const pad = await page.locator('#pad').boundingBox();
  // Draws a stroke through points given in the pad's 280x280 coordinates.
  async function stroke(points) {
    await page.mouse.move(pad.x + points[0][0], pad.y + points[0][1]);
    await page.mouse.down();
    for (const [x, y] of points.slice(1)) await page.mouse.move(pad.x + x, pad.y + y, { steps: 4 });
    await page.mouse.up();
  }
  async function expectLabel(digit) {
    try {
      await page.waitForFunction(d => document.getElementById('label').textContent === d, String(digit),
                                 { timeout: 10000 });
      const seen = await page.evaluate(() => document.getElementById('seen').width);
      if (seen !== 28) throw new Error(`the 28x28 view is ${seen} wide`);
      console.log(`ok: drew a ${digit}, the page shows ${digit}`);
      passed++;
    } catch (e) {
      const shown = await page.locator('#label').textContent();
      console.log(`FAILED: drew a ${digit}, the page shows ${shown} (${e.message})`);
      failed++;
    }
  }
  // A 1: one vertical stroke.
  const one = [];
  for (let y = 50; y <= 235; y += 15) one.push([140 + (y - 50) * 0.05, y]);
  await stroke(one);
  await expectLabel(1);
  if (screenshot) await page.screenshot({ path: screenshot });
  // A 0: an ellipse.
  await page.click('#clear');
  const zero = [];
  for (let a = 0; a <= 2 * Math.PI + 0.3; a += 0.25) zero.push([140 + 62 * Math.sin(a), 140 - 90 * Math.cos(a)]);
  await stroke(zero);
  await expectLabel(0);
} finally {
  await browser.close();
  server.kill('SIGTERM');
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
