// What the browser scripts (console.mjs, webchat.mjs, reports.mjs) share:
// their output, checks, waiting, TOTP codes, chromium and its pages,
// screenshots, and the run itself. One copy, so that the lines the .t files
// parse cannot drift apart between the scripts.
//
// The output is one line per check: "ok <what>" or "not ok <what>: <why>",
// and "info <text>" for notes.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const env = process.env;
export const SHOTS = env.SHOTS || 'build/screenshots';

// A failed critical check: ends the run (see runChecks).
export class Abort extends Error {}

// One line of output, however long or multi-line what it says.
export function line(s) {
	return String(s).replace(/\s+/g, ' ').slice(0, 300);
}

export function ok(name) { console.log(`ok ${name}`); }
export function notOk(name, why) { console.log(`not ok ${name}: ${line(why)}`); }
export function info(text) { console.log(`info ${line(text)}`); }

// One check: fn resolves (anything but false) or throws. A critical check
// that fails ends the run.
export async function check(name, fn, critical) {
	let why = null;
	try {
		if ((await fn()) === false)
			why = 'the condition did not hold';
	} catch (e) {
		why = e && e.message ? e.message.split('\n')[0] : String(e);
	}
	if (why === null) {
		ok(name);
		return true;
	}
	notOk(name, why);
	if (critical)
		throw new Abort(name);
	return false;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn every `every` ms until it returns something truthy; throws with
// what it saw last.
export async function until(fn, ms, what, every = 100) {
	const end = Date.now() + ms;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last)
				return last;
		} catch (e) {
			last = e.message;
		}
		if (Date.now() > end)
			throw new Error(`${what || 'condition'} not met within ${ms} ms` +
			    (last !== undefined && last !== false ? ` (last: ${line(JSON.stringify(last))})` : ''));
		await sleep(every);
	}
}

// A code of the next 30-second step that this account has not used yet:
// the server accepts each step once, and every run signs in anew. The
// step used is kept beside the secret.
export async function freshCode(secretFile) {
	const secret = fs.readFileSync(secretFile, 'utf8').trim();
	const stepFile = secretFile + '.step';
	const last = fs.existsSync(stepFile) ? Number(fs.readFileSync(stepFile, 'utf8')) : 0;
	for (;;) {
		const step = Math.floor(Date.now() / 30000) + 1;
		if (step > last) {
			fs.writeFileSync(stepFile, String(step));
			return execFileSync('oathtool', ['--totp', '-b', secret, '--now', '@' + step * 30],
			    { encoding: 'utf8' }).trim();
		}
		await sleep(1000);
	}
}

// The code of now, or of `ahead` seconds from now, for a secret just shown.
export function totp(secret, ahead) {
	const args = ['--totp', '-b', secret];
	if (ahead)
		args.push('--now', '@' + (Math.floor(Date.now() / 1000) + ahead));
	return execFileSync('oathtool', args, { encoding: 'utf8' }).trim();
}

// A person writes on LINE (the simulator at SIM_URL); returns its answer.
export async function simSend(user, text) {
	const r = await fetch(env.SIM_URL + '/sim/send', {
		method: 'POST', headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ user, type: 'text', text }),
	});
	const body = await r.text();
	if (r.status !== 200)
		throw new Error(`/sim/send answered ${r.status}: ${body}`);
	return JSON.parse(body);
}

// Debian's chromium, not a downloaded one (playwright-core brings none).
export async function launch() {
	fs.mkdirSync(SHOTS, { recursive: true });
	return chromium.launch({ executablePath: '/usr/bin/chromium',
	    args: ['--no-sandbox'], headless: true });
}

// A context of its own (its own cookies): a 1280x800 window in Japanese on
// Japan's time unless options say otherwise. Every page opened in it, a
// second tab too, is watched: its script errors and console errors go to
// watch.errors (after "<name>: " if watch.name is given), but for the
// console lines watch.ignore matches (answers a test judges itself); with
// watch.csp, CSP violations go there instead. DEBUG echoes the console.
export async function newContext(browser, options, watch) {
	const { errors, name, csp, ignore = /status of (401|409|400)/ } = watch;
	const from = name ? `${name}: ` : '';
	const context = await browser.newContext({ viewport: { width: 1280, height: 800 },
	    locale: 'ja-JP', timezoneId: 'Asia/Tokyo', ...options });
	context.on('page', (page) => {
		page.on('pageerror', (e) => errors.push(from + e.message));
		if (env.DEBUG)
			page.on('console', (m) => info(`${from}page: ${m.text()}`));
		page.on('console', (m) => {
			const t = m.text();
			if (csp && /Content.Security.Policy|CSP violation/i.test(t))
				csp.push(from + t);
			else if (m.type() === 'error' && !ignore.test(t))
				errors.push(from + t);
		});
	});
	return context;
}

// Screenshots into SHOTS as <prefix><name>.png, or numbered
// (<prefix>NN-<name>.png) so that a listing keeps their order; a note is
// added to the info line. shot.numberFrom(n) lets a part of a script take
// numbers of its own.
export function screenshots(prefix, numbered) {
	let n = 0;
	async function shot(page, name, fullPage, note) {
		const no = numbered ? `${String(++n).padStart(2, '0')}-` : '';
		const file = path.join(SHOTS, `${prefix}${no}${name}.png`);
		await page.screenshot({ path: file, fullPage: !!fullPage });
		info(`screenshot ${file}${note ? ' ' + note : ''}`);
	}
	shot.numberFrom = (k) => { n = k; };
	return shot;
}

// Throws if the page is wider than the window. Resolves to undefined, which
// a check counts as passed (a console check tests for exactly that).
export async function noOverflow(page, width) {
	const w = await page.evaluate(() => document.documentElement.scrollWidth);
	if (w > width)
		throw new Error(`the page is ${w} px wide in a ${width} px window`);
}

// Runs the checks in body, then closes the browser. A failed critical
// check ends them: the `stopped` note says so, and the page last used
// (o.last()) is kept as a screenshot with o.shot. The errors collected in
// o.errors meanwhile are one more check, named o.errorsCheck. Resolves to
// the exit code: 1 if the checks stopped early.
export async function runChecks(browser, body, o) {
	let aborted = false;
	try {
		try {
			await body();
		} catch (e) {
			if (!(e instanceof Abort))
				throw e;
			aborted = true;
			info(o.stopped || 'stopped after a failed step');
			const last = o.last ? o.last() : null;
			if (o.shot && last && !last.isClosed())
				await o.shot(last, 'stopped', o.fullPage).catch(() => null);
		}
		await check(o.errorsCheck, () => {
			if (o.errors.length > 0)
				throw new Error(o.errors.join(' | '));
			return true;
		});
	} finally {
		await browser.close();
	}
	return aborted ? 1 : 0;
}

// The script's exit: main's code, or 2 (and a failed check) if it crashed.
export function exitWith(main) {
	main().then((code) => process.exit(code), (e) => {
		console.log(`not ok the browser script crashed: ${line(e && e.stack || e)}`);
		process.exit(2);
	});
}
