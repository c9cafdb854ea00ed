// Logs into WordPress in headless Chromium (Debian's), opens an admin page, checks that it shows
// the expected text, and saves a full-page screenshot. Usage:
//   node admin-page.mjs '{"url":"http://127.0.0.1:P","user":"admin","password":"…",
//                        "path":"/wp-admin/admin.php?page=inventory-sync",
//                        "expect":["text", …],"screenshot":"/abs/out.png","width":1280}'
// Exit 0 and a JSON line on success; exit 1 with the reason otherwise.
import { chromium } from 'playwright-core';

const args = JSON.parse(process.argv[2]);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  // playwright-core gives every launch a fresh, temporary profile of its own.
  timeout: 30000,
});
let failure = null;
try {
  const page = await browser.newPage({ viewport: { width: args.width || 1280, height: 900 } });
  page.setDefaultTimeout(20000);
  await page.goto(`${args.url}/wp-login.php`);
  await page.fill('#user_login', args.user);
  await page.fill('#user_pass', args.password);
  await Promise.all([page.waitForNavigation(), page.click('#wp-submit')]);
  await page.goto(`${args.url}${args.path}`);
  const text = await page.innerText('body');
  const missing = (args.expect || []).filter((t) => !text.includes(t));
  await page.screenshot({ path: args.screenshot, fullPage: true });
  if (missing.length) failure = `page ${args.path} lacks: ${JSON.stringify(missing)}`;
  else console.log(JSON.stringify({ ok: true, screenshot: args.screenshot, title: await page.title() }));
} catch (e) {
  failure = String(e && e.message || e);
} finally {
  await browser.close();
}
if (failure) { console.error(failure); process.exit(1); }
