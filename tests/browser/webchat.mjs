// The desk's web chat on a phone (Debian's chromium, driven by
// playwright-core), against the real madoguchid in strict mode. Run by
// tests/integration/81_webchat_browser.t: `node tests/browser/webchat.mjs`
// with BASE_URL, SHOTS, LINK (the hand-off link the simulator delivered),
// LINE_TEXT (what the person wrote on LINE), WEB_TEXT (what they write
// here) and REPLY (the counsellor's answer).
//
// Prints one line per check: "ok <what>" or "not ok <what>: <why>", and
// "info <text>" for notes. When the page waits for the counsellor it
// prints "wait reply" and reads one line ("go") once the reply is sent.
// Exits non-zero only when it could not go on (a step everything after it
// needs failed) or crashed.
import readline from 'node:readline';
import {
	check, exitWith, info, launch, newContext, runChecks, screenshots, until as pollUntil,
} from './harness.mjs';

const env = process.env;
const BASE = env.BASE_URL;
const ORIGIN = new URL(BASE).origin;
const { LINK, LINE_TEXT, WEB_TEXT, REPLY } = env;
const PHONE = {
	viewport: { width: 360, height: 640 },
	deviceScaleFactor: 2,
	isMobile: true,
	hasTouch: true,
	userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 ' +
	    '(KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36',
	locale: 'ja-JP',
	timezoneId: 'Asia/Tokyo',
};

// The phone's page is polled every 50 ms (the harness's default is 100),
// as its timed checks were written with.
const until = (fn, ms, what) => pollUntil(fn, ms, what, 50);

const shot = screenshots('webchat-');

// The lines the test gives on standard input, one at a time.
const input = readline.createInterface({ input: process.stdin });
const lines = [];
let waiter = null;
input.on('line', (l) => { if (waiter) { const w = waiter; waiter = null; w(l); } else lines.push(l); });
input.on('close', () => { if (waiter) { const w = waiter; waiter = null; w(null); } });
function nextLine() {
	return lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => { waiter = r; });
}

const requests = [];	// every request any page made: { url, page }, as chromium sent it
const failed = [];	// responses of 400 and above: { page, status, url, late }
const errors = [];	// script errors and console errors
const csp = [];		// CSP violations, from the console and from the document
let ending = false;	// the person has asked to end: the API may answer 401 from now on

async function newPhone(browser, name) {
	// Its console's CSP lines go to csp; its answers of 400 and above are
	// judged below, by their address.
	const context = await newContext(browser, PHONE, { errors, name, csp,
	    ignore: /^Failed to load resource: the server responded with a status of/ });
	// Reported by the document itself, whatever the console says.
	await context.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
		});
	});
	const page = await context.newPage();
	// Chromium's own record of the network, the favicon included (which
	// playwright does not report).
	const cdp = await context.newCDPSession(page);
	await cdp.send('Network.enable');
	cdp.on('Network.requestWillBeSent', (e) => {
		requests.push({ url: e.request.url, page: name });
		if (env.DEBUG)
			info(`${name}: ${e.request.method} ${e.request.url}`);
	});
	cdp.on('Network.responseReceived', (e) => {
		if (e.response.status >= 400)
			failed.push({ page: name, status: e.response.status, url: e.response.url, late: ending });
	});
	context.on('request', (r) => requests.push({ url: r.url(), page: name }));
	return page;
}

// The answers of 400 and above the pages may get: the spent link (410)
// and the favicon its page does not name (404) in the second browser, and
// the API once the session is ending (401: the live stream reconnecting).
function expectedFailure(f) {
	const p = new URL(f.url).pathname;
	return (f.page === 'second' && f.status === 410 && f.url === LINK) ||
	    (f.page === 'second' && f.status === 404 && p === '/favicon.ico') ||
	    (f.page === 'phone' && f.status === 401 && f.late && p.startsWith('/chat/api/'));
}

const shown = (page, id) => page.locator(`#${id}`).isVisible();

