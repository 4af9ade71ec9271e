// The reports view of the web console in a real browser (Debian's chromium,
// driven by playwright-core), against the real madoguchid on its test clock.
// Run by tests/integration/83_reports_browser.t: `node tests/browser/reports.mjs`
// with BASE_URL, SIM_URL, SHOTS, DL_DIR (where downloads are kept), the supervisor's
// LOGIN, PASSWORD and SECRET_FILE, a counsellor's (LOGIN_C, PASSWORD_C,
// SECRET_FILE_C) and an admin's (LOGIN_A, PASSWORD_A, SECRET_FILE_A), all
// enrolled already; and what the Perl side counted: MONTH, CONSULTATIONS,
// PEOPLE, BUSIEST (a day), DAYS (in the month), WORKLOG_DAY, ON_DUTY (a name).
//
// Prints one line per check: "ok <what>" or "not ok <what>: <why>", and
// "info <text>" for notes. Exits non-zero only when it could not go on.
import fs from 'node:fs';
import path from 'node:path';
import {
	check, exitWith, freshCode, info, launch, newContext, noOverflow, runChecks, screenshots,
	simSend, sleep, until,
} from './harness.mjs';

const env = process.env;
const BASE = env.BASE_URL;
const DL = env.DL_DIR;
const NOTE_1 = '夜間の相談が続いた。\n明日の朝、引き継ぎで共有する。';
const NOTE_2 = '別のタブから書いた記事';
const NOTE_3 = '古い版から書いた記事';
const USER_CRISIS = 'U' + 'e0e1e2e3e4e5e6e7'.repeat(2);

const shot = screenshots('reports-', true);

async function signIn(page, login, password, secretFile) {
	await page.goto(BASE + '/console/');
	await page.getByTestId('login-id').waitFor({ state: 'visible', timeout: 10000 });
	await page.getByTestId('login-id').fill(login);
	await page.getByTestId('login-password').fill(password);
	await page.getByTestId('login-submit').click();
	await page.getByTestId('totp-code').waitFor({ state: 'visible', timeout: 10000 });
	await page.getByTestId('totp-code').fill(await freshCode(secretFile));
	await page.getByTestId('totp-submit').click();
}

async function text(page, sel) {
	return ((await page.locator(sel).first().textContent()) || '').trim();
}

// The report on screen: its title holds the period as the page shows it.
async function reportShown(page, kind, period) {
	await until(async () => {
		const h = await page.evaluate(() => window.location.hash);
		return h === `#reports/${kind}/${period}` &&
		    await page.locator('#rp-doc').isVisible() &&
		    /表示しました|Showing/.test(await text(page, '#rp-status'));
	}, 10000, `the ${kind} report of ${period}`);
	return true;
}

// Clicks a download button; returns {name, bytes} of what the browser saved.
async function downloaded(page, click, keep) {
	const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), click()]);
	const name = dl.suggestedFilename();
	const file = path.join(DL, keep || name);
	await dl.saveAs(file);
	return { name, bytes: fs.readFileSync(file), file };
}

async function barHeights(page, chartKey, series) {
	return page.$$eval(`figure[data-chart="${chartKey}"] g.rp-bars`, (gs, s) => gs.map((g) => ({
		label: g.getAttribute('data-label'),
		h: Number(g.querySelector(`rect[data-series="${s}"]`).getAttribute('height')),
	})), series);
}

// Each chart drawn at the width it is shown at (its words at their size).
function chartsAtWidth(page) {
	return page.$$eval('figure[data-chart] svg', (ss) => ss.every((s) =>
	    Math.abs(s.getBoundingClientRect().width - Number(s.getAttribute('width'))) < 2));
}

