// Runs a list of steps in one headless Chromium session (Debian's), logged into WordPress, and
// collects the console errors and uncaught exceptions of every page. Usage:
//   node steps.mjs '{"url":"http://127.0.0.1:P","user":"admin","password":"…","width":1280,
//                    "screenshots":"/abs/dir","name":"queue","steps":[…]}'
// Without "user" the session stays logged out. Steps (one key names the step):
//   {"goto": "/wp-admin/…"}                 open a path of the site
//   {"fill": "css", "value": "text"}        type into a field (replacing what is there)
//   {"select": "css", "value": "option"}    choose an option of a <select> by value
//   {"check": "css"}                        tick a checkbox or radio
//   {"click": "css"}                        click and wait for the page it leads to
//   {"click": "css", "navigates": false}    click without waiting for a new page
//   {"expect": "text" | ["text", …]}        the page (or "in": css) shows each text (waits up to 5 s)
//   {"expectNo": "text" | ["text", …]}      the page (or "in": css) shows none of them
//   {"width": 390}                          resize the viewport (height stays)
//   {"fitsWidth": true}                     the page does not scroll sideways (phone widths)
//   {"screenshot": "name"}                  full-page PNG at <screenshots>/<name>.png
// Texts are what the page shows (innerText): a button's label is, an <input type=submit>'s is not.
// Exit 0 with one JSON line {ok, steps, screenshots, consoleErrors, blockedRequests, url}; exit 1 with
// that JSON plus {failedStep, error} on stderr otherwise (and <name>-failure.png when it could).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const args = JSON.parse(process.argv[2]);
const shots = args.screenshots;
if (shots) mkdirSync(shots, { recursive: true });
const result = { ok: false, steps: 0, screenshots: [], consoleErrors: [], blockedRequests: [], url: null };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  // playwright-core gives every launch a fresh, temporary profile of its own.
  timeout: 30000,
});
const page = await browser.newPage({ viewport: { width: args.width || 1280, height: args.height || 900 } });
page.setDefaultTimeout(args.timeout || 20000);
// Tests never reach the internet: requests that leave the site (an avatar, a font) are refused
// at once and listed apart, and the console errors they cause are not the page's errors.
const site = new URL(args.url).origin;
const offsite = (url) => /^https?:/.test(url) && new URL(url).origin !== site;
await page.route('**/*', (route) => {
  const url = route.request().url();
  if (!offsite(url)) return route.continue();
  result.blockedRequests.push(url);
  return route.abort();
});
page.on('console', (msg) => {
  if (msg.type() !== 'error' || offsite(msg.location().url || '')) return;
  result.consoleErrors.push(`${page.url()}: ${msg.text()}`);
});
page.on('pageerror', (error) => result.consoleErrors.push(`${page.url()}: uncaught ${error.message}`));

const texts = (value) => (Array.isArray(value) ? value : [value]);
const visibleText = async (scope) => (scope ? page.locator(scope).first().innerText() : page.innerText('body'));

// Polls the page's text until every wanted text is there (or, with absent, none is), up to 5 s.
async function expectTexts(step, wanted, absent) {
  const deadline = Date.now() + (step.timeout || 5000);
  for (;;) {
    const text = await visibleText(step.in);
    const wrong = wanted.filter((t) => text.includes(t) === absent);
    if (!wrong.length) return;
    if (Date.now() > deadline) {
      const where = step.in ? ` in ${step.in}` : '';
      throw new Error(`${page.url()}${where} ${absent ? 'still shows' : 'lacks'}: ${JSON.stringify(wrong)}\n--- page text ---\n${text.slice(0, 3000)}`);
    }
    await page.waitForTimeout(200);
  }
}

async function run(step) {
  if ('goto' in step) {
    await page.goto(`${args.url}${step.goto}`);
  } else if ('fill' in step) {
    await page.fill(step.fill, String(step.value ?? ''));
  } else if ('select' in step) {
    await page.selectOption(step.select, String(step.value));
  } else if ('check' in step) {
    await page.check(step.check);
  } else if ('click' in step) {
    if (step.navigates === false) await page.click(step.click);
    else await Promise.all([page.waitForNavigation(), page.click(step.click)]);
  } else if ('expect' in step) {
    await expectTexts(step, texts(step.expect), false);
  } else if ('expectNo' in step) {
    await expectTexts(step, texts(step.expectNo), true);
  } else if ('width' in step) {
    await page.setViewportSize({ width: step.width, height: step.height || args.height || 900 });
  } else if ('fitsWidth' in step) {
    const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    if (scroll > inner) throw new Error(`${page.url()} is ${scroll} px wide in a ${inner} px window`);
  } else if ('screenshot' in step) {
    if (!shots) throw new Error('a screenshot step needs "screenshots" (a directory)');
    const file = `${shots}/${step.screenshot}.png`;
    await page.screenshot({ path: file, fullPage: true });
    result.screenshots.push(file);
  } else {
    throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
}

let failure = null;
try {
  if (args.user) {
    await page.goto(`${args.url}/wp-login.php`);
    // wp-login.php focuses and selects the user name field 200 ms after it loads; typing that
    // lands after it would replace the name with the password. Let it happen first, then fill
    // and check both fields (filling again if the focus still came between).
    await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'user_login', null, { timeout: 2000 }).catch(() => {});
    for (let attempt = 0; ; attempt++) {
      await page.fill('#user_login', args.user);
      await page.fill('#user_pass', args.password);
      const filled = (await page.inputValue('#user_login')) === args.user && (await page.inputValue('#user_pass')) === args.password;
      if (filled) break;
      if (attempt === 2) throw new Error(`the login form of ${args.url} would not keep the user name and password`);
    }
    await Promise.all([page.waitForNavigation(), page.click('#wp-submit')]);
    if (page.url().includes('wp-login.php')) throw new Error(`login as ${args.user} failed`);
  }
  for (const step of args.steps || []) {
    await run(step);
    result.steps += 1;
  }
  result.ok = true;
} catch (e) {
  failure = { failedStep: result.steps, step: (args.steps || [])[result.steps] ?? 'login', error: String((e && e.message) || e) };
  if (shots) {
    const file = `${shots}/${args.name || 'browser'}-failure.png`;
    try { await page.screenshot({ path: file, fullPage: true }); result.screenshots.push(file); } catch { /* the page is gone */ }
  }
} finally {
  result.url = page.url();
  await browser.close();
}
if (failure) {
  console.error(JSON.stringify({ ...result, ...failure }));
  process.exit(1);
}
console.log(JSON.stringify(result));