async function run(browser) {
	const page = await newPhone(browser, 'phone');
	let navigations = 0;
	page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });

	// 2. The person taps the button on LINE: a page with one button
	// (what fetches a link without a person cannot spend it), then the
	// tap that opens the chat.
	const landing = await page.goto(LINK);
	await check('the link shows a page with one button, nothing spent yet', async () =>
	    landing.status() === 200 && await page.locator('#open').isVisible() &&
	    !(await page.context().cookies()).some((c) => c.name === 'madoguchi_chat'), true);
	await check('the button fits the phone and reads 相談のページを開く', async () => {
		const box = await page.locator('#open').boundingBox();
		return box.height >= 44 && box.x >= 0 && box.x + box.width <= 360 &&
		    (await page.locator('#open').textContent()).includes('相談のページを開く');
	});
	await shot(page, 'link-page');
	const [res] = await Promise.all([
		page.waitForNavigation({ url: BASE + '/chat/' }),
		page.locator('#open').click(),
	]);
	await check('the tap leads (303) to /chat/, the token gone from the address bar', async () => {
		const first = res.request().redirectedFrom();
		if (!first || (await first.response()).status() !== 303 || first.method() !== 'POST')
			throw new Error('no POST answered 303 before ' + page.url());
		return page.url() === BASE + '/chat/' && res.status() === 200;
	}, true);
	await check("the page is allowed nothing but this origin (CSP default-src 'self')", async () =>
	    /^default-src 'self'/.test((await res.allHeaders())['content-security-policy'] || ''));
	await check('the cookie is the session: HttpOnly, Secure, for /chat/ only', async () => {
		const c = (await page.context().cookies()).find((x) => x.name === 'madoguchi_chat');
		return !!c && c.httpOnly && c.secure && c.path === '/chat/' && c.sameSite === 'Lax';
	});
	await check("the desk's terms come first", async () => {
		await page.locator('#s-terms').waitFor({ state: 'visible', timeout: 10000 });
		const t = await page.locator('#terms-text').textContent();
		if (!/警察や児童相談所/.test(t))
			throw new Error('terms: ' + t);
		return (await page.locator('#terms-desk').textContent()) === 'LINE相談' &&
		    !(await shown(page, 's-chat'));
	}, true);
	await check('nothing is wider than the phone', async () =>
	    await page.evaluate(() => document.documentElement.scrollWidth) <= 360);
	await shot(page, 'terms');

	await page.locator('#terms-accept').tap();
	await check('accepted, the chat opens with what was written on LINE', async () => {
		await page.locator('#s-chat').waitFor({ state: 'visible', timeout: 10000 });
		await page.locator('#log .row.me').filter({ hasText: LINE_TEXT }).waitFor({ timeout: 5000 });
		return !(await shown(page, 's-terms')) &&
		    (await page.locator('#desk-name').textContent()) === 'LINE相談' &&
		    (await page.locator('#status-text').textContent()) === '相談受付中';
	}, true);
	await check("LINE's words about the button are not in the chat", async () =>
	    !/下のボタン/.test(await page.locator('#log').textContent()));

	await page.locator('#text').tap();
	await page.locator('#text').fill(WEB_TEXT);
	await page.locator('#send').tap();
	await check('the message written here shows in the chat, sent', async () => {
		const row = page.locator('#log .row.me').filter({ hasText: WEB_TEXT });
		await row.waitFor({ timeout: 5000 });
		await until(async () => (await row.count()) === 1 &&
		    !(await row.getAttribute('class')).includes('pending') &&
		    (await row.locator('time').count()) === 1, 5000, 'the message sent');
		return (await page.locator('#text').inputValue()) === '';
	}, true);
	await until(() => page.locator('#conn').isHidden(), 5000, 'the stream');

	// 3. The counsellor answers from the console while the page is open.
	await page.evaluate(() => { window.__samePage = 'still here'; });
	const before = navigations;
	await check('no reply yet before the counsellor answers; the page says one is coming', async () =>
	    (await page.locator('#log .row.desk').filter({ hasText: REPLY }).count()) === 0 &&
	    (await until(async () => (await page.locator('#queue-note').isVisible()) &&
		(await page.locator('#queue-note').textContent()), 5000, 'the queue note')).includes('お返事します'));
	console.log('wait reply');
	const go = await nextLine();
	if (go !== 'go')
		throw new Error(`expected "go", read ${go}`);
	const t0 = Date.now();
	await check('the reply shows in the chat within 5 s, as the desk\'s, without reloading', async () => {
		await page.locator('#log .row.desk').filter({ hasText: REPLY }).waitFor({ timeout: 5000 });
		info(`the reply showed after ${Date.now() - t0} ms`);
		return navigations === before &&
		    await page.evaluate(() => window.__samePage) === 'still here';
	});
	await check('the reply is the last in the chat, below the message written here', async () => {
		const rows = await page.locator('#log .row').allTextContents();
		const me = rows.findIndex((t) => t.includes(WEB_TEXT));
		return me >= 0 && rows[rows.length - 1].includes(REPLY) && rows.length - 1 > me;
	});
	await check('answered, the page no longer says a reply is coming (queue null)', async () => {
		await until(() => page.locator('#queue-note').isHidden(), 5000, 'the queue note gone');
		return true;
	});
	await check('nothing is wider than the phone in the chat', async () =>
	    await page.evaluate(() => document.documentElement.scrollWidth) <= 360);
	await shot(page, 'reply');

	// 6. The same link again, from another browser: 410.
	const other = await newPhone(browser, 'second');
	const again = await other.goto(LINK);
	await check('the same link opened again in a fresh context: 410, no button', async () =>
	    again.status() === 410 && !(await other.context().cookies()).some((c) => c.name === 'madoguchi_chat'));
	await check('the page says the link is spent and how to get a new one', async () => {
		const t = await other.locator('body').innerText();
		return t.includes('このリンクはもう使えません') && t.includes('LINEでこの窓口に何かメッセージを送ってください') &&
		    t.includes('新しいリンクをお送りします');
	});
	await shot(other, 'link-used');

	// The person ends the consultation.
	const cookie = (await page.context().cookies()).find((c) => c.name === 'madoguchi_chat');
	const state = () => fetch(BASE + '/chat/api/state', { headers: { Cookie: `madoguchi_chat=${cookie.value}` } });
	await check('before the end, the cookie opens the API (200)', async () => (await state()).status === 200, true);
	ending = true;
	await page.locator('#end-open').tap();
	await check('ending asks first', () =>
	    page.locator('#dlg').waitFor({ state: 'visible', timeout: 5000 }));
	await page.locator('#dlg-ok').tap();
	await check('the page says the consultation ended', async () => {
		await page.locator('#s-ended').waitFor({ state: 'visible', timeout: 5000 });
		return (await page.locator('#ended-title').textContent()).includes('相談を終了しました') &&
		    !(await shown(page, 's-chat'));
	}, true);
	await check('and shows nothing of the conversation, not even in the DOM', async () => {
		const html = await page.content();
		const t = await page.locator('body').innerText();
		for (const s of [LINE_TEXT, WEB_TEXT, REPLY, '眠れない'])
			if (html.includes(s) || t.includes(s))
				throw new Error(`still there: ${s}`);
		return (await page.locator('#log').innerHTML()) === '';
	});
	await check('the browser no longer holds the cookie', async () =>
	    !(await page.context().cookies()).some((c) => c.name === 'madoguchi_chat'));
	await check('the web chat API answers 401 for that cookie', async () => {
		const r = await state();
		const body = await r.json();
		return r.status === 401 && body.error === 'no_session';
	});
	await shot(page, 'ended');

	// 5. Nothing asked of any other origin, and something was asked.
	await check('the pages made requests: the page, its script, style, state and live stream', () => {
		const paths = new Set(requests.filter((r) => r.page === 'phone').map((r) => new URL(r.url).pathname));
		return ['/chat/', '/chat/chat.js', '/chat/chat.css', '/chat/api/state', '/chat/api/events',
		    '/chat/api/messages', '/chat/api/end'].every((p) => paths.has(p));
	});
	await check(`no request to any other origin than ${ORIGIN} (${requests.length} requests)`, () => {
		const away = requests.filter((r) => new URL(r.url).origin !== ORIGIN);
		if (away.length)
			throw new Error(away.map((r) => r.url).join(' '));
		return true;
	});
	await check('no answer of 400 or above but the spent link (and its favicon)', () => {
		for (const f of failed.filter((x) => expectedFailure(x)))
			info(`expected: ${f.page} ${f.status} ${f.url}`);
		const bad = failed.filter((f) => !expectedFailure(f));
		if (bad.length)
			throw new Error(bad.map((f) => `${f.page} ${f.status} ${f.url}`).join(' '));
		return failed.some((f) => f.status === 410);
	});
	await check('no CSP violation', () => {
		if (csp.length)
			throw new Error(csp.join(' | '));
		return true;
	});
}

async function main() {
	for (const v of ['BASE_URL', 'LINK', 'LINE_TEXT', 'WEB_TEXT', 'REPLY'])
		if (!env[v])
			throw new Error(`${v} is not set`);
	const browser = await launch();
	try {
		return await runChecks(browser, () => run(browser),
		    { errors, errorsCheck: 'no script errors' });
	} finally {
		input.close();
	}
}

exitWith(main);