async function run(newPage) {
	const page = await newPage();
	await signIn(page, env.LOGIN, env.PASSWORD, env.SECRET_FILE);
	await check('the supervisor signs in to the desk', async () => {
		await until(() => page.locator('#view-desk').isVisible(), 10000, 'the desk view');
		// the queue's answer sets the server's clock in the page
		await page.getByTestId('queue-item').first().waitFor({ timeout: 10000 });
		return true;
	}, true);
	await check('the navigation offers 報告 to a supervisor', async () =>
	    await page.locator('#nav-reports').isVisible() &&
	    (await text(page, '#nav-reports')) === '報告');

	await page.locator('#nav-reports').click();
	await check('報告 opens the monthly report of the previous month (on the server\'s clock)', async () => {
		await reportShown(page, 'monthly', env.MONTH);
		return await page.locator('#rp-month').inputValue() === env.MONTH &&
		    await page.locator('#rp-kind').inputValue() === 'monthly';
	}, true);
	await check('the desk is hidden, the navigation marks 報告 as the current page', async () =>
	    !(await page.locator('#view-desk').isVisible()) &&
	    await page.locator('#nav-reports').getAttribute('aria-current') === 'page');

	// Chosen by hand, as a person would: the month, then 表示.
	await page.locator('#rp-month').fill(env.MONTH);
	await page.locator('#rp-form button').click();
	await check(`choosing ${env.MONTH} shows its monthly report`, () =>
	    reportShown(page, 'monthly', env.MONTH), true);
	await check('the title names the month', async () =>
	    (await text(page, '#rp-title')).includes('月次報告') &&
	    (await text(page, '#rp-title')).includes(env.MONTH.replace(/^(\d+)-0?(\d+)$/, '$1年$2月')));
	await check(`the summary shows ${env.CONSULTATIONS} consultations`, async () =>
	    await text(page, '[data-key="consultations"] dd') === env.CONSULTATIONS);
	await check(`the summary shows ${env.PEOPLE} people consulted`, async () =>
	    await text(page, '[data-key="people"] dd') === env.PEOPLE);
	await check('a share shows as a percentage, a missing figure as —', async () => {
		const share = await text(page, '[data-key="within_deadline_share"] dd');
		const ack = await text(page, '[data-key="crisis_ack_median"] dd');
		if (!/^(\d+(\.\d)?%|—)$/.test(share) || ack !== '—')
			throw new Error(`share "${share}", crisis_ack_median "${ack}"`);
		return true;
	});
	await check(`the by-day chart has ${env.DAYS} bars of each series`, async () => {
		const c = await barHeights(page, 'by_day', 'consultations');
		const m = await barHeights(page, 'by_day', 'messages');
		return c.length === Number(env.DAYS) && m.length === Number(env.DAYS);
	});
	await check(`the bar of the busiest day (${env.BUSIEST}) is the tallest`, async () => {
		for (const s of ['consultations', 'messages']) {
			const bars = await barHeights(page, 'by_day', s);
			const top = bars.reduce((a, b) => (b.h > a.h ? b : a));
			if (top.label !== env.BUSIEST || bars.filter((b) => b.h === top.h).length !== 1)
				throw new Error(`${s}: the tallest is ${top.label} (${top.h})`);
		}
		return true;
	});
	await check('the by-hour chart has 24 bars, the by-weekday chart 7', async () =>
	    (await barHeights(page, 'by_hour', 'messages')).length === 24 &&
	    (await barHeights(page, 'by_weekday', 'messages')).length === 7);
	await check('each chart is an SVG image with a title, and its numbers are in a table', async () => {
		const charts = await page.$$eval('figure[data-chart] svg', (ss) => ss.map((s) => {
			const id = s.getAttribute('aria-labelledby');
			const title = id && document.getElementById(id);
			return { role: s.getAttribute('role'), title: title ? title.textContent : '',
			    key: s.closest('figure').getAttribute('data-chart') };
		}));
		if (charts.length !== 3 || charts.some((c) => c.role !== 'img' || !c.title))
			throw new Error(JSON.stringify(charts));
		for (const c of charts)
			if (await page.locator(`[data-table="${c.key}"] table`).count() !== 1)
				throw new Error(`no table ${c.key}`);
		const row = page.locator(`[data-table="by_day"] tbody tr`).filter({ hasText: env.BUSIEST });
		return await row.count() === 1;
	});
	await check('the notes are at the bottom', async () =>
	    await page.locator('#rp-notes li').count() > 0);
	await check('no style attribute anywhere in the view (the CSP allows none)', async () =>
	    await page.locator('#view-reports [style]').count() === 0);
	await check('the view fits 1280 px', () => noOverflow(page, 1280));
	await shot(page, 'monthly');
	await shot(page, 'monthly-full', true);

	// ---- files ----
	await check('CSV: the server\'s file name, UTF-8 with the BOM', async () => {
		const f = await downloaded(page, () => page.locator('#rp-csv').click());
		info(`CSV saved as ${f.name}, ${f.bytes.length} bytes`);
		return f.name === `madoguchi-monthly-${env.MONTH}.csv` &&
		    f.bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])) &&
		    f.bytes.toString('utf8').includes('相談件数');
	});
	await check('the status says the file was saved', async () =>
	    (await text(page, '#rp-status')).includes(`madoguchi-monthly-${env.MONTH}.csv`));
	await check('xlsx: the server\'s file name, a zip (PK)', async () => {
		const f = await downloaded(page, () => page.locator('#rp-xlsx').click());
		return f.name === `madoguchi-monthly-${env.MONTH}.xlsx` &&
		    f.bytes.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'));
	});

	// ---- the annual and LINE-use reports, generically ----
	await page.locator('#rp-kind').selectOption('annual');
	await check('the annual report: the fiscal year, twelve months in its chart', async () => {
		const fy = await page.locator('#rp-year').inputValue();
		await reportShown(page, 'annual', fy);
		return (await barHeights(page, 'by_month', 'consultations')).length === 12 &&
		    fy === env.FISCAL_YEAR;
	});
	await page.locator('#rp-kind').selectOption('line-use');
	await check('the LINE-use report shows its figures and tables', async () => {
		await reportShown(page, 'line-use', env.MONTH);
		return await page.locator('[data-key="requests_sent"] dd').count() === 1 &&
		    await page.locator('[data-table="templates"] table').count() === 1 &&
		    await page.locator('figure[data-chart]').count() === 0;
	});

	// ---- the work log ----
	await page.locator('#rp-kind').selectOption('worklog');
	await check('the work log opens on today (on the server\'s clock)', async () => {
		await reportShown(page, 'worklog', env.TODAY);
		return true;
	});
	await page.locator('#rp-day').fill(env.WORKLOG_DAY);
	await page.locator('#rp-day').press('Enter');
	await check(`the work log of ${env.WORKLOG_DAY} shows ${env.ON_DUTY} on duty`, async () => {
		await reportShown(page, 'worklog', env.WORKLOG_DAY);
		return (await text(page, '[data-table="staff"] tbody')).includes(env.ON_DUTY);
	}, true);
	await check('no note yet; the supervisor may write one', async () =>
	    await text(page, '#rp-note-text') === 'まだ記事はありません。' &&
	    await page.locator('#rp-note-input').isVisible());
	await page.locator('#rp-note-input').fill(NOTE_1);
	await page.locator('#rp-note-save').click();
	await check('the note is saved and shown', async () => {
		await until(async () => (await text(page, '#rp-note-saved')).startsWith('保存しました'), 5000, 'saved');
		await until(async () => (await page.locator('#rp-note-text').innerText()) === NOTE_1, 5000,
		    'the note in the document');
		return (await text(page, '#rp-note-by')).includes(env.ON_DUTY);
	});
	await shot(page, 'worklog', true);
	await page.reload();
	await check('the note survives a reload (the URL keeps the view)', async () => {
		await reportShown(page, 'worklog', env.WORKLOG_DAY);
		return await page.locator('#rp-note-text').innerText() === NOTE_1 &&
		    await page.locator('#rp-note-input').inputValue() === NOTE_1;
	});

	// A second tab of the same supervisor saves first; this one is stale.
	const other = await page.context().newPage();
	await other.goto(BASE + `/console/#reports/worklog/${env.WORKLOG_DAY}`);
	await check('a second tab opens the same work log', () =>
	    reportShown(other, 'worklog', env.WORKLOG_DAY));
	await other.locator('#rp-note-input').fill(NOTE_2);
	await other.locator('#rp-note-save').click();
	await until(async () => (await text(other, '#rp-note-saved')).startsWith('保存しました'), 5000,
	    'the second tab saved');
	await other.close();
	await page.locator('#rp-note-input').fill(NOTE_3);
	await page.locator('#rp-note-save').click();
	await check('a save from the older version says someone else saved, and reloads', async () => {
		await until(async () => (await text(page, '#rp-note-error'))
		    .includes('ほかの人が先に記事を保存しました'), 5000, 'the stale message');
		await until(async () => (await page.locator('#rp-note-text').innerText()) === NOTE_2, 5000,
		    'the other tab\'s note');
		return await page.locator('#rp-note-input').inputValue() === NOTE_3;
	});
	await shot(page, 'worklog-stale');

	// ---- the month's logs as a ZIP ----
	await check('the export form: a month and a password typed twice, never remembered', async () => {
		const types = await page.$$eval('#rp-zip-form input[type="password"]', (is) =>
		    is.map((i) => i.getAttribute('autocomplete')));
		return types.length === 2 && types.every((a) => a === 'new-password') &&
		    await page.locator('#rp-zip-month').inputValue() === env.MONTH;
	});
	await page.locator('#rp-zip-pw').fill('short');
	await page.locator('#rp-zip-pw2').fill('short');
	await page.locator('#rp-zip-go').click();
	await check('a password under 8 characters is refused in the page', async () =>
	    (await text(page, '#rp-zip-error')).includes('8文字以上'));
	await page.locator('#rp-zip-pw').fill(env.ZIP_PASSWORD);
	await page.locator('#rp-zip-pw2').fill(env.ZIP_PASSWORD + 'x');
	await page.locator('#rp-zip-go').click();
	await check('two different passwords are refused', async () =>
	    (await text(page, '#rp-zip-error')).includes('一致していません'));
	await page.locator('#rp-zip-pw').fill(env.ZIP_PASSWORD);
	await page.locator('#rp-zip-pw2').fill(env.ZIP_PASSWORD);
	await check('the ZIP export downloads a zip named by the server', async () => {
		const f = await downloaded(page, () => page.locator('#rp-zip-go').click(),
		    'worklog.zip');
		info(`zip ${f.file} (${f.name}, ${f.bytes.length} bytes)`);
		return f.name === `madoguchi-worklog-${env.MONTH}.zip` &&
		    f.bytes.subarray(0, 2).toString('latin1') === 'PK';
	});
	await check('the password fields are empty afterwards', async () =>
	    await page.locator('#rp-zip-pw').inputValue() === '' &&
	    await page.locator('#rp-zip-pw2').inputValue() === '' &&
	    await text(page, '#rp-zip-error') === '');

	// ---- English ----
	await page.getByTestId('lang-toggle').click();
	await check('English relabels the view', async () => {
		await until(async () => await text(page, '#rp-heading') === 'Reports', 3000, 'Reports');
		const t = await text(page, '#rp-title');
		const staffCaption = await text(page, '[data-table="staff"] caption');
		const navs = [await text(page, '#nav-main'), await text(page, '#nav-reports')];
		if (!t.startsWith('Daily work log') || staffCaption !== 'Staff on duty' ||
		    navs.join('|') !== 'Desk|Reports')
			throw new Error(`${t} / ${staffCaption} / ${navs}`);
		return await text(page, '#rp-note-h') === 'Supervisor\'s note';
	});
	await page.locator('#rp-kind').selectOption('monthly');
	await check('in English, figures and charts too', async () => {
		await reportShown(page, 'monthly', env.MONTH);
		return (await text(page, '[data-key="consultations"] dt')).startsWith('Consultations') &&
		    (await text(page, 'figure[data-chart="by_weekday"] figcaption')).includes('Messages received') &&
		    (await text(page, '[data-table="by_weekday"] tbody th')) === 'Sun';
	});
	await shot(page, 'monthly-en');
	await page.getByTestId('lang-toggle').click();
	await check('back in Japanese, the status line too', async () => {
		await until(async () => await text(page, '#rp-heading') === '報告', 3000, '報告');
		return (await text(page, '#rp-status')) === '月次報告（2026年11月）を表示しました。';
	});

	// ---- narrow ----
	await page.setViewportSize({ width: 800, height: 900 });
	await check('at 800 px the view fits, the charts one above the other, redrawn to their width', async () => {
		await until(() => chartsAtWidth(page), 3000, 'the charts drawn at their width');
		await noOverflow(page, 800);
		const a = await page.locator('figure[data-chart="by_hour"]').boundingBox();
		const b = await page.locator('figure[data-chart="by_weekday"]').boundingBox();
		return b.y >= a.y + a.height - 1 || a.y >= b.y + b.height - 1;
	});
	await shot(page, 'monthly-800');
	await page.locator('#rp-charts').scrollIntoViewIfNeeded();
	await shot(page, 'monthly-800-charts');
	await page.locator('[data-table="referrals"]').scrollIntoViewIfNeeded();
	await shot(page, 'monthly-800-tables');

	// ---- printed ----
	await page.setViewportSize({ width: 1280, height: 800 });
	await until(() => chartsAtWidth(page), 3000, 'the charts redrawn at 1280 px');
	await page.emulateMedia({ media: 'print' });
	await check('printed, the report stands alone: no header, form or buttons', async () =>
	    !(await page.locator('.topbar').isVisible()) && !(await page.locator('#rp-form').isVisible()) &&
	    !(await page.locator('#rp-csv').isVisible()) && await page.locator('#rp-doc').isVisible() &&
	    await page.locator('[data-table="by_day"] table').isVisible());
	await shot(page, 'print', true);
	await page.emulateMedia({ media: 'screen' });

	// ---- a crisis while the supervisor reads reports ----
	await simSend(USER_CRISIS, 'もう死にたい。今日で終わりにする');
	await check('a crisis alert still shows, over the reports, within 5 s', async () => {
		await page.getByTestId('crisis-banner').waitFor({ state: 'visible', timeout: 5000 });
		return await page.locator('#view-reports').isVisible();
	});
	await shot(page, 'crisis-over-reports');
	await page.getByTestId('crisis-alert-open').first().click();
	await check('相談を開く in the banner goes to the desk, the conversation open', async () => {
		await until(() => page.locator('#view-desk').isVisible(), 5000, 'the desk');
		await until(async () => (await page.locator('#history [data-direction="in"]').count()) > 0,
		    5000, 'the history');
		return await page.evaluate(() => window.location.hash) === '' &&
		    await page.locator('#nav-main').getAttribute('aria-current') === 'page';
	});
	await page.locator('#nav-reports').click();
	await check('and 報告 shows the report left open, without asking again', async () => {
		await until(() => page.locator('#view-reports').isVisible(), 5000, 'the reports');
		return (await text(page, '[data-key="consultations"] dd')) === env.CONSULTATIONS;
	});

	// ---- back to the desk ----
	await page.locator('#nav-main').click();
	await check('相談対応 goes back to the desk', async () => {
		await until(() => page.locator('#view-desk').isVisible(), 5000, 'the desk');
		return await page.getByTestId('queue-item').count() > 0 &&
		    await page.evaluate(() => window.location.hash) === '';
	});
	await page.close();

	// ---- a counsellor ----
	const cp = await newPage();
	await signIn(cp, env.LOGIN_C, env.PASSWORD_C, env.SECRET_FILE_C);
	await check('a counsellor\'s console shows no reports entry', async () => {
		await until(() => cp.locator('#view-desk').isVisible(), 10000, 'the desk');
		return !(await cp.locator('#nav-reports').isVisible()) &&
		    !(await cp.locator('#nav').isVisible());
	});
	await cp.goto(BASE + '/console/#reports/monthly/' + env.MONTH);
	await check('nor does #reports open them for a counsellor', async () => {
		await until(() => cp.locator('#view-desk').isVisible(), 10000, 'the desk');
		await sleep(500);
		return !(await cp.locator('#view-reports').isVisible());
	});
	await cp.close();

	// ---- an admin ----
	const ap = await newPage();
	await signIn(ap, env.LOGIN_A, env.PASSWORD_A, env.SECRET_FILE_A);
	await check('an admin reaches the reports from the admin page', async () => {
		await until(() => ap.locator('#view-admin').isVisible(), 10000, 'the admin page');
		await ap.locator('#admin-reports').click();
		await until(() => ap.locator('#view-reports').isVisible(), 10000, 'the reports');
		// No queue tells an admin's page the server's (test) clock: choose.
		await ap.locator('#rp-month').fill(env.MONTH);
		await ap.locator('#rp-form button').click();
		await reportShown(ap, 'monthly', env.MONTH);
		return await text(ap, '[data-key="consultations"] dd') === env.CONSULTATIONS &&
		    await text(ap, '#nav-main') === '管理者メニュー';
	});
	await ap.locator('#rp-kind').selectOption('worklog');
	await ap.locator('#rp-day').fill(env.WORKLOG_DAY);
	await ap.locator('#rp-form button').click();
	await check('an admin reads the note but has no box to write it', async () => {
		await reportShown(ap, 'worklog', env.WORKLOG_DAY);
		return await ap.locator('#rp-note-text').innerText() === NOTE_2 &&
		    !(await ap.locator('#rp-note-input').isVisible());
	});
	await ap.close();
}

async function main() {
	const browser = await launch();
	const errors = [];
	let last = null;
	// Each page in its own context (its own cookies), saving what it downloads.
	async function newPage() {
		const context = await newContext(browser, { acceptDownloads: true }, { errors });
		return (last = await context.newPage());
	}
	return runChecks(browser, () => run(newPage), { last: () => last, shot, fullPage: true,
	    errors, errorsCheck: 'no script errors or CSP violations' });
}

exitWith(main);
