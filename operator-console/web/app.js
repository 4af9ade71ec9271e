/*
 * app.js - the counsellors' web console: sign-in (password, TOTP enrolment
 * or code, new password), the queue, the open conversation, live updates
 * over Server-Sent Events. Built against operator-console/API.md, with no
 * framework and nothing from elsewhere: the page's CSP allows only this
 * origin's files.
 *
 * Everything a user or a counsellor wrote is put on the page with
 * textContent, never as HTML.
 */
(function () {
	"use strict";

	var I18N = window.MADOGUCHI_I18N;
	var LANG_KEY = "madoguchi.lang";
	var REC_KEY = "madoguchi.record";	/* the record panel open: "1" */
	var PRESENCE_KEY = "madoguchi.presence.";	/* + staff id, per tab */
	var TZ = "Asia/Tokyo";
	var DEBOUNCE_MS = 100;
	var TICK_MS = 30000;
	var FIELD_MAX = 2048;		/* bytes: an escalation step's each text */
	var REASON_MAX = 4096;		/* bytes: a crisis level's reason */
	var IDLE_WARN_MS = 2 * 60 * 1000;
	var NEAR_BOTTOM_PX = 80;
	var WEEKDAYS = {
		ja: ["日", "月", "火", "水", "木", "金", "土"],
		en: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
	};

	function $(id) { return document.getElementById(id); }

	var state = {
		lang: "ja",
		csrf: null,
		staff: null,
		idleMinutes: 30,
		lastActivity: Date.now(),
		idleChecking: false,
		idleRetryAt: 0,
		view: null,
		mainStarted: false,
		skew: 0,		/* server's now minus Date.now(), in ms */
		queue: [],
		queueLoaded: false,
		selectedId: null,
		openId: null,
		conv: null,		/* the last answer of GET /api/conversations/:id */
		convKey: null,		/* its history, as JSON, as last drawn */
		convSeq: 0,
		convMissing: false,
		seenEntries: null,	/* entry keys of the open conversation */
		knownPreview: null,	/* conversation id -> preview.at */
		presence: "unknown",
		drafts: {},		/* conversation id -> unsent reply */
		noteDrafts: {},
		sending: false,
		noting: false,
		claiming: false,
		es: null,
		esRetry: 0,
		esTimer: null,
		queueRetry: 0,
		queueRetryTimer: null,
		tickTimer: null,
		idleTimer: null,
		error: null,		/* {key, params, background} */
		desk: null,		/* GET /api/desk */
		tab: "queue",		/* or "deadlines" (supervisors) */
		deadlines: [],
		dlLoaded: false,
		nickShown: "",
		closeFor: null,
		closeSeen: 0,
		rec: null,		/* the case record shown */
		recContact: null,
		recSeq: 0,
		recMissing: false,
		recBase: null,		/* its form's values, as JSON, as loaded */
		recMine: null,		/* the counsellor's, after a conflict */
		recDrafts: {},		/* contact id -> {values, version} */
		recOpen: true,
		alerts: [],		/* supervisors: unacknowledged, one per conversation */
		alertsSeq: 0,
		acking: {},		/* conversation id -> true while acknowledging */
		esc: null,		/* {id, level, r}: the open conversation's escalation record */
		escSeq: 0,
		escStale: false,
		levelFor: null,
		exFor: null,		/* the conversation the exception dialog is for */
		exTimer: null,		/* reads again when a running exception ends */
		rp: { doc: null, seq: 0, ready: false, noteVersion: 0, noteDay: null }
	};

	/* ---- words ---- */

	function t(key, params) {
		var dict = I18N[state.lang] || I18N.ja;
		var s = Object.prototype.hasOwnProperty.call(dict, key) ? dict[key] :
		    I18N.ja[key];

		if (s === undefined)
			return key;
		if (params)
			s = s.replace(/\{(\w+)\}/g, function (m, k) {
				return Object.prototype.hasOwnProperty.call(params, k) ?
				    String(params[k]) : m;
			});
		return s;
	}

	function has(key) {
		return Object.prototype.hasOwnProperty.call(I18N.ja, key);
	}

	function storedLang() {
		try {
			var v = window.localStorage.getItem(LANG_KEY);
			return v === "ja" || v === "en" ? v : null;
		} catch (e) {
			return null;
		}
	}

	function setLang(lang, remember) {
		state.lang = lang === "en" ? "en" : "ja";
		if (remember) {
			try {
				window.localStorage.setItem(LANG_KEY, state.lang);
			} catch (e) { /* private mode: this tab only */ }
		}
		applyStaticText();
		renderAll();
	}

	function applyStaticText() {
		var i, el, nodes;

		document.documentElement.lang = state.lang;
		nodes = document.querySelectorAll("[data-i18n]");
		for (i = 0; i < nodes.length; i++) {
			el = nodes[i];
			el.textContent = t(el.getAttribute("data-i18n"));
		}
		nodes = document.querySelectorAll("[data-i18n-label]");
		for (i = 0; i < nodes.length; i++) {
			el = nodes[i];
			el.setAttribute("aria-label", t(el.getAttribute("data-i18n-label")));
		}
		nodes = document.querySelectorAll("[data-i18n-placeholder]");
		for (i = 0; i < nodes.length; i++) {
			el = nodes[i];
			el.setAttribute("placeholder",
			    t(el.getAttribute("data-i18n-placeholder")));
		}
		el = $("lang");
		el.textContent = t("lang.toggle");
		el.setAttribute("lang", state.lang === "ja" ? "en" : "ja");
		el.setAttribute("aria-label", t("lang.toggle_label"));
		updateTitle();
	}

	/* ---- time ---- */

	function serverNow() { return Date.now() + state.skew; }

	function updateSkew(now) {
		var ms = Date.parse(now);

		if (!isNaN(ms))
			state.skew = ms - Date.now();
	}

	function two(n) { return (n < 10 ? "0" : "") + n; }

	var tokyoFormat = null;

	/* The wall clock in Tokyo for an instant: {y, m, d, hh, mm, wd}. */
	function tokyo(ms) {
		var o = {}, parts, i, wd;

		if (tokyoFormat === null)
			tokyoFormat = new Intl.DateTimeFormat("en-US", {
				timeZone: TZ, year: "numeric", month: "numeric",
				day: "numeric", hour: "numeric", minute: "numeric",
				hourCycle: "h23"
			});
		parts = tokyoFormat.formatToParts(new Date(ms));
		for (i = 0; i < parts.length; i++)
			o[parts[i].type] = parts[i].value;
		wd = new Date(Date.UTC(+o.year, +o.month - 1, +o.day)).getUTCDay();
		return { y: +o.year, m: +o.month, d: +o.day,
		    hh: (+o.hour) % 24, mm: +o.minute, wd: wd };
	}

	function fmtTime(iso) {
		var ms = Date.parse(iso), k;

		if (isNaN(ms))
			return "";
		k = tokyo(ms);
		return two(k.hh) + ":" + two(k.mm);
	}

	/* "11/24(火) 20:00", or "Tue 11/24 20:00". */
	function fmtDateTime(iso) {
		var ms = Date.parse(iso), k, wd;

		if (isNaN(ms))
			return "";
		k = tokyo(ms);
		wd = WEEKDAYS[state.lang][k.wd];
		if (state.lang === "en")
			return wd + " " + k.m + "/" + k.d + " " + two(k.hh) + ":" +
			    two(k.mm);
		return k.m + "/" + k.d + "(" + wd + ") " + two(k.hh) + ":" +
		    two(k.mm);
	}

	function fmtDay(ms) {
		var k = tokyo(ms), wd = WEEKDAYS[state.lang][k.wd],
		    year = tokyo(serverNow()).y !== k.y;

		if (state.lang === "en")
			return wd + " " + (year ? k.y + "/" : "") + k.m + "/" + k.d;
		return (year ? k.y + "年" : "") + k.m + "月" + k.d + "日(" + wd + ")";
	}

	function dayKey(ms) {
		var k = tokyo(ms);
		return k.y + "-" + k.m + "-" + k.d;
	}

	function fmtDuration(ms) {
		var mins, h;

		if (!(ms > 0) || ms < 60000)
			return t("dur.lt_minute");
		mins = Math.floor(ms / 60000);
		if (mins < 60)
			return t("dur.minutes", { m: mins });
		h = Math.floor(mins / 60);
		if (h < 24)
			return t("dur.hours", { h: h, m: mins % 60 });
		return t("dur.days", { d: Math.floor(h / 24), h: h % 24 });
	}

	function fmtCountdown(ms) {
		var s = Math.max(0, Math.ceil(ms / 1000));
		return Math.floor(s / 60) + ":" + two(s % 60);
	}

	/* ---- the API ---- */

	function ApiError(status, code, message) {
		this.status = status;
		this.code = code;
		this.message = message || code;
	}

	/*
	 * One call: cookies of this origin, the CSRF token on every change,
	 * bodies as JSON. Resolves with the answer's object; rejects with an
	 * ApiError whose code is the server's, or "network", "not_found".
	 * o.bg marks a read the page makes by itself (after a live event, on
	 * the timer, a retry): the server does not count it as activity, nor
	 * does the idle countdown here. o.file: a file is wanted, and given as
	 * {blob, disposition}.
	 */
	function api(method, path, body, o) {
		var headers = { "Accept": "application/json" };
		var opts = { method: method, credentials: "same-origin",
		    cache: "no-store", headers: headers };

		o = o || {};
		if (o.bg)
			headers["X-Madoguchi-Background"] = "1";
		if (method !== "GET")
			headers["X-CSRF-Token"] = state.csrf || "";
		if (body !== undefined) {
			headers["Content-Type"] = "application/json";
			opts.body = JSON.stringify(body);
		}
		return window.fetch(path, opts).then(function (res) {
			if (o.file && res.ok) {
				state.lastActivity = Date.now();
				return res.blob().then(function (b) {
					return { blob: b, disposition:
					    res.headers.get("Content-Disposition") };
				});
			}
			return res.text().then(function (text) {
				var data = null, code;

				try {
					data = text ? JSON.parse(text) : {};
				} catch (e) {
					data = null;
				}
				if (res.status !== 401 && !o.bg)
					state.lastActivity = Date.now();
				if (res.ok) {
					if (data && typeof data.csrf === "string")
						state.csrf = data.csrf;
					return data || {};
				}
				code = data && typeof data.error === "string" ?
				    data.error : "http_" + res.status;
				/* Unknown paths answer {"error": "<English>"}. */
				if (res.status === 404 || res.status === 405)
					code = "not_found";
				else if (res.status === 401 && code !== "bad_credentials" &&
				    code !== "bad_code")
					code = "signed_out";
				/*
				 * A stale token (another tab stepped up and
				 * replaced the cookie): fetch the current one and
				 * try once more.
				 */
				if (code === "csrf" && !o.retried && state.csrf !== null)
					return api("GET", "/api/session").then(function (s) {
						applySession(s);
						return api(method, path, body, { retried: true,
						    file: o.file });
					});
				throw new ApiError(res.status, code,
				    data && data.message);
			});
		}, function () {
			throw new ApiError(0, "network");
		});
	}

	/* ---- errors and announcements ---- */

	/* "err.<ctx>.<code>" where a code means different things by step. */
	function errorKey(code, ctx) {
		if (ctx && has("err." + ctx + "." + code))
			return "err." + ctx + "." + code;
		return has("err." + code) ? "err." + code : "err.unknown";
	}

	/* A banner above the desk takes room: the newest stays in view. */
	function keepEnd(fn) {
		var h = $("history"),
		    atEnd = h.scrollHeight - h.scrollTop - h.clientHeight < NEAR_BOTTOM_PX;

		fn();
		if (atEnd)
			h.scrollTop = h.scrollHeight;
	}

	function showError(code, ctx, background) {
		var key = errorKey(code, ctx);

		state.error = { key: key, params: { code: code },
		    background: !!background };
		renderError();
	}

	function clearError(onlyBackground) {
		if (onlyBackground && (state.error === null || !state.error.background))
			return;
		state.error = null;
		renderError();
	}

	function renderError() {
		keepEnd(function () {
			$("error").textContent = state.error === null ? "" :
			    t(state.error.key, state.error.params);
		});
	}

	var announceTimer = null;

	function announce(text) {
		var live = $("live");

		live.textContent = "";
		if (announceTimer !== null)
			clearTimeout(announceTimer);
		announceTimer = setTimeout(function () {
			announceTimer = null;
			live.textContent = text;
		}, 60);
	}

	/*
	 * What every caller does with a failure it does not handle itself.
	 * Returns true when the failure took the user elsewhere.
	 */
	function fail(e, ctx, background) {
		var code = e && e.code ? e.code : "unknown";

		if (code === "signed_out") {
			goLogin("signed_out");
			return true;
		}
		if (code === "sign_in_incomplete") {
			boot();
			return true;
		}
		showError(code, ctx, background);
		return false;
	}

	/* ---- views ---- */

	var VIEWS = ["loading", "login", "code", "password", "desk", "admin",
	    "reports"];

	function showView(name) {
		var i, v, slot, signedIn = name === "desk" || name === "admin" ||
		    name === "reports";

		for (i = 0; i < VIEWS.length; i++) {
			v = $("view-" + VIEWS[i]);
			v.hidden = VIEWS[i] !== name;
		}
		state.view = name;
		slot = $("view-" + name).querySelector(".error-slot");
		if (slot !== null && $("error").parentNode !== slot)
			slot.appendChild($("error"));
		document.body.setAttribute("data-view", name);
		$("who").hidden = !signedIn;
		$("signout").hidden = !signedIn;
		$("conn").hidden = !signedIn;
		$("presence").hidden = !(name === "desk" || name === "reports" &&
		    isStaff());
		$("nav").hidden = !signedIn || !canReports();
		document.body.classList.toggle("has-nav", !$("nav").hidden);
		if (!signedIn)
			showIdle(false);
		renderHeader();
		renderAlerts();
		renderSound();
		updateTitle();
	}

	function setBusy(btn, busyKey, idleKey, busy) {
		var key = busy ? busyKey : idleKey;

		btn.disabled = busy;
		btn.setAttribute("data-i18n", key);
		btn.textContent = t(key);
		if (busy)
			btn.setAttribute("aria-busy", "true");
		else
			btn.removeAttribute("aria-busy");
	}

	function focusSoon(el) {
		setTimeout(function () {
			if (el && !el.disabled && el.offsetParent !== null)
				el.focus();
		}, 0);
	}

	function updateTitle() {
		var n = 0, i, c;

		if (deskLive()) {
			for (i = 0; i < state.queue.length; i++) {
				c = state.queue[i];
				if (c.assignee === null && c.state !== "closed")
					n++;
			}
		}
		/* A crisis alert shows in the tab's title too: the desk may be behind another window. */
		document.title = (isSupervisor() && deskLive() &&
		    state.alerts.length > 0 ? t("alert.title",
		    { n: state.alerts.length }) : "") + (n > 0 ? "(" + n + ") " : "") +
		    (state.view === "reports" ? t("rp.heading") + " - " : "") +
		    t("app.title");
	}

	/* ---- signing in ---- */

	function applySession(s) {
		var before = state.staff;

		if (s && typeof s.idle_minutes === "number" && s.idle_minutes > 0)
			state.idleMinutes = s.idle_minutes;
		if (s && s.staff) {
			state.staff = s.staff;
			/* Someone else signed in from another tab: start over. */
			if (before && before.id !== s.staff.id && state.mainStarted)
				setTimeout(boot, 0);
			if (storedLang() === null && (s.staff.language === "ja" ||
			    s.staff.language === "en") && s.staff.language !== state.lang)
				setLang(s.staff.language, false);
		}
	}

	function route(next) {
		if (next === "enrol")
			showCode(true);
		else if (next === "totp")
			showCode(false);
		else if (next === "new_password")
			showPassword();
		else
			enterMain();
	}

	/* Where to start: GET /api/session tells. */
	function boot() {
		stopMain();
		showView("loading");
		$("retry").hidden = true;
		return api("GET", "/api/session").then(function (s) {
			applySession(s);
			clearError();
			route(s.next);
		}, function (e) {
			if (e.code === "signed_out") {
				goLogin(null);
				return;
			}
			showError(e.code, "boot");
			$("retry").hidden = false;
			showView("loading");
		});
	}

	/* After a step up: ask where we stand now. */
	function afterStep() {
		return api("GET", "/api/session").then(function (s) {
			applySession(s);
			clearError();
			route(s.next);
		});
	}

	function goLogin(errCode) {
		stopMain();
		state.csrf = null;
		state.staff = null;
		$("login-password").value = "";
		$("totp-code").value = "";
		$("new-password").value = "";
		$("new-password-confirm").value = "";
		showView("login");
		if (errCode)
			showError(errCode, "login");
		else
			clearError();
		focusSoon($("login-id").value ? $("login-password") : $("login-id"));
	}

	function onLogin(ev) {
		var id = $("login-id"), pw = $("login-password"),
		    btn = $("login-submit"), login = id.value.trim();

		ev.preventDefault();
		if (btn.disabled)
			return;
		clearError();
		if (login === "" || pw.value === "") {
			showError("required", "login");
			(login === "" ? id : pw).focus();
			return;
		}
		setBusy(btn, "login.busy", "login.submit", true);
		api("POST", "/api/session", { login: login, password: pw.value })
		    .then(function () {
			pw.value = "";
			return afterStep();
		}).catch(function (e) {
			pw.value = "";
			if (e.code === "signed_out")
				e.code = "bad_credentials";
			fail(e, "login");
			focusSoon(pw);
		}).then(function () {
			setBusy(btn, "login.busy", "login.submit", false);
		});
	}

	/* "１２３" typed with a Japanese input method is "123". */
	function asciiDigits(s) {
		return s.replace(/[\uFF10-\uFF19]/g, function (ch) {
			return String.fromCharCode(ch.charCodeAt(0) - 0xFEE0);
		});
	}

	function showCode(enrol) {
		showView("code");
		$("view-code").classList.toggle("is-enrol", enrol);
		$("enrol-panel").hidden = !enrol;
		$("totp-intro").hidden = enrol;
		$("code-heading").setAttribute("data-i18n",
		    enrol ? "enrol.heading" : "totp.heading");
		$("code-heading").textContent = t(enrol ? "enrol.heading" :
		    "totp.heading");
		$("totp-code").value = "";
		if (enrol)
			loadEnrol();
		focusSoon($("totp-code"));
	}

	function utf8Base64(s) {
		var bytes = new TextEncoder().encode(s), bin = "", i;

		for (i = 0; i < bytes.length; i++)
			bin += String.fromCharCode(bytes[i]);
		return window.btoa(bin);
	}

	/* A whole number of pixels per module keeps the code sharp. */
	function qrSize(svg) {
		var m = /viewBox="0 0 (\d+) /.exec(svg), n = m ? +m[1] : 0;

		if (!(n > 0 && n < 200))
			return 220;
		return n * Math.max(3, Math.floor(232 / n));
	}

	function loadEnrol() {
		var qr = $("enrol-qr"), p = document.createElement("p");

		p.className = "muted";
		p.setAttribute("data-i18n", "enrol.loading");
		p.textContent = t("enrol.loading");
		qr.replaceChildren(p);
		$("enrol-secret").textContent = "";
		$("enrol-uri").hidden = true;
		api("GET", "/api/session/enrol").then(function (r) {
			var img;

			if (state.view !== "code")
				return;
			/* As an image, the SVG cannot run anything. */
			img = document.createElement("img");
			img.className = "qr-img";
			img.width = img.height = qrSize(String(r.svg || ""));
			img.setAttribute("data-i18n-alt", "enrol.qr_alt");
			img.alt = t("enrol.qr_alt");
			img.src = "data:image/svg+xml;base64," +
			    utf8Base64(String(r.svg || ""));
			qr.replaceChildren(img);
			$("enrol-secret").textContent = String(r.secret || "");
			if (typeof r.uri === "string" &&
			    r.uri.indexOf("otpauth://") === 0) {
				$("enrol-uri").href = r.uri;
				$("enrol-uri").hidden = false;
			}
		}, function (e) {
			if (e.code === "already_enrolled") {
				showCode(false);
				return;
			}
			qr.replaceChildren();
			fail(e, "code");
		});
	}

	function onCode(ev) {
		var input = $("totp-code"), btn = $("totp-submit"),
		    code = asciiDigits(input.value).replace(/\s+/g, "");

		ev.preventDefault();
		if (btn.disabled)
			return;
		clearError();
		if (!/^[0-9]{6}$/.test(code)) {
			showError("code_format", "code");
			input.focus();
			return;
		}
		setBusy(btn, "totp.busy", "totp.submit", true);
		api("POST", "/api/session/totp", { code: code }).then(function (r) {
			input.value = "";
			if (r.next === "new_password") {
				clearError();
				showPassword();
				return undefined;
			}
			return afterStep();
		}).catch(function (e) {
			input.value = "";
			if (e.code === "not_enrolled") {
				showCode(true);
				return;
			}
			if (e.code === "already_verified") {
				boot();
				return;
			}
			fail(e, "code");
			focusSoon(input);
		}).then(function () {
			setBusy(btn, "totp.busy", "totp.submit", false);
		});
	}

	function showPassword() {
		showView("password");
		$("pw-username").value = state.staff !== null ? state.staff.login : "";
		$("new-password").value = "";
		$("new-password-confirm").value = "";
		focusSoon($("new-password"));
	}

	function onPassword(ev) {
		var a = $("new-password"), b = $("new-password-confirm"),
		    btn = $("new-password-submit");

		ev.preventDefault();
		if (btn.disabled)
			return;
		clearError();
		if (a.value === "") {
			showError("required", "password");
			a.focus();
			return;
		}
		/* Characters, not UTF-16 units: the server counts code points. */
		if (Array.from(a.value).length < 12) {
			showError("too_short", "password");
			a.focus();
			return;
		}
		if (a.value !== b.value) {
			showError("mismatch", "password");
			b.focus();
			return;
		}
		setBusy(btn, "pw.busy", "pw.submit", true);
		api("POST", "/api/session/password", { password: a.value })
		    .then(function () {
			a.value = "";
			b.value = "";
			return afterStep();
		}).catch(function (e) {
			if (e.code === "not_owed") {
				boot();
				return;
			}
			fail(e, "password");
			focusSoon(a);
		}).then(function () {
			setBusy(btn, "pw.busy", "pw.submit", false);
		});
	}

	function restart() {
		api("DELETE", "/api/session").catch(function () { return null; })
		    .then(function () { goLogin(null); });
	}

	/* ---- signed in ---- */

	function isStaff() {
		return state.staff !== null && state.staff.role !== "admin";
	}

	/* The desk (or the admin's page), then the reports if the URL says so. */
	function enterMain() {
		enterDesk();
		if (state.staff !== null && hashReports() !== null)
			showReports();
	}

	function enterDesk() {
		if (state.staff === null) {
			boot();
			return;
		}
		if (!isStaff()) {
			showView("admin");
			startSignedIn();
			return;
		}
		showView("desk");
		renderConversation();
		renderRecord();
		if (state.mainStarted)
			return;
		startSignedIn();
		state.queueLoaded = false;
		state.knownPreview = null;
		$("tabs").hidden = !isSupervisor();
		$("queue-heading").hidden = isSupervisor();
		showTab("queue");
		renderQueue();
		renderDeadlines();
		setPresence(rememberedPresence());
		scheduleQueue(0);
		if (isSupervisor()) {
			scheduleDeadlines(0);
			scheduleAlerts(0);
			/* Signed in here by hand: the page may already play sound. */
			if (navigator.userActivation && navigator.userActivation.hasBeenActive)
				unlockAudio();
		}
		loadDesk();
	}

	function startSignedIn() {
		if (state.mainStarted)
			return;
		state.mainStarted = true;
		state.lastActivity = Date.now();
		openEvents();
		state.tickTimer = setInterval(onTick, TICK_MS);
		state.idleTimer = setInterval(idleCheck, 1000);
	}

	/* Everything a signed-in page holds is dropped. */
	function stopMain() {
		closeEvents();
		if (state.tickTimer !== null)
			clearInterval(state.tickTimer);
		if (state.idleTimer !== null)
			clearInterval(state.idleTimer);
		state.tickTimer = state.idleTimer = null;
		if (state.queueRetryTimer !== null)
			clearTimeout(state.queueRetryTimer);
		state.queueRetryTimer = null;
		state.queueRetry = 0;
		state.mainStarted = false;
		state.queue = [];
		state.queueLoaded = false;
		state.selectedId = null;
		state.openId = null;
		state.conv = null;
		state.convKey = null;
		state.convSeq++;
		state.convMissing = false;
		state.seenEntries = null;
		state.knownPreview = null;
		state.presence = "unknown";
		state.drafts = {};
		state.noteDrafts = {};
		state.desk = null;
		state.deadlines = [];
		state.dlLoaded = false;
		state.closeFor = null;
		state.recContact = null;
		state.rec = null;
		state.recBase = null;
		state.recMine = null;
		state.recDrafts = {};
		state.recSeq++;
		state.alerts = [];
		state.acking = {};
		state.alertsSeq++;
		state.esc = null;
		state.escSeq++;
		state.escStale = false;
		state.levelFor = null;
		state.exFor = null;
		if (state.exTimer !== null)
			clearTimeout(state.exTimer);
		state.exTimer = null;
		["close-dialog", "transfer-dialog", "level-dialog",
		    "exception-dialog"].forEach(function (d) {
			if ($(d).open)
				$(d).close();
		});
		/* Nobody's words stay in the page after a sign-out. */
		setRecValues({});
		["close-note", "transfer-note", "nick-input", "ref-note", "fu-plan",
		    "fu-date", "level-reason", "esc-who", "esc-ref", "esc-outcome",
		    "esc-at", "exception-reason", "rp-note-input", "rp-zip-pw",
		    "rp-zip-pw2"].forEach(function (id) { $(id).value = ""; });
		state.rp = { doc: null, seq: state.rp.seq + 1, ready: false,
		    noteVersion: 0, noteDay: null };
		["rp-status", "rp-note-error", "rp-note-saved", "rp-zip-error",
		    "rp-note-text"].forEach(function (id) { $(id).textContent = ""; });
		$("rp-doc").hidden = true;
		rsReset();
		["deadlines", "ref-list", "fu-list", "rc-list", "rec-mine", "alert-list",
		    "esc-steps", "rp-sum", "rp-charts", "rp-tables", "rp-wide",
		    "rp-notes"].forEach(
		    function (id) { $(id).replaceChildren(); });
		$("history").replaceChildren();
		$("composer").value = "";
		$("note-input").value = "";
		showIdle(false);
		renderAlerts();
	}

	function renderHeader() {
		var s = state.staff;

		if (s !== null)
			$("who").textContent = t("header.user", { name: s.display_name,
			    role: has("role." + s.role) ? t("role." + s.role) : s.role });
		else
			$("who").textContent = "";
		$("nav-main").textContent = t(isStaff() ? "nav.desk" : "nav.admin");
		$("nav-main").setAttribute("aria-current",
		    state.view !== "reports" ? "page" : "false");
		$("nav-reports").setAttribute("aria-current",
		    state.view === "reports" ? "page" : "false");
		renderPresence();
		renderConn();
	}

	function signOut() {
		var btn = $("signout");

		btn.disabled = true;
		try {
			if (state.staff !== null)
				window.sessionStorage.removeItem(PRESENCE_KEY + state.staff.id);
		} catch (e) { /* nothing remembered */ }
		api("DELETE", "/api/session").catch(function () { return null; })
		    .then(function () {
			btn.disabled = false;
			goLogin(null);
		});
	}

	/* ---- presence ---- */

	/*
	 * GET /api/session does not say it: a new sign-in goes online; a
	 * reload keeps what this tab last chose.
	 */
	function rememberedPresence() {
		try {
			var v = window.sessionStorage.getItem(PRESENCE_KEY +
			    state.staff.id);
			return v === "away" ? "away" : "online";
		} catch (e) {
			return "online";
		}
	}

	function setPresence(p) {
		var btn = $("presence");

		btn.disabled = true;
		return api("PUT", "/api/me/presence", { presence: p })
		    .then(function (r) {
			state.presence = r.presence === "away" ? "away" :
			    r.presence === "online" ? "online" : p;
			try {
				window.sessionStorage.setItem(PRESENCE_KEY +
				    state.staff.id, state.presence);
			} catch (e) { /* this tab only */ }
		}, function (e) {
			fail(e, "presence");
		}).then(function () {
			btn.disabled = false;
			renderPresence();
		});
	}

	function renderPresence() {
		var btn = $("presence"), p = state.presence;

		btn.setAttribute("data-state", p);
		$("presence-text").textContent = t("presence." + p);
		$("presence-hint").textContent = p === "online" ?
		    t("presence.hint_online") : p === "away" ?
		    t("presence.hint_away") : "";
		btn.title = p === "online" ? t("presence.switch_to_away") :
		    t("presence.switch_to_online");
	}

	function togglePresence() {
		setPresence(state.presence === "online" ? "away" : "online");
	}

	/* ---- live events ---- */

	var connState = "reconnecting";

	function setConn(s) {
		connState = s;
		renderConn();
	}

	function renderConn() {
		$("conn").setAttribute("data-state", connState);
		$("conn-text").textContent = t("conn." + connState);
	}

	function closeEvents() {
		if (state.es !== null) {
			state.es.close();
			state.es = null;
		}
		if (state.esTimer !== null) {
			clearTimeout(state.esTimer);
			state.esTimer = null;
		}
		setConn("reconnecting");
	}

	function openEvents() {
		var es, types = ["hello", "resync", "inbound", "conversation",
		    "crisis", "crisis_alert", "signed_out"];

		closeEvents();
		if (typeof window.EventSource !== "function")
			return;
		es = new window.EventSource("/api/events");
		state.es = es;
		es.onopen = function () {
			if (state.es !== es)
				return;
			state.esRetry = 0;
			setConn("connected");
		};
		es.onerror = function () {
			if (state.es !== es)
				return;
			setConn("reconnecting");
			/* The browser retries by itself unless the answer was
			 * not a stream (401, 503...): then we decide. */
			if (es.readyState === window.EventSource.CLOSED) {
				es.close();
				state.es = null;
				reopenLater();
			}
		};
		types.forEach(function (type) {
			es.addEventListener(type, function (ev) {
				var data = {};

				if (state.es !== es)
					return;
				try {
					data = JSON.parse(ev.data || "{}") || {};
				} catch (e) {
					data = {};
				}
				if (type === "hello")
					setConn("connected");
				onEvent(type, data);
			});
		});
	}

	function reopenLater() {
		var delay = Math.min(30000, 2000 * Math.pow(2, state.esRetry));

		state.esRetry = Math.min(state.esRetry + 1, 5);
		state.esTimer = setTimeout(function () {
			state.esTimer = null;
			if (!state.mainStarted)
				return;
			api("GET", "/api/session", undefined, { bg: true })
			    .then(function (s) {
				applySession(s);
				if (s.next !== null && s.next !== undefined) {
					boot();
					return;
				}
				if (state.mainStarted)
					openEvents();
			}, function (e) {
				if (e.code === "signed_out") {
					goLogin("signed_out");
					return;
				}
				if (state.mainStarted)
					reopenLater();
			});
		}, delay);
	}

	function onEvent(type, data) {
		var concerned = false, ids, i;

		if (type === "signed_out") {
			goLogin("signed_out");
			return;
		}
		if (!deskLive())
			return;
		/* An alert shows before anything is fetched: seconds may count. */
		if (type === "crisis_alert")
			onCrisisAlert(data);
		scheduleQueue(undefined, true);
		if (isSupervisor())
			scheduleDeadlines(undefined, true);
		if (isSupervisor() && (type === "crisis" || type === "crisis_alert" ||
		    type === "hello" || type === "resync"))
			scheduleAlerts(undefined, true);
		if (state.openId === null)
			return;
		if (type === "hello" || type === "resync") {
			concerned = true;
			state.escStale = true;
		} else if (type === "crisis" || type === "crisis_alert") {
			concerned = Number(data.conversation) === state.openId;
		} else if (type === "inbound") {
			ids = Array.isArray(data.conversations) ? data.conversations : [];
			for (i = 0; i < ids.length; i++)
				if (Number(ids[i]) === state.openId)
					concerned = true;
		} else if (type === "conversation") {
			concerned = Number(data.id) === state.openId;
			/*
			 * Every change of the open one is read again: claimed,
			 * replied, emergency_exception (granted or ended)...
			 * A step recorded by someone else: the record too.
			 */
			if (concerned && data.change === "escalation")
				state.escStale = true;
			/* {"conversations", "change": "delivery"}: sent, retrying... */
			ids = Array.isArray(data.conversations) ? data.conversations : [];
			for (i = 0; i < ids.length; i++)
				if (Number(ids[i]) === state.openId)
					concerned = true;
			/* {"contact", "change"}: restricted or lifted. */
			if (data.contact !== undefined &&
			    Number(data.contact) === state.recContact) {
				concerned = true;
				loadRecord(state.recContact, undefined, true);
			}
		}
		if (concerned)
			scheduleConversation(undefined, true);
	}

	/*
	 * A debounced, one-at-a-time refresher: calls within the delay become
	 * one; a call while one runs makes one more afterwards. fn(bg) is a
	 * background read unless one of the calls it stands for was not
	 * (schedule(ms, true) is the page's own doing).
	 */
	function refresher(fn) {
		var timer = null, running = false, again = false, fg = false;

		function run() {
			var bg = !fg;

			timer = null;
			if (running) {
				again = true;
				return;
			}
			running = true;
			fg = false;
			Promise.resolve(bg).then(fn).catch(function () { return null; })
			    .then(function () {
				running = false;
				if (again) {
					again = false;
					schedule(0, true);
				}
			});
		}
		function schedule(ms, bg) {
			if (!bg)
				fg = true;
			if (timer !== null)
				return;
			timer = setTimeout(run, ms === undefined ? DEBOUNCE_MS : ms);
		}
		return schedule;
	}

	var scheduleQueue = refresher(fetchQueue);
	var scheduleConversation = refresher(function (bg) {
		return fetchConversation(false, bg);
	});
	var scheduleDeadlines = refresher(fetchDeadlines);

	/* Every 30 s: times move on; lists are read again if no stream says. */
	function onTick() {
		if (deskLive()) {
			renderQueue();
			renderDeadlines();
			if (state.conv !== null)
				renderConvHead(state.conv.conversation);
			if (connState !== "connected")
				scheduleQueue(0, true);
			if (isSupervisor())
				scheduleDeadlines(0, true);
			renderAlerts();
			/* Without the stream, alerts are polled: never missed for long. */
			if (isSupervisor() && connState !== "connected")
				scheduleAlerts(0, true);
		}
	}

	/* ---- idle time ---- */

	/* The banner takes room from the desk: keep the newest in view. */
	function showIdle(show) {
		if ($("idle").hidden !== !show)
			keepEnd(function () {
				$("idle").hidden = !show;
				document.body.classList.toggle("has-idle", show);
			});
	}

	function idleCheck() {
		var limit = state.idleMinutes * 60000,
		    warn = Math.min(IDLE_WARN_MS, limit / 2),
		    left = state.lastActivity + limit - Date.now();

		if (!state.mainStarted)
			return;
		if (left <= 0) {
			showIdle(false);
			if (!state.idleChecking && Date.now() >= state.idleRetryAt) {
				/* The server decides: most likely signed out. */
				state.idleChecking = true;
				api("GET", "/api/session", undefined, { bg: true })
				    .then(function (s) {
					/* Kept alive elsewhere (another tab): ask later. */
					applySession(s);
					state.idleRetryAt = Date.now() + 30000;
				}, function (e) {
					state.idleRetryAt = Date.now() + 30000;
					fail(e, "idle", true);
				}).then(function () {
					state.idleChecking = false;
				});
			}
			return;
		}
		if (left <= warn) {
			$("idle-text").textContent = t("idle.warning",
			    { time: fmtCountdown(left) });
			showIdle(true);
		} else {
			showIdle(false);
		}
	}

	function keepAlive() {
		var btn = $("idle-continue");

		btn.disabled = true;
		api("GET", "/api/session").then(function (s) {
			applySession(s);
			clearError(true);
			idleCheck();
		}, function (e) {
			fail(e, "idle");
		}).then(function () {
			btn.disabled = false;
		});
	}

	/* ---- the queue ---- */

	function fetchQueue(bg) {
		if (!isStaff() || !state.mainStarted)
			return Promise.resolve();
		return api("GET", "/api/queue", undefined, { bg: bg })
		    .then(function (r) {
			var list = Array.isArray(r.conversations) ? r.conversations : [];

			if (!state.mainStarted)
				return;
			updateSkew(r.now);
			noticeQueueChanges(list);
			state.queue = list;
			state.queueLoaded = true;
			state.queueRetry = 0;
			if (state.selectedId !== null && indexOf(state.selectedId) < 0)
				state.selectedId = null;
			clearError(true);
			renderQueue();
		}, function (e) {
			if (e.code === "forbidden" && state.staff !== null) {
				stopMain();
				showView("admin");
				startSignedIn();
				return;
			}
			if (!fail(e, "queue", true) && (e.code === "database" ||
			    e.code === "network" || e.code === "busy" ||
			    e.status >= 500))
				retryQueueLater();
		});
	}

	/* The server will be back: ask again, less and less often. */
	function retryQueueLater() {
		var delay = Math.min(30000, 3000 * Math.pow(2, state.queueRetry));

		state.queueRetry = Math.min(state.queueRetry + 1, 4);
		if (state.queueRetryTimer !== null)
			clearTimeout(state.queueRetryTimer);
		state.queueRetryTimer = setTimeout(function () {
			state.queueRetryTimer = null;
			if (state.mainStarted)
				scheduleQueue(0, true);
		}, delay);
	}

	function caseName(c) {
		return c.contact && c.contact.case_number ? c.contact.case_number :
		    "#" + c.id;
	}

	/* Tell a screen reader what arrived, once, without the text. */
	function noticeQueueChanges(list) {
		var first = state.knownPreview === null, known = {}, i, c, prev,
		    at, msg = null;

		for (i = 0; i < list.length; i++) {
			c = list[i];
			at = c.preview && c.preview.at ? c.preview.at : "";
			known[c.id] = at;
			if (first)
				continue;
			prev = state.knownPreview[c.id];
			if (prev === undefined)
				msg = t("live.new_conversation", { case: caseName(c) });
			else if (at !== "" && at !== prev && c.id !== state.openId)
				msg = t("live.new_message", { case: caseName(c) });
		}
		state.knownPreview = known;
		if (msg !== null)
			announce(msg);
	}

	function indexOf(id) {
		for (var i = 0; i < state.queue.length; i++)
			if (state.queue[i].id === id)
				return i;
		return -1;
	}

	/* The person waits for the desk (not the desk for the person). */
	function isWaiting(c) {
		return !!c.waiting_since && (c.state === "waiting" ||
		    c.state === "active");
	}

	function isOverdue(c) {
		var due;

		if (c.overdue)
			return true;
		if (!c.reply_due_at || c.state === "closed" ||
		    c.state === "waiting_for_user")
			return false;
		due = Date.parse(c.reply_due_at);
		return !isNaN(due) && due <= serverNow();
	}

	function el(tag, cls, text) {
		var e = document.createElement(tag);

		if (cls)
			e.className = cls;
		if (text !== undefined && text !== null)
			e.textContent = text;
		return e;
	}

	function mark(kind, text, testid) {
		var m = el("span", "mark mark-" + kind, text);

		if (testid)
			m.setAttribute("data-testid", testid);
		return m;
	}

	/* The level in words: high and medium look different, and say so. */
	function crisisMark(level) {
		var high = Number(level) >= 2;

		return mark(high ? "crisis" : "crisis-mid",
		    t(high ? "crisis.mark_2" : "crisis.mark_1"), "crisis-mark");
	}

	function restrictedMark() {
		return mark("restricted", t("queue.restricted"), "restricted-mark");
	}

	function previewText(p) {
		if (p === null || p === undefined)
			return t("queue.no_preview");
		if (p.kind && p.kind !== "text" && !p.text)
			return has("kind." + p.kind) ? t("kind." + p.kind) :
			    t("kind.other");
		return p.text ? p.text : t("queue.no_preview");
	}

	function queueItem(c, testid) {
		var li = el("li", "qitem-wrap"), b = el("button", "qitem"),
		    top = el("span", "q-row q-top"), times = el("span", "q-row q-times"),
		    who = el("span", "q-row q-who"), contact = c.contact || {},
		    now = serverNow(), overdue = isOverdue(c), wait;

		b.type = "button";
		b.setAttribute("data-testid", testid || "queue-item");
		b.setAttribute("data-conversation-id", String(c.id));
		if (c.crisis_level >= 2)
			b.classList.add("is-crisis");
		else if (c.crisis_level > 0)
			b.classList.add("is-crisis-mid");
		if (overdue)
			b.classList.add("is-overdue");
		else if (c.due_soon)
			b.classList.add("is-due-soon");
		if (c.id === state.selectedId && !testid) {
			b.classList.add("is-selected");
			b.setAttribute("data-selected", "true");
		}
		if (c.id === state.openId) {
			b.classList.add("is-open");
			b.setAttribute("aria-current", "true");
		}

		if (c.crisis_level > 0)
			top.appendChild(crisisMark(c.crisis_level));
		if (c.restricted)
			top.appendChild(restrictedMark());
		if (exceptionOf(c))
			top.appendChild(exceptionMark());
		top.appendChild(el("span", "q-case", caseName(c)));
		top.appendChild(el("span", contact.nickname ? "q-name" :
		    "q-name muted", contact.nickname || t("queue.no_nickname")));
		top.appendChild(el("span", "tag " + (contact.returning ?
		    "tag-returning" : "tag-new"), contact.returning ?
		    t("queue.returning") : t("queue.new")));
		b.appendChild(top);

		if (isWaiting(c)) {
			wait = now - Date.parse(c.waiting_since);
			times.appendChild(el("span", "q-wait", t("queue.waiting",
			    { time: fmtDuration(wait) })));
		}
		if (c.reply_due_at)
			times.appendChild(el("span", "q-due", t("queue.due",
			    { time: fmtDateTime(c.reply_due_at) })));
		if (overdue)
			times.appendChild(mark("overdue", t("queue.overdue"),
			    "overdue-mark"));
		else if (c.due_soon)
			times.appendChild(mark("due-soon", t("queue.due_soon"),
			    "due-soon-mark"));
		if (times.childNodes.length > 0)
			b.appendChild(times);

		if (c.assignee)
			who.appendChild(el("span", "q-assignee" +
			    (state.staff && c.assignee.id === state.staff.id ?
			    " is-me" : ""), t("queue.assignee",
			    { name: c.assignee.display_name })));
		else
			who.appendChild(el("span", "q-assignee is-none",
			    t("queue.unassigned")));
		if (c.state && c.state !== "waiting" && has("state." + c.state))
			who.appendChild(el("span", "q-state", t("state." + c.state)));
		if (contact.follow_state === "blocked")
			who.appendChild(el("span", "tag tag-blocked",
			    t("queue.blocked")));
		if (c.long_session)
			who.appendChild(el("span", "tag tag-long",
			    t("queue.long_session")));
		if (isStrict(c) && c.in_webchat && c.state !== "closed")
			who.appendChild(mark("webchat", t("queue.in_webchat"),
			    "webchat-mark"));
		b.appendChild(who);

		b.appendChild(el("span", "q-preview" + (c.preview &&
		    c.preview.text ? "" : " muted"), previewText(c.preview)));
		li.appendChild(b);
		return li;
	}

	function renderQueue() {
		var list = $("queue"), active = document.activeElement,
		    focusedId = null, fresh = document.createElement("ol"),
		    unassigned = 0, overdue = 0, i, c, again;

		if (active && active.getAttribute &&
		    active.getAttribute("data-testid") === "queue-item")
			focusedId = active.getAttribute("data-conversation-id");
		for (i = 0; i < state.queue.length; i++) {
			c = state.queue[i];
			fresh.appendChild(queueItem(c));
			if (c.assignee === null)
				unassigned++;
			if (isOverdue(c))
				overdue++;
		}
		/*
		 * Only when something changed: a click or hover in progress, the
		 * focus and a screen reader's place all survive a refresh that
		 * changed nothing. (Reading markup back is safe; it is never
		 * written as markup.)
		 */
		if (fresh.innerHTML !== list.innerHTML) {
			list.replaceChildren.apply(list,
			    Array.prototype.slice.call(fresh.childNodes));
		} else {
			focusedId = null;
		}
		list.setAttribute("aria-busy", state.queueLoaded ? "false" : "true");
		$("queue-empty").hidden = !state.queueLoaded || state.queue.length > 0;
		$("queue-count").textContent = $("tab-queue-count").textContent =
		    state.queueLoaded ? t("queue.count", { n: state.queue.length }) :
		    "";
		$("queue-summary").textContent = state.queueLoaded ?
		    t("queue.summary", { unassigned: unassigned, overdue: overdue }) :
		    t("queue.loading");
		if (focusedId !== null) {
			again = list.querySelector('[data-conversation-id="' +
			    focusedId.replace(/[^0-9]/g, "") + '"]');
			if (again !== null)
				again.focus({ preventScroll: true });
		}
		updateTitle();
	}

	function moveSelection(delta) {
		var n = state.queue.length, i, btn;

		if (n === 0)
			return;
		i = state.selectedId === null ? -1 : indexOf(state.selectedId);
		if (i < 0)
			i = delta > 0 ? 0 : n - 1;
		else
			i = Math.max(0, Math.min(n - 1, i + delta));
		state.selectedId = state.queue[i].id;
		markSelection();
		btn = $("queue").querySelector('[data-conversation-id="' +
		    state.selectedId + '"]');
		if (btn !== null) {
			btn.focus({ preventScroll: true });
			btn.scrollIntoView({ block: "nearest" });
		}
	}

	function markSelection() {
		var items = $("queue").querySelectorAll("[data-testid=queue-item]"),
		    i, b, sel;

		for (i = 0; i < items.length; i++) {
			b = items[i];
			sel = Number(b.getAttribute("data-conversation-id")) ===
			    state.selectedId;
			b.classList.toggle("is-selected", sel);
			if (sel)
				b.setAttribute("data-selected", "true");
			else
				b.removeAttribute("data-selected");
		}
	}

	function isTyping(target) {
		var tag, type;

		if (!target || !target.tagName)
			return false;
		if (target.isContentEditable)
			return true;
		tag = target.tagName.toLowerCase();
		if (tag === "textarea" || tag === "select")
			return true;
		if (tag !== "input")
			return false;
		type = (target.getAttribute("type") || "text").toLowerCase();
		return ["button", "submit", "reset", "checkbox", "radio",
		    "range", "color", "file", "image"].indexOf(type) < 0;
	}

	function onKey(ev) {
		var target = ev.target, onBody, inQueue;

		if (state.view !== "desk" || ev.defaultPrevented || ev.isComposing ||
		    ev.ctrlKey || ev.metaKey || ev.altKey || isTyping(target))
			return;
		onBody = target === document.body ||
		    target === document.documentElement || target === null;
		inQueue = !onBody && target.closest &&
		    target.closest("#queue") !== null;
		switch (ev.key) {
		case "j":
			moveSelection(1);
			break;
		case "k":
			moveSelection(-1);
			break;
		case "ArrowDown":
			if (!onBody && !inQueue)
				return;
			moveSelection(1);
			break;
		case "ArrowUp":
			if (!onBody && !inQueue)
				return;
			moveSelection(-1);
			break;
		case "Enter":
			/* On a queue item the button opens it by itself. */
			if (!onBody || state.selectedId === null)
				return;
			openConversation(state.selectedId);
			break;
		default:
			return;
		}
		ev.preventDefault();
	}

	/* ---- the conversation ---- */

	function saveDrafts() {
		if (state.openId === null)
			return;
		state.drafts[state.openId] = $("composer").value;
		state.noteDrafts[state.openId] = $("note-input").value;
	}

	function openConversation(id) {
		if (state.openId !== id) {
			saveDrafts();
			state.openId = id;
			state.conv = null;
			state.convKey = null;
			state.convMissing = false;
			state.seenEntries = null;
			$("composer").value = state.drafts[id] || "";
			$("nick-input").value = state.nickShown = "";
			$("note-input").value = state.noteDrafts[id] || "";
			$("history").replaceChildren();
			state.esc = null;
			state.escSeq++;
			state.escStale = false;
			escFormReset();
			/* Its own record (and escalation) from the top. */
			document.querySelector(".record-scroll").scrollTop = 0;
			clearError();
		}
		state.selectedId = id;
		renderQueue();
		renderConversation();
		return fetchConversation(true);
	}

	function fetchConversation(initial, bg) {
		var id = state.openId, seq;

		if (id === null || !state.mainStarted)
			return Promise.resolve();
		seq = ++state.convSeq;
		return api("GET", "/api/conversations/" + id, undefined, { bg: bg })
		    .then(function (r) {
			if (seq !== state.convSeq || id !== state.openId)
				return;
			updateSkew(r.now);
			state.conv = r;
			state.convMissing = false;
			if (!initial)
				clearError(true);
			renderConversation(initial);
			syncEscalation(r, bg);
		}, function (e) {
			if (seq !== state.convSeq || id !== state.openId)
				return;
			if (e.code === "not_found") {
				state.conv = null;
				state.convMissing = true;
				renderConversation();
				return;
			}
			fail(e, "conversation", !initial);
		});
	}

	function isMine(c) {
		return c && c.assignee && state.staff &&
		    c.assignee.id === state.staff.id;
	}

	function renderConversation(initial) {
		var body = $("conv-body"), empty = $("conv-empty"), c;

		if (state.openId === null) {
			body.hidden = true;
			empty.hidden = false;
			return;
		}
		body.hidden = false;
		empty.hidden = true;
		if (state.conv === null) {
			$("conv-heading").textContent = state.convMissing ?
			    t("conv.not_found") : t("conv.loading");
			$("conv-badges").replaceChildren();
			$("conv-meta").replaceChildren();
			renderException(null);
			$("history").replaceChildren();
			renderActions(null);
			updateCompose(null);
			renderLevel(null);
			renderEscalation();
			return;
		}
		c = state.conv.conversation || {};
		renderConvHead(c);
		updateCompose(c);
		if (c.contact && c.contact.id)
			showRecordOf(c.contact.id);
		renderHistory(Array.isArray(state.conv.history) ?
		    state.conv.history : [], initial === true);
	}

	function renderConvHead(c) {
		var contact = c.contact || {}, badges = $("conv-badges"),
		    meta = $("conv-meta"), overdue = isOverdue(c), h = $("conv-heading");

		h.replaceChildren(el("span", "conv-case", caseName(c)));
		renderNick(c);

		badges.replaceChildren();
		renderLevel(c);
		if (c.line_mode)
			badges.appendChild(channelMark(c));
		if (c.restricted)
			badges.appendChild(restrictedMark());
		badges.appendChild(el("span", "tag " + (contact.returning ?
		    "tag-returning" : "tag-new"), contact.returning ?
		    t("queue.returning") : t("queue.new")));
		if (c.state && has("state." + c.state))
			badges.appendChild(el("span", "tag tag-state tag-state-" +
			    c.state, t("state." + c.state)));
		if (overdue)
			badges.appendChild(mark("overdue", t("queue.overdue")));
		else if (c.due_soon)
			badges.appendChild(mark("due-soon", t("queue.due_soon")));
		if (contact.follow_state === "blocked")
			badges.appendChild(el("span", "tag tag-blocked",
			    t("queue.blocked")));

		meta.replaceChildren();
		meta.appendChild(el("span", "meta-item", c.assignee ?
		    t("queue.assignee", { name: c.assignee.display_name }) :
		    t("queue.unassigned")));
		if (c.reply_due_at && c.state !== "closed")
			meta.appendChild(el("span", "meta-item" + (overdue ?
			    " is-overdue" : ""), t("queue.due",
			    { time: fmtDateTime(c.reply_due_at) })));
		if (isWaiting(c))
			meta.appendChild(el("span", "meta-item", t("queue.waiting",
			    { time: fmtDuration(serverNow() -
			    Date.parse(c.waiting_since)) })));

		renderActions(c);
		renderException(c);
		renderEscalation();
	}

	/* Who may do what: the server decides; the buttons follow it. */
	function renderActions(c) {
		var open = !!c && c.state !== "closed", sup = isSupervisor(),
		    mine = open && isMine(c), limit = state.desk !== null &&
		    state.desk.session_soft_limit_minutes;

		$("claim").hidden = !(open && c.assignee === null);
		$("conv-mine").hidden = !mine;
		$("release").hidden = !(open && c.assignee && (mine || sup));
		$("transfer").hidden = !(open && sup);
		$("exception").hidden = !(open && sup && isStrict(c) &&
		    !exceptionOf(c));
		$("close").hidden = !(open && (!c.assignee || mine || sup));
		$("conv-blocked").hidden = !(c && c.contact &&
		    c.contact.follow_state === "blocked");
		$("conv-long").hidden = !(open && c.long_session);
		$("conv-long").textContent = t("conv.long_session",
		    { m: limit || 50 });
		if (!c)
			renderNick(null);
	}

	function updateCompose(c) {
		var composer = $("composer"), note = $("compose-note"),
		    supervisor = state.staff !== null &&
		    state.staff.role === "supervisor", hint = "", can;

		/*
		 * The server takes a reply from the holder, from anyone while
		 * nobody holds it (the reply claims it), and from a supervisor.
		 */
		$("compose").hidden = c === null;
		if (c === null) {
			can = false;
		} else if (c.state === "closed") {
			can = false;
			hint = t("conv.compose_closed");
		} else if (!c.assignee) {
			can = true;
			hint = t("conv.compose_unclaimed");
		} else if (isMine(c)) {
			can = true;
		} else {
			can = supervisor;
			hint = t(supervisor ? "conv.compose_supervisor" :
			    "conv.compose_not_yours", { name: c.assignee.display_name });
		}
		composer.disabled = !can;
		$("canned").disabled = !can;
		$("send").disabled = !can || state.sending;
		note.hidden = hint === "";
		note.textContent = hint;
		renderRoute(c);
		$("note-input").disabled = c === null;
		$("note-button").disabled = c === null || state.noting;
	}

	function entryKey(e) {
		return (e.type === "event" ? "e" : "m") + e.id;
	}

	/* The server sends the display name; an object is taken too. */
	function staffName(s) {
		if (typeof s === "string")
			return s;
		return s && s.display_name ? String(s.display_name) : "";
	}

	function timeEl(iso) {
		var tm = el("time", "entry-time", fmtTime(iso));

		if (iso) {
			tm.setAttribute("datetime", iso);
			tm.title = fmtDateTime(iso);
		}
		return tm;
	}

	function messageEntry(m) {
		var dir = ["in", "out", "auto", "system"].indexOf(m.direction) >= 0 ?
		    m.direction : "system",
		    li = el("li", "entry msg msg-" + dir), bubble = el("div", "bubble"),
		    head = el("div", "msg-meta"), who, text, labels, d, status, i;

		li.setAttribute("data-testid", "history-entry");
		li.setAttribute("data-entry-type", "message");
		li.setAttribute("data-direction", dir);
		if (m.kind)
			li.setAttribute("data-message-kind", m.kind);
		li.setAttribute("data-entry-id", String(m.id));

		if (dir === "in") {
			who = t("dir.in");
		} else if (dir === "auto") {
			labels = [];
			if (Array.isArray(m.autoreply))
				for (i = 0; i < m.autoreply.length; i++)
					labels.push(has("auto." + m.autoreply[i]) ?
					    t("auto." + m.autoreply[i]) :
					    String(m.autoreply[i]));
			who = t("dir.auto") + (labels.length > 0 ?
			    (state.lang === "ja" ? "（" + labels.join("・") + "）" :
			    " (" + labels.join(", ") + ")") : "");
		} else if (dir === "out") {
			who = staffName(m.staff) || t("role.counsellor");
		} else {
			who = t("dir.system");
		}
		head.appendChild(el("span", "msg-who" + (dir === "auto" ?
		    " auto-label" : ""), who));
		head.appendChild(timeEl(m.at));
		if (m.via === "webchat") {
			li.setAttribute("data-via", "webchat");
			head.appendChild(mark("via", t("via.webchat"), "via-webchat"));
		}
		bubble.appendChild(head);

		if (m.accepted === false) {
			text = el("div", "msg-text msg-refused",
			    has("kind." + m.kind) ? t("kind." + m.kind) :
			    t("kind.other"));
		} else if (m.text === null || m.text === undefined) {
			text = el("div", "msg-text muted", t("msg.no_text"));
		} else {
			text = el("div", "msg-text", String(m.text));
		}
		bubble.appendChild(text);

		if (dir !== "in" && m.delivery) {
			d = m.delivery === "pending" && m.retrying ? "retrying" :
			    m.delivery;
			status = el("div", "delivery delivery-" + d,
			    has("delivery." + d) ? t("delivery." + d) : d);
			status.setAttribute("data-delivery", d);
			if ((d === "failed" || d === "undeliverable" ||
			    d === "retrying") && m.error)
				status.appendChild(el("span", "delivery-error",
				    t("delivery.error", { error: String(m.error) })));
			bubble.appendChild(status);
		}
		li.appendChild(bubble);
		return li;
	}

	function eventEntry(e) {
		var kind = String(e.kind || "unknown"),
		    li = el("li", "entry event event-" + kind.replace(/[^a-z_]/g, "")),
		    label = has("event." + kind) ? t("event." + kind) :
		    t("event.unknown", { kind: kind }), box, head, line, name, extra;

		li.setAttribute("data-testid", "history-entry");
		li.setAttribute("data-entry-type", "event");
		li.setAttribute("data-kind", kind);
		li.setAttribute("data-entry-id", String(e.id));
		name = staffName(e.staff);

		if (kind === "note") {
			box = el("div", "note-box");
			head = el("div", "note-head");
			head.appendChild(el("span", "note-tag", label));
			head.appendChild(el("span", "note-private",
			    t("event.note_private")));
			if (name)
				head.appendChild(el("span", "note-who", name));
			head.appendChild(timeEl(e.at));
			box.appendChild(head);
			box.appendChild(el("div", "msg-text", e.text ? String(e.text) :
			    t("msg.no_text")));
			li.appendChild(box);
			return li;
		}
		line = el("div", "event-line");
		line.appendChild(el("span", "event-label", label));
		if (name)
			line.appendChild(el("span", "event-who", name));
		if (e.code !== null && e.code !== undefined && e.code !== "") {
			extra = kind.indexOf("crisis") === 0 ?
			    t("event.level_to", { level: levelName(e.code) }) :
			    kind === "strict_exception" ?
			    t("event.minutes", { m: String(e.code) }) :
			    t("event.code", { code: codeLabel(
			    deskList("close_reasons"), String(e.code)) });
			line.appendChild(el("span", "event-code", extra));
		}
		line.appendChild(timeEl(e.at));
		li.appendChild(line);
		if (e.text)
			li.appendChild(el("div", "event-text", kind.indexOf("crisis_") === 0 ||
			    kind === "strict_exception" ?
			    t("event.reason", { text: String(e.text) }) : String(e.text)));
		return li;
	}

	function renderHistory(entries, initial) {
		var list = $("history"), key = JSON.stringify(entries) + state.lang,
		    nearBottom, frag, lastDay = null, i, e, ms, day, sep, seen,
		    fresh = false, k;

		if (key === state.convKey)
			return;
		state.convKey = key;
		nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight <
		    NEAR_BOTTOM_PX;
		seen = state.seenEntries;
		state.seenEntries = {};
		frag = document.createDocumentFragment();
		for (i = 0; i < entries.length; i++) {
			e = entries[i];
			ms = Date.parse(e.at);
			if (!isNaN(ms)) {
				day = dayKey(ms);
				if (day !== lastDay) {
					sep = el("li", "day-sep");
					sep.appendChild(el("span", null, fmtDay(ms)));
					frag.appendChild(sep);
					lastDay = day;
				}
			}
			frag.appendChild(e.type === "event" ? eventEntry(e) :
			    messageEntry(e));
			k = entryKey(e);
			state.seenEntries[k] = true;
			if (seen !== null && !seen[k] && e.type !== "event" &&
			    e.direction === "in")
				fresh = true;
		}
		if (entries.length === 0)
			frag.appendChild(el("li", "history-empty muted",
			    t("conv.history_empty")));
		list.replaceChildren(frag);
		if (initial || nearBottom || seen === null)
			list.scrollTop = list.scrollHeight;
		if (fresh)
			announce(t("live.new_in_open"));
	}

	function claim() {
		var id = state.openId, btn = $("claim");

		if (id === null || state.claiming)
			return;
		state.claiming = true;
		clearError();
		setBusy(btn, "conv.claiming", "conv.claim", true);
		api("POST", "/api/conversations/" + id + "/claim", {})
		    .then(function (r) {
			if (id !== state.openId)
				return;
			if (r.conversation && state.conv !== null)
				state.conv.conversation = r.conversation;
			renderConversation();
			announce(t("conv.claimed_ok"));
			focusSoon($("composer"));
		}, function (e) {
			fail(e, "claim");
		}).then(function () {
			state.claiming = false;
			setBusy(btn, "conv.claiming", "conv.claim", false);
			scheduleQueue(0);
			if (id === state.openId)
				fetchConversation(false);
		});
	}

	function sendReply() {
		var id = state.openId, composer = $("composer"), btn = $("send"),
		    raw = composer.value, text = raw.trim();

		if (id === null || state.sending || btn.disabled)
			return;
		if (text === "") {
			composer.focus();
			return;
		}
		state.sending = true;
		clearError();
		setBusy(btn, "conv.sending", "conv.send", true);
		api("POST", "/api/conversations/" + id + "/messages",
		    { text: text, seen: newestSeen() })
		    .then(function () {
			if (id === state.openId && composer.value === raw)
				composer.value = "";
			delete state.drafts[id];
			announce(t("conv.sent_ok"));
		}, function (e) {
			fail(e, "send");
		}).then(function () {
			state.sending = false;
			setBusy(btn, "conv.sending", "conv.send", false);
			if (state.conv !== null)
				updateCompose(state.conv.conversation);
			scheduleQueue(0);
			if (id === state.openId)
				fetchConversation(false);
		});
	}

	function addNote() {
		var id = state.openId, input = $("note-input"), btn = $("note-button"),
		    raw = input.value, text = raw.trim();

		if (id === null || state.noting)
			return;
		if (text === "") {
			input.focus();
			return;
		}
		state.noting = true;
		clearError();
		setBusy(btn, "conv.note_saving", "conv.note_button", true);
		api("POST", "/api/conversations/" + id + "/notes", { text: text })
		    .then(function () {
			if (id === state.openId && input.value === raw)
				input.value = "";
			delete state.noteDrafts[id];
			announce(t("conv.note_ok"));
		}, function (e) {
			fail(e, "note");
		}).then(function () {
			state.noting = false;
			setBusy(btn, "conv.note_saving", "conv.note_button", false);
			if (state.conv !== null)
				updateCompose(state.conv.conversation);
			if (id === state.openId)
				fetchConversation(false);
		});
	}

	function sendKey(ev, action) {
		if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) &&
		    !ev.isComposing) {
			ev.preventDefault();
			action();
		}
	}

	/* ---- the desk's own lists (GET /api/desk, once a sign-in) ---- */

	function deskList(name) {
		var l = state.desk !== null ? state.desk[name] : null;

		return Array.isArray(l) ? l : [];
	}

	/* {code, ja, en} or [code, ja, en], in the page's language. */
	function itemLabel(it) {
		var a = Array.isArray(it), ja = a ? it[1] : it.ja, en = a ? it[2] : it.en;

		return String((state.lang === "en" ? en || ja : ja || en) ||
		    itemCode(it));
	}

	function itemCode(it) {
		return String(Array.isArray(it) ? it[0] : it.code);
	}

	function codeLabel(list, code) {
		for (var i = 0; i < list.length; i++)
			if (itemCode(list[i]) === code)
				return itemLabel(list[i]);
		return code;
	}

	function option(value, text) {
		var o = el("option", null, text);

		o.value = value;
		return o;
	}

	/* Options from a list; the choice survives a change of language. */
	function fillSelect(sel, items, blank) {
		var v = sel.value, opts = [];

		if (blank)
			opts.push(option("", blank));
		items.forEach(function (it) {
			opts.push(option(itemCode(it), itemLabel(it)));
		});
		sel.replaceChildren.apply(sel, opts);
		sel.value = v;
		if (sel.selectedIndex < 0)
			sel.selectedIndex = 0;
	}

	function loadDesk() {
		return api("GET", "/api/desk").then(function (d) {
			state.desk = d || {};
			renderDesk();
			renderConversation();
		}, function (e) {
			fail(e, "desk", true);
		});
	}

	function renderDesk() {
		var sel = $("canned"), phrases = deskList("canned_phrases"),
		    opts = [option("", t("canned.choose"))], attrs;

		phrases.forEach(function (p, i) {
			opts.push(option(String(i), itemLabel(p)));
		});
		sel.replaceChildren.apply(sel, opts);
		$("canned-wrap").hidden = phrases.length === 0;
		attrs = state.desk !== null && state.desk.case_attributes || {};
		ATTRS.forEach(function (n) {
			if (n !== "municipality")
				fillSelect($("rec-" + n), Array.isArray(attrs[n]) ?
				    attrs[n] : [], t("rec.unset"));
		});
		renderCategories();
		fillSelect($("ref-agency"), deskList("referral_agencies"),
		    t("ref.choose"));
		fillSelect($("ref-outcome"), OUTCOMES.map(function (c) {
			return { code: c, ja: t("outcome." + c) };
		}));
	}

	/* Checkboxes or radios from a list; what was checked stays so. */
	function choices(box, list, type, testid, keep) {
		var checked = {}, nodes = box.querySelectorAll("input:checked"), i;

		for (i = 0; i < nodes.length && keep; i++)
			checked[nodes[i].value] = true;
		box.replaceChildren.apply(box, list.map(function (c) {
			var lab = el("label", "choice"), input = el("input");

			input.type = type;
			input.name = testid;
			input.value = itemCode(c);
			input.checked = !!checked[input.value];
			input.setAttribute("data-testid", testid);
			lab.append(input, el("span", null, itemLabel(c)));
			return lab;
		}));
	}

	function renderCategories() {
		choices($("rec-cats"), deskList("case_categories"), "checkbox",
		    "case-category", true);
	}

	/* A phrase goes in where the cursor is, in the desk's language. */
	function insertCanned() {
		var sel = $("canned"), p = deskList("canned_phrases")[Number(sel.value)],
		    c = $("composer"), text;

		sel.value = "";
		if (!p || c.disabled)
			return;
		text = String(p.ja || p.en || "");
		c.focus();
		c.setRangeText(text, c.selectionStart, c.selectionEnd, "end");
		if (state.openId !== null)
			state.drafts[state.openId] = c.value;
	}

	/* ---- supervisors: the deadlines tab ---- */

	function isSupervisor() {
		return state.staff !== null && state.staff.role === "supervisor";
	}

	function showTab(tab, focus) {
		var dl = tab === "deadlines";

		state.tab = dl ? "deadlines" : "queue";
		$("tab-queue").setAttribute("aria-selected", String(!dl));
		$("tab-deadlines").setAttribute("aria-selected", String(dl));
		$("tab-queue").tabIndex = dl ? -1 : 0;
		$("tab-deadlines").tabIndex = dl ? 0 : -1;
		$("queue-panel").hidden = dl;
		$("deadlines-panel").hidden = !dl;
		if (focus)
			$(dl ? "tab-deadlines" : "tab-queue").focus();
		if (dl)
			scheduleDeadlines(0);
	}

	function fetchDeadlines(bg) {
		if (!isSupervisor() || !state.mainStarted)
			return Promise.resolve();
		return api("GET", "/api/deadlines", undefined, { bg: bg })
		    .then(function (r) {
			var list = Array.isArray(r.conversations) ? r.conversations : [];

			updateSkew(r.now);
			/* Overdue first, then by the deadline. */
			state.deadlines = list.map(function (c, i) {
				return [isOverdue(c) ? 0 : 1, i, c];
			}).sort(function (a, b) {
				return a[0] - b[0] || a[1] - b[1];
			}).map(function (x) { return x[2]; });
			state.dlLoaded = true;
			renderDeadlines();
		}, function (e) {
			fail(e, "deadlines", bg);
		});
	}

	function renderDeadlines() {
		var list = $("deadlines"), frag = [], late = 0, group = null;

		if (!isSupervisor())
			return;
		state.deadlines.forEach(function (c) {
			var g = isOverdue(c) ? "overdue" : "today";

			if (g === "overdue")
				late++;
			if (g !== group) {
				group = g;
				frag.push(el("li", "dl-group dl-group-" + g,
				    t("dl." + g)));
			}
			frag.push(queueItem(c, "deadline-item"));
		});
		list.replaceChildren.apply(list, frag);
		$("deadlines-empty").hidden = !state.dlLoaded ||
		    state.deadlines.length > 0;
		$("tab-dl-count").textContent = state.dlLoaded ? (late > 0 ?
		    t("dl.count_late", { n: state.deadlines.length, late: late }) :
		    t("queue.count", { n: state.deadlines.length })) : "";
	}

	/* ---- holding, handing over, closing ---- */

	function newestSeen() {
		var h = state.conv && Array.isArray(state.conv.history) ?
		    state.conv.history : [], max = 0;

		h.forEach(function (e) {
			if (e.type === "message" && Number(e.id) > max)
				max = Number(e.id);
		});
		return max;
	}

	/* One POST on the open conversation from a button; then read again. */
	function convAction(btn, path, body, ctx, ok, dialog) {
		var id = state.openId, err = dialog ? $(dialog + "-error") : null,
		    fresh = false;

		if (id === null || btn.disabled)
			return;
		btn.disabled = true;
		btn.setAttribute("aria-busy", "true");
		clearError();
		if (err !== null)
			err.textContent = "";
		api("POST", "/api/conversations/" + id + "/" + path, body)
		    .then(function (r) {
			if (dialog)
				$(dialog + "-dialog").close();
			fresh = null;
			ok(r);
		}, function (e) {
			if (e.code === "escalation_incomplete") {
				if (dialog)
					$(dialog + "-dialog").close();
				closeBlocked(id);
				return;
			}
			if (dialog && e.code !== "signed_out" &&
			    e.code !== "sign_in_incomplete" && e.code !== "new_message") {
				err.textContent = t(errorKey(e.code, ctx),
				    { code: e.code });
				return;
			}
			if (dialog)
				$(dialog + "-dialog").close();
			fresh = e.code === "new_message";
			fail(e, ctx);
		}).then(function () {
			btn.disabled = false;
			btn.removeAttribute("aria-busy");
			scheduleQueue(0);
			if (isSupervisor())
				scheduleDeadlines(0);
			if (id === state.openId) {
				fetchConversation(false).then(function () {
					/* What was done shows at the end; what came in, marked. */
					if (fresh)
						showUnseen(body.seen);
					else if (fresh === null)
						$("history").scrollTop = $("history").scrollHeight;
				});
				if (state.recContact !== null)
					loadRecord(state.recContact);
			}
		});
	}

	/*
	 * What came in after the counsellor last looked, brought into view
	 * and marked (by the sender's time, it may sit above the end).
	 */
	function showUnseen(seen) {
		var nodes = $("history").querySelectorAll(
		    "[data-entry-type=message][data-direction=in]"), i, last = null;

		for (i = 0; i < nodes.length; i++)
			if (Number(nodes[i].getAttribute("data-entry-id")) > seen) {
				nodes[i].classList.add("is-unseen");
				last = nodes[i];
			}
		if (last !== null)
			last.scrollIntoView({ block: "center" });
	}

	function release() {
		convAction($("release"), "release", {}, "release", function () {
			announce(t("conv.released_ok"));
		});
	}

	function openClose() {
		var box = $("close-reasons"), same = state.closeFor === state.openId;

		if (state.conv === null)
			return;
		if (!same)
			$("close-note").value = "";
		state.closeFor = state.openId;
		/* What the counsellor has seen: newer makes the server refuse. */
		state.closeSeen = newestSeen();
		choices(box, deskList("close_reasons"), "radio", "close-reason", same);
		$("close-error").textContent = "";
		$("close-esc").textContent = escMissingText("close.esc_warning");
		$("close-esc").hidden = $("close-esc").textContent === "";
		$("close-dialog").showModal();
		focusSoon(box.querySelector("input:checked") ||
		    box.querySelector("input"));
	}

	function confirmClose(ev) {
		var r = $("close-reasons").querySelector("input:checked"),
		    note = $("close-note").value.trim(),
		    body = { reason: r ? r.value : "", seen: state.closeSeen };

		ev.preventDefault();
		if (r === null) {
			$("close-error").textContent = t("err.close.reason");
			focusSoon($("close-reasons").querySelector("input"));
			return;
		}
		if (note !== "")
			body.note = note;
		convAction($("close-confirm"), "close", body, "close", function () {
			$("close-note").value = "";
			state.closeFor = null;
			announce(t("close.done"));
		}, "close");
	}

	function presenceRank(p) {
		return p === "online" ? 0 : p === "away" ? 1 : 2;
	}

	function openTransfer() {
		var sel = $("transfer-select"), c = state.conv &&
		    state.conv.conversation, holder = c && c.assignee ?
		    c.assignee.id : null;

		if (!c)
			return;
		sel.replaceChildren(option("", t("app.loading")));
		sel.disabled = true;
		$("transfer-confirm").disabled = true;
		$("transfer-error").textContent = "";
		$("transfer-note").value = "";
		$("transfer-dialog").showModal();
		api("GET", "/api/staff").then(function (r) {
			var list = (Array.isArray(r.staff) ? r.staff : []).filter(
			    function (s) {
				return !s.disabled && (s.role === "counsellor" ||
				    s.role === "supervisor");
			}).sort(function (a, b) {
				return presenceRank(a.presence) -
				    presenceRank(b.presence);
			}), opts = [option("", t("transfer.choose"))];

			list.forEach(function (s) {
				var o = option(String(s.id), t("transfer.option", {
				    name: s.display_name, role: t("role." + s.role),
				    presence: t("presence." + (has("presence." +
				    s.presence) ? s.presence : "offline")) }) +
				    (s.id === holder ? t("transfer.holder") : ""));

				o.disabled = s.id === holder;
				opts.push(o);
			});
			sel.replaceChildren.apply(sel, opts);
			sel.disabled = false;
			$("transfer-confirm").disabled = false;
			focusSoon(sel);
		}, function (e) {
			if (e.code === "signed_out")
				$("transfer-dialog").close();
			if (!fail(e, "transfer"))
				$("transfer-error").textContent = t(errorKey(e.code,
				    "transfer"), { code: e.code });
		});
	}

	function confirmTransfer(ev) {
		var sel = $("transfer-select"), note = $("transfer-note").value.trim(),
		    name = sel.selectedIndex > 0 ?
		    sel.options[sel.selectedIndex].textContent : "", body;

		ev.preventDefault();
		if (sel.value === "") {
			$("transfer-error").textContent = t("err.transfer.choose");
			sel.focus();
			return;
		}
		body = { to: Number(sel.value) };
		if (note !== "")
			body.note = note;
		convAction($("transfer-confirm"), "transfer", body, "transfer",
		    function () {
			announce(t("transfer.done", { name: name }));
		}, "transfer");
	}

	/* ---- the nickname, beside the case number ---- */

	function renderNick(c) {
		var input = $("nick-input"), nick = c && c.contact &&
		    c.contact.nickname ? c.contact.nickname : "";

		$("nick-form").hidden = !c;
		/* What the counsellor is typing stays. */
		if (input.value.trim() === state.nickShown)
			input.value = nick;
		state.nickShown = nick;
		$("nick-save").hidden = input.value.trim() === nick;
	}

	function saveNick(ev) {
		var input = $("nick-input"), c = state.conv && state.conv.conversation,
		    nick = input.value.trim(), btn = $("nick-save");

		ev.preventDefault();
		if (!c || !c.contact || btn.disabled)
			return;
		if (new TextEncoder().encode(nick).length > 100) {
			showError("too_long", "nick");
			return;
		}
		btn.disabled = true;
		clearError();
		api("PUT", "/api/contacts/" + c.contact.id + "/nickname",
		    { nickname: nick }).then(function () {
			c.contact.nickname = nick === "" ? null : nick;
			input.value = state.nickShown = nick;
			renderConvHead(c);
			if (state.rec !== null && state.recContact === c.contact.id)
				state.rec.nickname = c.contact.nickname;
			announce(t("nick.saved"));
		}, function (e) {
			fail(e, "nick");
		}).then(function () {
			btn.disabled = false;
			scheduleQueue(0);
		});
	}

	/* ---- the case record, beside the conversation ---- */

	var ATTRS = ["age_band", "gender", "family", "municipality"];
	var OUTCOMES = ["pending", "connected", "declined", "unknown"];

	function buildAttrs() {
		var rows = ATTRS.map(function (n) {
			var id = "rec-" + n, tid = "case-" + n.replace("_", "-"),
			    row = el("div", "attr"), lab = el("label", "attr-label"),
			    input = el(n === "municipality" ? "input" : "select"),
			    cl = el("label", "consent-label"), date = el("input");

			lab.htmlFor = id;
			lab.setAttribute("data-i18n", "rec.attr." + n);
			input.id = id;
			input.setAttribute("data-testid", tid);
			if (n === "municipality") {
				input.type = "text";
				input.maxLength = 100;
				input.autocomplete = "off";
			}
			date.type = "date";
			date.id = id + "-consent";
			date.setAttribute("data-testid", tid + "-consent");
			cl.htmlFor = date.id;
			cl.setAttribute("data-i18n", "rec.consent");
			row.append(lab, input, cl, date);
			return row;
		});

		$("rec-attrs").replaceChildren.apply($("rec-attrs"), rows);
	}

	function today() {
		var k = tokyo(serverNow());

		return k.y + "-" + two(k.m) + "-" + two(k.d);
	}

	/* "2026-11-24" as the desk writes a date. */
	function fmtYmd(s) {
		var m = /^(\d{4})-(\d\d)-(\d\d)/.exec(String(s || ""));

		if (m === null)
			return "";
		return state.lang === "en" ? m[1] + "-" + m[2] + "-" + m[3] :
		    m[1] + "年" + Number(m[2]) + "月" + Number(m[3]) + "日";
	}

	function recValues() {
		var v = { attributes: {}, categories: [],
		    summary: $("rec-summary").value }, boxes =
		    $("rec-cats").querySelectorAll("input:checked"), i;

		ATTRS.forEach(function (n) {
			var value = $("rec-" + n).value.trim(),
			    on = $("rec-" + n + "-consent").value;

			v.attributes[n] = { value: value || null,
			    consent_on: value && on ? on : null };
		});
		for (i = 0; i < boxes.length; i++)
			v.categories.push(boxes[i].value);
		return v;
	}

	function setRecValues(v) {
		var boxes = $("rec-cats").querySelectorAll("input"), cats =
		    Array.isArray(v.categories) ? v.categories : [], i;

		ATTRS.forEach(function (n) {
			var a = v.attributes && v.attributes[n] || {};

			$("rec-" + n).value = a.value || "";
			$("rec-" + n + "-consent").value = a.consent_on || "";
			$("rec-" + n + "-consent").removeAttribute("aria-invalid");
		});
		for (i = 0; i < boxes.length; i++)
			boxes[i].checked = cats.indexOf(boxes[i].value) >= 0;
		$("rec-summary").value = v.summary || "";
	}

	function recDirty() {
		return state.rec !== null && state.recBase !== null &&
		    JSON.stringify(recValues()) !== state.recBase;
	}

	function onRecInput() {
		var dirty = recDirty();

		$("rec-dirty").hidden = !dirty;
		if (dirty)
			$("rec-saved").hidden = true;
	}

	/* The record follows the open conversation's contact. */
	function showRecordOf(cid) {
		if (cid === state.recContact)
			return;
		if (recDirty())
			state.recDrafts[state.recContact] = { values: recValues(),
			    version: state.rec.version };
		state.recContact = cid;
		state.rec = null;
		state.recBase = null;
		state.recMine = null;
		state.recMissing = false;
		$("rec-saved").hidden = true;
		$("rec-error").textContent = "";
		rsReset();
		renderRecord();
		if (cid !== null)
			loadRecord(cid);
	}

	/*
	 * Reads the record. The form takes the server's values unless the
	 * counsellor has changed it: then only the lists are new, and the
	 * version stays the one their edit started from.
	 */
	function loadRecord(cid, mine, bg) {
		var seq = ++state.recSeq;

		return api("GET", "/api/contacts/" + cid + "/case-record", undefined,
		    { bg: bg }).then(function (r) {
			var draft = state.recDrafts[cid];

			if (seq !== state.recSeq || cid !== state.recContact)
				return;
			if (state.rec !== null && recDirty() && !mine) {
				state.rec.referrals = r.referrals;
				state.rec.follow_ups = r.follow_ups;
				state.rec.conversations = r.conversations;
				state.rec.restriction = r.restriction;
				renderRecLists();
				return;
			}
			state.rec = r;
			setRecValues(r);
			state.recBase = JSON.stringify(recValues());
			delete state.recDrafts[cid];
			if (mine === undefined && draft)
				mine = draft.version === r.version ? null : draft.values;
			if (draft && !mine)
				setRecValues(draft.values);
			state.recMine = mine || null;
			renderRecord();
			if (state.recMine !== null)
				focusSoon($("rec-conflict"));
		}, function (e) {
			if (seq !== state.recSeq || cid !== state.recContact)
				return;
			if (e.code === "not_found") {
				state.recMissing = true;
				renderRecord();
				return;
			}
			fail(e, "record", bg);
		});
	}

	function renderRecord() {
		var r = state.rec, open = state.recOpen && state.view === "desk";

		$("record").hidden = !open;
		$("view-desk").classList.toggle("with-record", open);
		$("rec-toggle").setAttribute("aria-expanded", String(open));
		$("rec-toggle").classList.toggle("is-on", open);
		$("rec-case").textContent = r !== null ? (r.case_number || "") +
		    (r.nickname ? t("rec.nickname", { nick: r.nickname }) : "") : "";
		$("rec-body").hidden = r === null;
		$("rec-empty").hidden = r !== null;
		$("rec-empty").textContent = state.recContact === null ?
		    t("rec.none") : state.recMissing ? t("rec.missing") :
		    t("app.loading");
		if (r === null)
			return;
		$("rec-updated").textContent = r.updated_at ? t("rec.updated", {
		    time: fmtDateTime(r.updated_at), name: r.updated_by || "" }) :
		    t("rec.new");
		renderMine();
		renderRecLists();
		onRecInput();
		if ($("ref-date").value === "")
			$("ref-date").value = today();
	}

	/* After a conflict: what the counsellor had typed, kept in view. */
	function renderMine() {
		var m = state.recMine, box = $("rec-mine"), parts = [], attrs =
		    state.desk !== null && state.desk.case_attributes || {};

		$("rec-conflict").hidden = m === null;
		if (m === null)
			return;
		ATTRS.forEach(function (n) {
			var a = m.attributes[n];

			if (a.value)
				parts.push(t("rec.attr." + n) + "：" + (n === "municipality" ?
				    a.value : codeLabel(attrs[n] || [], a.value)) +
				    (a.consent_on ? t("rec.mine_consent",
				    { date: fmtYmd(a.consent_on) }) : ""));
		});
		if (m.categories.length > 0)
			parts.push(t("rec.categories") + "：" + m.categories.map(
			    function (c) {
				return codeLabel(deskList("case_categories"), c);
			}).join(t("list.sep")));
		box.replaceChildren(el("p", "rec-mine-attrs", parts.join("\n")),
		    el("p", "rec-mine-summary", m.summary));
	}

	function recItem(main, extra, text) {
		var li = el("li", "rec-item");

		li.appendChild(el("span", "rec-item-main", main));
		if (extra)
			li.appendChild(el("span", "rec-item-extra", extra));
		if (text)
			li.appendChild(el("span", "rec-item-text", text));
		return li;
	}

	function renderRecLists() {
		var r = state.rec, refs, fus, convs;

		if (r === null)
			return;
		refs = (r.referrals || []).map(function (x) {
			return recItem(codeLabel(deskList("referral_agencies"),
			    String(x.agency)), fmtYmd(x.referred_on) + (x.outcome ?
			    "・" + t("outcome." + x.outcome) : ""), x.note);
		});
		fus = (r.follow_ups || []).map(function (x) {
			return recItem(x.due_on ? t("fu.due", { date: fmtYmd(x.due_on) }) :
			    t("fu.no_date"), x.done_at ? t("fu.done") : "", x.plan);
		});
		convs = (r.conversations || []).slice().reverse().map(function (x) {
			var li = el("li", "rec-item"), b = el("button", "btn-link",
			    t("rc.item", { id: x.id, time: fmtDateTime(x.opened_at) }));

			b.type = "button";
			b.setAttribute("data-conversation-id", String(x.id));
			if (x.id === state.openId)
				b.setAttribute("aria-current", "true");
			li.append(b, el("span", "rec-item-extra",
			    (has("state." + x.state) ? t("state." + x.state) : x.state) +
			    (x.close_reason ? "・" + codeLabel(deskList(
			    "close_reasons"), x.close_reason) : "")));
			return li;
		});
		[["ref-list", refs, "ref.none"], ["fu-list", fus, "fu.none"],
		    ["rc-list", convs, "rc.none"]].forEach(function (x) {
			if (x[1].length === 0)
				x[1].push(el("li", "rec-item muted", t(x[2])));
			$(x[0]).replaceChildren.apply($(x[0]), x[1]);
		});
		renderRestriction();
	}

	function recError(key, params, focus) {
		$("rec-error").textContent = key ? t(key, params) : "";
		if (focus)
			focusSoon(focus);
	}

	function saveRecord(ev) {
		var cid = state.recContact, v = recValues(), btn = $("rec-save"),
		    missing = null, r = state.rec;

		ev.preventDefault();
		if (r === null || btn.disabled)
			return;
		recError(null);
		ATTRS.forEach(function (n) {
			var date = $("rec-" + n + "-consent"),
			    bad = !!v.attributes[n].value && !date.value;

			if (bad)
				date.setAttribute("aria-invalid", "true");
			else
				date.removeAttribute("aria-invalid");
			if (bad && missing === null)
				missing = n;
		});
		if (missing !== null) {
			recError("err.record.consent_of", { field:
			    t("rec.attr." + missing) }, $("rec-" + missing + "-consent"));
			return;
		}
		setBusy(btn, "rec.saving", "rec.save", true);
		api("PUT", "/api/contacts/" + cid + "/case-record", {
		    version: r.version, attributes: v.attributes,
		    categories: v.categories, summary: v.summary })
		    .then(function (res) {
			if (cid !== state.recContact)
				return;
			r.version = res.version;
			state.recBase = JSON.stringify(v);
			state.recMine = null;
			renderMine();
			$("rec-saved").textContent = t("rec.saved",
			    { time: fmtTime(new Date(serverNow()).toISOString()) });
			$("rec-saved").hidden = false;
			onRecInput();
			return loadRecord(cid);
		}, function (e) {
			if (cid !== state.recContact)
				return;
			if (e.code === "stale") {
				state.rec = null;
				loadRecord(cid, v);
				return;
			}
			if (e.code === "consent" || e.code === "invalid_code" ||
			    e.code === "invalid")
				recError(errorKey(e.code, "record"));
			else
				fail(e, "record");
		}).then(function () {
			setBusy(btn, "rec.saving", "rec.save", false);
		});
	}

	/* Puts back what the counsellor had typed, on the newest version. */
	function restoreMine() {
		if (state.recMine === null)
			return;
		setRecValues(state.recMine);
		state.recMine = null;
		renderMine();
		onRecInput();
		focusSoon($("rec-summary"));
	}

	/* The referral and follow-up forms: one POST, then the lists again. */
	function recAdd(ev, path, btn, body, check, clear) {
		var cid = state.recContact, bad;

		ev.preventDefault();
		if (cid === null || btn.disabled)
			return;
		recError(null);
		bad = check();
		if (bad) {
			recError(bad[0], null, bad[1]);
			return;
		}
		btn.disabled = true;
		api("POST", "/api/contacts/" + cid + "/" + path, body)
		    .then(function () {
			clear.forEach(function (id) { $(id).value = ""; });
			announce(t("rec.added"));
			return loadRecord(cid);
		}, function (e) {
			if (e.code === "invalid" || e.code === "invalid_code")
				recError(errorKey(e.code, path));
			else
				fail(e, "record");
		}).then(function () {
			btn.disabled = false;
		});
	}

	function addReferral(ev) {
		var body = { agency: $("ref-agency").value,
		    referred_on: $("ref-date").value,
		    outcome: $("ref-outcome").value }, note = $("ref-note").value.trim();

		if (note !== "")
			body.note = note;
		recAdd(ev, "referrals", $("ref-add"), body, function () {
			return !body.agency ? ["err.referrals.agency", $("ref-agency")] :
			    !body.referred_on ? ["err.referrals.date", $("ref-date")] :
			    null;
		}, ["ref-note"]);
	}

	function addFollowUp(ev) {
		var body = { plan: $("fu-plan").value.trim() }, due = $("fu-date").value;

		if (due !== "")
			body.due_on = due;
		recAdd(ev, "follow-ups", $("fu-add"), body, function () {
			return body.plan === "" ? ["err.follow-ups.plan", $("fu-plan")] :
			    null;
		}, ["fu-plan", "fu-date"]);
	}

	/* ---- cooldowns and blocks: supervisors place and lift them ---- */

	function renderRestriction() {
		var x = state.rec && state.rec.restriction, sup = isSupervisor(),
		    sel = $("rs-hours"), v = sel.value || "24";

		$("rs").hidden = !state.rec || !(x || sup);
		$("rs-status").hidden = !x;
		$("rs-lift").hidden = !x || !sup;
		$("rs-form").hidden = !!x || !sup;
		sel.replaceChildren.apply(sel, [24, 72, 168].map(function (h) {
			return option(h, t("rs.h", { h: h }));
		}).concat(option("custom", t("rs.custom"))));
		sel.value = v;
		rsForm(true);
		if (x)
			$("rs-status").replaceChildren(el("b", null, x.ends_at ?
			    t("rs.until", { until: fmtDateTime(x.ends_at) }) :
			    t("rs.block_until")), "\n" + t("rs.by", { name: x.by || "" }) +
			    (x.reason ? "\n" + t("rs.why", { reason: x.reason }) : ""));
	}

	/* Hours for a cooldown only; any change takes the review back. */
	function rsForm(keep) {
		$("rs-h").hidden = $("rs-kind").value === "block";
		$("rs-custom").hidden = $("rs-hours").value !== "custom";
		if (keep !== true)
			$("rs-sure").hidden = true;
	}

	function rsReset() {
		$("rs-reason").value = $("rs-custom").value =
		    $("rs-error").textContent = "";
		rsForm();
	}

	function rsBody() {
		var h = $("rs-hours").value, b = { kind: $("rs-kind").value,
		    reason: $("rs-reason").value.trim() };

		h = h === "custom" ? $("rs-custom").value.trim() : h;
		if (b.kind === "cooldown")
			b.hours = /^[0-9]{1,4}$/.test(h) ? +h : 0;
		return b;
	}

	/* First what will happen, said plainly; then the button that does it. */
	function rsReview(ev) {
		var b = rsBody(), bad = b.hours === 0 ||
		    b.hours > 2160 ? "hours" : b.reason === "" ? "reason" : "";

		ev.preventDefault();
		$("rs-error").textContent = bad && t("err.restriction." + bad);
		if (bad)
			return focusSoon($(bad === "reason" ? "rs-reason" :
			    $("rs-custom").hidden ? "rs-hours" : "rs-custom"));
		$("rs-text").replaceChildren.apply($("rs-text"), [b.hours ?
		    t("rs.until", { until: fmtDateTime(new Date(serverNow() +
		    b.hours * 36e5).toISOString()) }) : t("rs.block_until")].concat(
		    t("rs.effects").split("\n")).map(function (s) {
			return el("li", null, s);
		}));
		$("rs-sure").hidden = false;
		focusSoon($("rs-sure"));
	}

	/* Then everything that shows it is read again. */
	function rsSend(method, body, btn, done) {
		var cid = state.recContact;

		btn.disabled = true;
		api(method, "/api/contacts/" + cid + "/restriction", body)
		    .then(function () {
			if (cid === state.recContact)
				rsReset();
			announce(t(done));
		}, function (e) {
			/* 404: lifted already (or gone): the record will say. */
			if (e.status !== 404)
				fail(e, "restriction");
		}).then(function () {
			btn.disabled = false;
			scheduleQueue(0);
			scheduleDeadlines(0);
			fetchConversation(false);
			if (cid === state.recContact)
				loadRecord(cid);
		});
	}

	function toggleRecord(open) {
		state.recOpen = open;
		try {
			window.localStorage.setItem(REC_KEY, open ? "1" : "0");
		} catch (e) { /* this page only */ }
		renderRecord();
		focusSoon(open ? $("rec-hide") : $("rec-toggle"));
	}

	/* ---- supervisors: crisis alerts, a banner above the desk ---- */

	var scheduleAlerts = refresher(fetchAlerts);

	/*
	 * GET /api/crisis/alerts: what still waits for an acknowledgement.
	 * An answer older than a change made here (an alert from the stream,
	 * an acknowledgement) is dropped: the next read says what is true.
	 */
	function fetchAlerts(bg) {
		var seq;

		if (!isSupervisor() || !state.mainStarted)
			return Promise.resolve();
		seq = ++state.alertsSeq;
		return api("GET", "/api/crisis/alerts", undefined, { bg: bg })
		    .then(function (r) {
			if (seq !== state.alertsSeq || !state.mainStarted)
				return;
			state.alerts = groupAlerts(Array.isArray(r.alerts) ? r.alerts : []);
			renderAlerts();
		}, function (e) {
			fail(e, "alerts", true);
		});
	}

	/* One row per conversation: an acknowledgement is per conversation. */
	function groupAlerts(list) {
		var rows = [], by = {};

		list.forEach(function (a) {
			var id = Number(a.conversation), row = by[id];

			if (!(id > 0))
				return;
			if (row === undefined) {
				row = by[id] = { conversation: id, case_number: null,
				    at: a.at, round: 0 };
				rows.push(row);
			}
			/* Oldest first: the first rise says since when; the newest, how. */
			row.case_number = a.case_number || row.case_number;
			row.round = Math.max(row.round, Number(a.alerts_sent) || 0);
			row.source = a.source;
			row.raised_by = a.raised_by || null;
		});
		return rows;
	}

	function findAlert(id) {
		for (var i = 0; i < state.alerts.length; i++)
			if (state.alerts[i].conversation === id)
				return state.alerts[i];
		return null;
	}

	function alertCase(a) {
		var i;

		if (a.case_number)
			return a.case_number;
		i = indexOf(a.conversation);
		return i >= 0 ? caseName(state.queue[i]) : "#" + a.conversation;
	}

	/* A round from the stream: shown at once, with the sound. */
	function onCrisisAlert(data) {
		var id = Number(data.conversation), row;

		if (!isSupervisor() || !(id > 0))
			return;
		state.alertsSeq++;
		row = findAlert(id);
		if (row === null) {
			row = { conversation: id, case_number: null, round: 0,
			    at: new Date(serverNow()).toISOString(), source: null,
			    raised_by: null };
			state.alerts.push(row);
		}
		row.round = Math.max(row.round, Number(data.round) || 1);
		renderAlerts();
		chime();
		announceUrgent(t("alert.new", { case: alertCase(row) }));
	}

	var urgentTimer = null;

	/* Said at once by a screen reader, over what it was saying. */
	function announceUrgent(text) {
		var live = $("live-urgent");

		live.textContent = "";
		if (urgentTimer !== null)
			clearTimeout(urgentTimer);
		urgentTimer = setTimeout(function () {
			urgentTimer = null;
			live.textContent = text;
		}, 60);
	}

	/* "19:55", then "3分前": when it rose, and how long it has waited. */
	function alertRow(a) {
		var li = el("li", "alert-row"), info = el("span", "alert-info"),
		    ms = serverNow() - Date.parse(a.at), when, open, ack;

		li.setAttribute("data-testid", "crisis-alert");
		li.setAttribute("data-conversation-id", String(a.conversation));
		info.appendChild(el("span", "alert-case", alertCase(a)));
		when = el("span", "alert-when", t("alert.when", { time: fmtTime(a.at),
		    ago: ms < 60000 ? t("alert.just_now") : t("alert.ago",
		    { time: fmtDuration(ms) }) }));
		when.title = fmtDateTime(a.at);
		info.appendChild(when);
		if (a.source)
			info.appendChild(el("span", "alert-source", a.source === "raised" ?
			    (a.raised_by ? t("alert.raised_by", { name: a.raised_by }) :
			    t("alert.raised")) : t("alert.detected")));
		if (a.round > 0)
			info.appendChild(el("span", "alert-round", t("alert.round",
			    { n: a.round })));
		open = el("button", "btn alert-open", t("alert.open"));
		ack = el("button", "btn alert-ack", t("alert.ack"));
		[[open, "open"], [ack, "ack"]].forEach(function (x) {
			x[0].type = "button";
			x[0].setAttribute("data-action", x[1]);
			x[0].setAttribute("data-conversation-id", String(a.conversation));
			x[0].setAttribute("data-testid", "crisis-alert-" + x[1]);
		});
		/* Busy, not disabled: a disabled button would drop the focus. */
		if (state.acking[a.conversation]) {
			ack.setAttribute("aria-busy", "true");
			ack.setAttribute("aria-disabled", "true");
		}
		li.append(info, el("span", "alert-buttons"));
		li.lastChild.append(open, ack);
		return li;
	}

	function renderAlerts() {
		var box = $("alerts"), list = $("alert-list"), show = isSupervisor() &&
		    deskLive() && state.alerts.length > 0,
		    active = document.activeElement, keep = null, inside,
		    fresh = document.createElement("ul"), again;

		inside = box.contains(active);
		if (inside && active.getAttribute("data-action"))
			keep = "[data-action=" + active.getAttribute("data-action") +
			    "][data-conversation-id=\"" +
			    active.getAttribute("data-conversation-id") + "\"]";
		state.alerts.forEach(function (a) {
			fresh.appendChild(alertRow(a));
		});
		/* Rebuilt only when it changed: a press in progress survives. */
		if (fresh.innerHTML !== list.innerHTML)
			list.replaceChildren.apply(list,
			    Array.prototype.slice.call(fresh.childNodes));
		$("alerts-heading").textContent = t("alert.heading",
		    { n: state.alerts.length });
		if (box.hidden !== !show)
			keepEnd(function () {
				box.hidden = !show;
			});
		renderSound();
		updateTitle();
		if (!inside || box.contains(document.activeElement))
			return;
		/* The row that had the focus went: the next one, or the desk. */
		again = keep !== null ? list.querySelector(keep) : null;
		if (again === null)
			again = list.querySelector("[data-action=ack]");
		focusSoon(again !== null ? again : state.openId !== null ?
		    $("history") : $("queue"));
	}

	function ackAlert(id) {
		var row = findAlert(id);

		if (row === null || state.acking[id])
			return;
		state.acking[id] = true;
		renderAlerts();
		function done() {
			state.alertsSeq++;
			state.alerts = state.alerts.filter(function (a) {
				return a.conversation !== id;
			});
			announce(t("alert.acked", { case: alertCase(row) }));
		}
		api("POST", "/api/conversations/" + id + "/crisis/ack", {})
		    .then(done, function (e) {
			/* Another supervisor was first: it is acknowledged. */
			if (e.code === "nothing_to_acknowledge")
				done();
			else
				fail(e, "ack");
		}).then(function () {
			delete state.acking[id];
			renderAlerts();
			scheduleAlerts(0);
			scheduleQueue(0);
		});
	}

	function onAlertClick(ev) {
		var b = ev.target.closest("[data-action]"), id;

		if (b === null || b.disabled)
			return;
		id = Number(b.getAttribute("data-conversation-id"));
		if (b.getAttribute("data-action") === "ack") {
			ackAlert(id);
		} else {
			if (state.view === "reports")
				goDesk();
			showTab("queue");
			openConversation(id);
			focusSoon($("history"));
		}
	}

	/* ---- the alert sound: made here with Web Audio, no file ---- */

	var audio = { ctx: null, chimes: 0 };

	function audioClass() {
		return window.AudioContext || window.webkitAudioContext || null;
	}

	function audioReady() {
		return audio.ctx !== null && audio.ctx.state === "running";
	}

	/*
	 * Browsers let a page play sound only once the user has done
	 * something on it: the context is made (or resumed) in such a moment,
	 * never before, so the first alert does not meet a silent one.
	 */
	function unlockAudio() {
		var AC = audioClass();

		if (AC === null || !isSupervisor() || !state.mainStarted)
			return Promise.resolve();
		if (audio.ctx === null) {
			try {
				audio.ctx = new AC();
			} catch (e) {
				return Promise.resolve();
			}
			audio.ctx.addEventListener("statechange", renderSound);
		}
		renderSound();
		if (audio.ctx.state === "running")
			return Promise.resolve();
		return audio.ctx.resume().catch(function () { return null; })
		    .then(renderSound);
	}

	function onGesture() {
		if (!audioReady() && isSupervisor() && state.mainStarted)
			unlockAudio();
	}

	/* A soft falling two-note chime, about a second long. */
	function chime() {
		var ctx = audio.ctx, at;

		if (!audioReady()) {
			renderSound();
			return;
		}
		at = ctx.currentTime + 0.03;
		tone(ctx, 659.25, at, 0.9);
		tone(ctx, 523.25, at + 0.35, 1.2);
		audio.chimes++;
		$("alerts").setAttribute("data-chimes", String(audio.chimes));
	}

	function tone(ctx, freq, at, len) {
		var osc = ctx.createOscillator(), gain = ctx.createGain();

		osc.type = "sine";
		osc.frequency.value = freq;
		gain.gain.setValueAtTime(0.0001, at);
		gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
		gain.gain.exponentialRampToValueAtTime(0.0001, at + len);
		osc.connect(gain);
		gain.connect(ctx.destination);
		osc.start(at);
		osc.stop(at + len + 0.05);
	}

	/* The button says the sound is off, and turns it on (with a chime). */
	function testSound() {
		unlockAudio().then(function () {
			if (audioReady()) {
				chime();
				announce(t("sound.on"));
			}
		});
	}

	function renderSound() {
		var ready = audioReady(), can = audioClass() !== null,
		    sup = isSupervisor() && deskLive();

		$("sound").hidden = !sup || ready || !can;
		$("sound").title = t("sound.enable_title");
		$("alert-sound").hidden = ready || !can;
		$("alerts").setAttribute("data-sound", ready ? "on" : "blocked");
	}

	/* ---- the crisis level of the open conversation ---- */

	function levelName(level) {
		var n = Number(level);

		return t("level." + (n >= 2 ? 2 : n >= 1 ? 1 : 0));
	}

	/* Always shown; changeable while the conversation is open. */
	function renderLevel(c) {
		var btn = $("level"), n = c ? Number(c.crisis_level) || 0 : 0;

		btn.hidden = !c;
		btn.disabled = !c || c.state === "closed";
		btn.setAttribute("data-level", String(n));
		$("level-text").textContent = t("level.text", { level: levelName(n) });
		btn.setAttribute("aria-label", btn.disabled ? t("level.text",
		    { level: levelName(n) }) : t("level.change_label",
		    { level: levelName(n) }));
	}

	function openLevel() {
		var c = state.conv && state.conv.conversation, box = $("level-choices"),
		    now;

		if (!c || c.state === "closed")
			return;
		now = Number(c.crisis_level) || 0;
		/* A reason half-written for this conversation stays. */
		if (state.levelFor !== state.openId)
			$("level-reason").value = "";
		state.levelFor = state.openId;
		box.replaceChildren.apply(box, [2, 1, 0].map(function (n) {
			var lab = el("label", "choice level-choice level-choice-" + n),
			    input = el("input");

			input.type = "radio";
			input.name = "level";
			input.value = String(n);
			/* Only a supervisor takes a conversation down from high:
			 * the server refuses it from anyone else. */
			input.disabled = n === now || (now === 2 && !isSupervisor());
			input.setAttribute("data-testid", "crisis-choice");
			lab.append(input, el("span", null, t("level.opt_" + n) +
			    (n === now ? t("level.current") : "")));
			return lab;
		}));
		$("level-error").textContent = now === 2 && !isSupervisor() ?
		    t("level.supervisor_only") : "";
		levelEffect();
		$("level-dialog").showModal();
		focusSoon(box.querySelector("input:not(:disabled)"));
	}

	/* What the change will do, said before it is done. */
	function levelEffect() {
		var c = state.conv && state.conv.conversation,
		    r = $("level-choices").querySelector("input:checked"),
		    to = r ? Number(r.value) : null, key = null;

		if (to === 2)
			key = "level.effect_up";
		else if (to !== null && c && Number(c.crisis_level) === 2)
			key = "level.effect_down";
		$("level-effect").hidden = key === null;
		$("level-effect").textContent = key ? t(key) : "";
	}

	function confirmLevel(ev) {
		var r = $("level-choices").querySelector("input:checked"),
		    reason = $("level-reason").value.trim(), level, bad = null;

		ev.preventDefault();
		if (r === null)
			bad = ["err.level.choose", $("level-choices").querySelector(
			    "input:not(:disabled)")];
		else if (reason === "")
			bad = ["err.level.reason", $("level-reason")];
		else if (new TextEncoder().encode(reason).length > REASON_MAX)
			bad = ["err.level.too_long", $("level-reason")];
		if (bad !== null) {
			$("level-error").textContent = t(bad[0]);
			focusSoon(bad[1]);
			return;
		}
		level = Number(r.value);
		convAction($("level-confirm"), "crisis", { level: level,
		    reason: reason }, "level", function () {
			$("level-reason").value = "";
			state.levelFor = null;
			announce(t("level.done", { level: levelName(level) }));
		}, "level");
	}

	/* ---- strict mode: where the person is; the emergency exception ---- */

	function isStrict(c) {
		return !!c && c.line_mode === "strict";
	}

	/* The exception in force, or null: one whose time ran out is none. */
	function exceptionOf(c) {
		var x = c && c.emergency_exception, ms;

		if (!x || typeof x !== "object")
			return null;
		ms = Date.parse(x.until);
		return isNaN(ms) || ms > serverNow() ? x : null;
	}

	/* Until when: the time today, the day too when it is another. */
	function fmtUntil(iso) {
		var ms = Date.parse(iso);

		if (isNaN(ms))
			return "";
		return dayKey(ms) === dayKey(serverNow()) ? fmtTime(iso) :
		    fmtDateTime(iso);
	}

	function exceptionMark() {
		return mark("exception", t("queue.exception"), "exception-mark");
	}

	/* Where the person is: the desk's web chat (open now or not), or LINE. */
	function channelMark(c) {
		var strict = isStrict(c), on = strict && !!c.in_webchat,
		    m = el("span", "tag tag-channel tag-channel-" + (strict ?
		    "webchat" : "line") + (on ? " is-online" : ""));

		m.setAttribute("data-testid", "conv-channel");
		m.setAttribute("data-channel", strict ? "webchat" : "line");
		m.title = t(strict ? "channel.webchat_title" : "channel.line_title");
		m.appendChild(el("span", "visually-hidden", t("channel.label")));
		m.appendChild(el("span", null, t(strict ? "channel.webchat" :
		    "channel.line")));
		if (on)
			m.appendChild(el("span", "channel-online",
			    t("channel.online")));
		return m;
	}

	/* The banner while one runs; its end button for supervisors only. */
	function renderException(c) {
		var x = exceptionOf(c), box = $("exception-strip"), ms;

		if (state.exTimer !== null)
			clearTimeout(state.exTimer);
		state.exTimer = null;
		box.hidden = !(x && c.state !== "closed");
		$("exception-end").hidden = box.hidden || !isSupervisor();
		if (box.hidden)
			return;
		$("exception-text").textContent = t("ex.banner",
		    { until: fmtUntil(x.until) });
		/* No event says it ran out: read it again then. */
		ms = Date.parse(x.until) - serverNow();
		if (ms >= 0 && ms <= 1441 * 60000)
			state.exTimer = setTimeout(function () {
				state.exTimer = null;
				scheduleQueue(0, true);
				scheduleConversation(0, true);
			}, ms + 1000);
	}

	/* Where a reply goes, said above the reply box (strict mode only). */
	function renderRoute(c) {
		var p = $("compose-route"), key = null;

		if (c && c.state !== "closed" && isStrict(c))
			key = exceptionOf(c) ? "route.exception" : c.in_webchat ?
			    "route.webchat_online" : "route.webchat_away";
		p.hidden = key === null;
		p.textContent = key === null ? "" : t(key);
		p.setAttribute("data-route", key === null ? "" :
		    key.replace("route.", ""));
	}

	function openException() {
		var c = state.conv && state.conv.conversation;

		if (!c || !isSupervisor() || !isStrict(c) || c.state === "closed")
			return;
		/* A reason half-written for this conversation stays. */
		if (state.exFor !== state.openId) {
			$("exception-reason").value = "";
			$("exception-minutes").value = "60";
		}
		state.exFor = state.openId;
		$("exception-error").textContent = "";
		$("exception-dialog").showModal();
		focusSoon($("exception-reason"));
	}

	function confirmException(ev) {
		var reason = $("exception-reason").value.trim(),
		    mv = asciiDigits($("exception-minutes").value.trim()),
		    minutes = /^[0-9]{1,4}$/.test(mv) ? Number(mv) : 0, bad = null;

		ev.preventDefault();
		if (reason === "")
			bad = ["err.exception.reason", $("exception-reason")];
		else if (new TextEncoder().encode(reason).length > REASON_MAX)
			bad = ["err.exception.too_long", $("exception-reason")];
		else if (minutes < 1 || minutes > 1440)
			bad = ["err.exception.minutes", $("exception-minutes")];
		if (bad !== null) {
			$("exception-error").textContent = t(bad[0]);
			focusSoon(bad[1]);
			return;
		}
		convAction($("exception-confirm"), "emergency-exception",
		    { reason: reason, minutes: minutes }, "exception", function (r) {
			$("exception-reason").value = "";
			state.exFor = null;
			announce(t("ex.done", { until: fmtUntil(r && r.until) }));
			focusSoon($("exception-end"));
		}, "exception");
	}

	function endException() {
		var id = state.openId, btn = $("exception-end");

		if (id === null || btn.disabled)
			return;
		btn.disabled = true;
		btn.setAttribute("aria-busy", "true");
		clearError();
		api("DELETE", "/api/conversations/" + id + "/emergency-exception")
		    .then(function () {
			announce(t("ex.ended"));
		}, function (e) {
			/* no_exception: it ended already; the reading says so. */
			if (e.code !== "no_exception")
				fail(e, "exception");
		}).then(function () {
			btn.disabled = false;
			btn.removeAttribute("aria-busy");
			scheduleQueue(0);
			if (isSupervisor())
				scheduleDeadlines(0);
			if (id === state.openId)
				fetchConversation(false).then(function () {
					if (!$("exception").hidden)
						focusSoon($("exception"));
				});
		});
	}

	/* ---- the escalation record of the open conversation ---- */

	/*
	 * Read while the conversation is, or was, in crisis. Each read is
	 * audited: it is read again only when something says it changed (the
	 * level, a step recorded, the stream reopened), not on every refresh.
	 */
	function syncEscalation(r, bg) {
		var c = r.conversation || {}, h = Array.isArray(r.history) ?
		    r.history : [], level = Number(c.crisis_level) || 0,
		    x = state.esc, wanted = level > 0 || h.some(function (e) {
			return e.type === "event" && /^crisis_/.test(String(e.kind));
		    });

		if (x !== null && x.id !== state.openId)
			x = state.esc = null;
		if (!wanted && x === null)
			return;
		if (x === null || x.level !== level || state.escStale)
			loadEscalation(state.openId, bg);
	}

	function loadEscalation(id, bg) {
		var seq = ++state.escSeq;

		state.escStale = false;
		return api("GET", "/api/conversations/" + id + "/escalation",
		    undefined, { bg: bg }).then(function (r) {
			if (seq !== state.escSeq || id !== state.openId)
				return;
			state.esc = { id: id, level: Number(r.crisis_level) || 0, r: r };
			renderEscalation();
		}, function (e) {
			if (seq !== state.escSeq || id !== state.openId)
				return;
			if (e.code === "not_found") {
				state.esc = null;
				renderEscalation();
				return;
			}
			fail(e, "escalation", bg);
		});
	}

	function escRecord() {
		var x = state.esc;

		return x !== null && x.id === state.openId ? x.r : null;
	}

	function escLabel(r, code) {
		var p = (r.protocol || []).filter(function (s) {
			return itemCode(s) === code;
		})[0];

		return p ? itemLabel(p) : t("esc.unknown_step", { code: code });
	}

	/* "警察に連絡、都道府県に連絡" as a sentence, or "" when none is missing. */
	function escMissingText(key) {
		var r = escRecord(), c = state.conv && state.conv.conversation,
		    m = r && Array.isArray(r.missing) ? r.missing : [];

		if (!c || Number(c.crisis_level) !== 2 || m.length === 0)
			return "";
		return t(key, { n: m.length, steps: m.map(function (code) {
			return escLabel(r, code);
		}).join(t("list.sep")) });
	}

	function renderEscalation() {
		var r = escRecord(), c = state.conv && state.conv.conversation,
		    level = c ? Number(c.crisis_level) || 0 : 0, steps,
		    show = r !== null && !!c && (level === 2 ||
		    (r.steps || []).length > 0), missing = $("esc-missing");

		renderEscStrip(c, level, r);
		$("esc").hidden = !show;
		if (!show) {
			$("esc-form").hidden = true;
			return;
		}
		steps = Array.isArray(r.steps) ? r.steps : [];
		$("esc-of").textContent = t("esc.of", { id: state.openId });
		missing.textContent = level !== 2 ? "" : r.missing.length > 0 ?
		    escMissingText("esc.missing") : t("esc.complete");
		missing.classList.toggle("is-complete", r.missing.length === 0);
		missing.hidden = level !== 2;
		renderEscSteps(r, steps);
		renderEscForm(r, steps);
	}

	/* Under the conversation's head: at high risk, what is still missing. */
	function renderEscStrip(c, level, r) {
		var strip = $("esc-strip"), show = !!c && level === 2, text;

		if (strip.hidden === show)
			keepEnd(function () { strip.hidden = !show; });
		if (!show)
			return;
		if (r === null)
			text = t("esc.strip_loading");
		else if (r.missing.length > 0)
			text = escMissingText("esc.strip_missing") +
			    (isSupervisor() ? "" : t("esc.by_supervisor"));
		else
			text = t("esc.strip_complete");
		strip.classList.toggle("is-complete", r !== null &&
		    r.missing.length === 0);
		$("esc-strip-text").textContent = text;
	}

	/* The protocol in its order, each with what was done about it. */
	function renderEscSteps(r, steps) {
		var list = $("esc-steps"), by = {}, items = [], codes = {};

		steps.forEach(function (s) { by[s.step] = s; });
		(r.protocol || []).forEach(function (p) {
			codes[itemCode(p)] = true;
			items.push(escItem(itemLabel(p), !!p.required, by[itemCode(p)]));
		});
		/* A step the protocol no longer lists stays on record. */
		steps.forEach(function (s) {
			if (!codes[s.step])
				items.push(escItem(t("esc.unknown_step", { code: s.step }),
				    false, s));
		});
		/* Drawn again on every tick: replaced only when it changed. */
		if (items.map(function (li) { return li.outerHTML; }).join("") !==
		    list.innerHTML)
			list.replaceChildren.apply(list, items);
	}

	function escItem(label, required, s) {
		var st = s ? (s.status === "done" ? "done" : "not_needed") :
		    required ? "missing" : "open",
		    li = el("li", "esc-item is-" + st), body = el("div", "esc-body"),
		    head = el("div", "esc-item-head"), lines = [];

		li.setAttribute("data-testid", "escalation-item");
		li.setAttribute("data-state", st);
		head.appendChild(el("span", "esc-label", label));
		if (required)
			head.appendChild(el("span", "tag esc-req", t("esc.required")));
		body.appendChild(head);
		li.append(el("span", "esc-state", t("esc.state_" + st)), body);
		if (!s)
			return li;
		if (s.status === "done") {
			if (s.contacted_at)
				lines.push(t("esc.detail_at", { time: fmtDateTime(s.contacted_at) }));
			if (s.counterpart)
				lines.push(t("esc.detail_who", { text: s.counterpart }));
			if (s.reference)
				lines.push(t("esc.detail_ref", { text: s.reference }));
			if (s.outcome)
				lines.push(t("esc.detail_outcome", { text: s.outcome }));
		} else if (s.outcome) {
			lines.push(t("esc.detail_why", { text: s.outcome }));
		}
		lines.forEach(function (x) {
			body.appendChild(el("div", "esc-detail", x));
		});
		body.appendChild(el("div", "esc-by", t("esc.detail_by", {
		    name: s.recorded_by || "", time: fmtDateTime(s.recorded_at) })));
		return li;
	}

	/* Supervisors record; each step once, so only those not yet on record. */
	function renderEscForm(r, steps) {
		var form = $("esc-form"), sel = $("esc-step"), done = {}, v = sel.value,
		    open, opts, first = null;

		steps.forEach(function (s) { done[s.step] = true; });
		open = (r.protocol || []).filter(function (p) {
			return !done[itemCode(p)];
		});
		form.hidden = !isSupervisor() || open.length === 0;
		if (form.hidden)
			return;
		opts = open.map(function (p) {
			if (first === null && p.required)
				first = itemCode(p);
			return option(itemCode(p), itemLabel(p) + (p.required ?
			    t("esc.opt_required") : ""));
		});
		/* An open list is not pulled from under the pointer by a tick. */
		if (opts.map(function (o) { return o.outerHTML; }).join("") !==
		    sel.innerHTML)
			sel.replaceChildren.apply(sel, opts);
		sel.value = v;
		if (sel.value === "" || sel.selectedIndex < 0)
			sel.value = first !== null ? first : itemCode(open[0]);
		if ($("esc-at").value === "")
			$("esc-at").value = tokyoLocal(serverNow());
		escFormMode();
	}

	/* "2026-11-27T19:58" on the desk's clock, for a datetime-local input. */
	function tokyoLocal(ms) {
		var k = tokyo(ms);

		return k.y + "-" + two(k.m) + "-" + two(k.d) + "T" + two(k.hh) +
		    ":" + two(k.mm);
	}

	function escDone() {
		var r = $("esc-form").querySelector("input[name=esc-status]:checked");

		return r === null || r.value === "done";
	}

	/* Done: when, whom, their reference, the outcome. Not needed: why. */
	function escFormMode() {
		var done = escDone(), nodes = $("esc-form").querySelectorAll(".esc-done"),
		    i;

		for (i = 0; i < nodes.length; i++)
			nodes[i].hidden = !done;
		$("esc-outcome-label").textContent = t(done ? "esc.outcome" : "esc.why");
		$("esc-outcome-label").setAttribute("data-i18n", done ? "esc.outcome" :
		    "esc.why");
	}

	function escFormReset() {
		["esc-who", "esc-ref", "esc-outcome", "esc-at"].forEach(function (id) {
			$(id).value = "";
			$(id).removeAttribute("aria-invalid");
		});
		$("esc-form").querySelector("input[value=done]").checked = true;
		$("esc-error").textContent = "";
		escFormMode();
	}

	/* The server's words for "+09:00": the input holds Tokyo's wall clock. */
	function tokyoIso(local) {
		var m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d)(:\d\d)?/.exec(local);

		return m === null ? null : m[1] + (m[2] || ":00") + "+09:00";
	}

	function escCheck(body) {
		var at;

		if (body.status === "done") {
			at = body.contacted_at === null ? NaN : Date.parse(body.contacted_at);
			if (isNaN(at))
				return ["err.esc.at", "esc-at"];
			if (at > serverNow() + 60000)
				return ["err.esc.future", "esc-at"];
			if (!body.counterpart)
				return ["err.esc.counterpart", "esc-who"];
		} else if (!body.outcome) {
			return ["err.esc.why", "esc-outcome"];
		}
		return [["counterpart", "esc-who"], ["reference", "esc-ref"],
		    ["outcome", "esc-outcome"]].reduce(function (bad, f) {
			return bad || (body[f[0]] && new TextEncoder().encode(
			    body[f[0]]).length > FIELD_MAX ? ["err.esc.too_long", f[1]] :
			    null);
		}, null);
	}

	function addStep(ev) {
		var id = state.openId, btn = $("esc-add"), done = escDone(), bad,
		    body = { step: $("esc-step").value, status: done ? "done" :
		    "not_needed" }, outcome = $("esc-outcome").value.trim();

		ev.preventDefault();
		if (id === null || btn.disabled || body.step === "")
			return;
		if (done) {
			body.contacted_at = tokyoIso($("esc-at").value);
			body.counterpart = $("esc-who").value.trim();
			if ($("esc-ref").value.trim() !== "")
				body.reference = $("esc-ref").value.trim();
		}
		if (outcome !== "")
			body.outcome = outcome;
		["esc-at", "esc-who", "esc-outcome", "esc-ref"].forEach(function (f) {
			$(f).removeAttribute("aria-invalid");
		});
		bad = escCheck(body);
		$("esc-error").textContent = bad ? t(bad[0]) : "";
		if (bad) {
			$(bad[1]).setAttribute("aria-invalid", "true");
			focusSoon($(bad[1]));
			return;
		}
		btn.disabled = true;
		api("POST", "/api/conversations/" + id + "/escalation", body)
		    .then(function () {
			if (id === state.openId)
				escFormReset();
			/* The refusal to close pointed here: it has been answered. */
			if (state.error !== null && /escalation_incomplete/.test(state.error.key))
				clearError();
			announce(t("esc.added"));
		}, function (e) {
			if (["invalid", "step", "recorded"].indexOf(e.code) >= 0)
				$("esc-error").textContent = t("err.esc." + e.code);
			else
				fail(e, "escalation");
		}).then(function () {
			btn.disabled = false;
			if (id === state.openId)
				loadEscalation(id);
		});
	}

	/* Beside the conversation: the side pane opens, the record in view. */
	function showEscalation() {
		if (!state.recOpen) {
			state.recOpen = true;
			try {
				window.localStorage.setItem(REC_KEY, "1");
			} catch (e) { /* this page only */ }
			renderRecord();
		}
		if (!$("esc").hidden) {
			$("esc").scrollIntoView({ block: "start" });
			focusSoon($("esc"));
		}
	}

	/* Closing was refused: say why, and where to go. */
	function closeBlocked(id) {
		state.error = { key: isSupervisor() ? "err.escalation_incomplete" :
		    "err.close.escalation_incomplete_counsellor", params: {},
		    background: false };
		renderError();
		if (id === state.openId)
			loadEscalation(id).then(showEscalation);
	}

	/* ---- reports (admin, supervisor): GET /api/reports/<kind> ---- */

	var RP_CHARTS = ["by_day", "by_month", "by_hour", "by_weekday"];
	var BAR_FILL = ["#1d5a94", "#b8720a"];	/* as .rp-key::before */

	function canReports() {
		return state.staff !== null && /^(admin|supervisor)$/.test(state.staff.role);
	}

	/* The queue, alerts and sound go on while a supervisor reads reports. */
	function deskLive() {
		return isStaff() && (state.view === "desk" || state.view === "reports");
	}

	/* "#reports" or "#reports/monthly/2026-11"; null: not the reports. */
	function hashReports() {
		var m = /^#reports(?:\/(monthly|annual|line-use|worklog)\/([0-9-]+))?$/
		    .exec(window.location.hash);

		return m && { kind: m[1], period: m[2] };
	}

	function setHash(h) {
		window.history.replaceState(null, "", window.location.pathname +
		    window.location.search + h);
	}

	function goDesk() {
		setHash("");
		enterDesk();
	}

	function onHash() {
		if (state.mainStarted && state.staff !== null) {
			if (hashReports())
				showReports();
			else if (state.view === "reports")
				enterDesk();
		}
	}

	function lbl(o) {
		return o ? state.lang === "en" && o.en ? o.en : o.ja : "";
	}

	function num(v) {
		return v.toLocaleString(state.lang === "en" ? "en-US" : "ja-JP");
	}

	function figure(doc, key) {
		var f = doc.summary.filter(function (x) { return x.key === key; })[0];

		return f ? f.value : null;
	}

	function periodInput(kind) {
		return $(kind === "annual" ? "rp-year" : kind === "worklog" ? "rp-day" :
		    "rp-month");
	}

	function rpFields() {
		var k = $("rp-kind").value;

		$("rp-f-month").hidden = k === "annual" || k === "worklog";
		$("rp-f-year").hidden = k !== "annual";
		$("rp-f-day").hidden = $("rp-zip").hidden = k !== "worklog";
	}

	function fillYears(keep) {
		var sel = $("rp-year"), k = tokyo(serverNow()), y = k.m > 3 ? k.y : k.y - 1,
		    list = [];

		keep = Number(keep || sel.value || y);
		for (; list.length < 10; y--)
			list.push(y);
		if (list.indexOf(keep) < 0)
			list.push(keep);
		sel.replaceChildren.apply(sel, list.map(function (y) {
			return option(String(y), t("rp.fy", { y: y, y1: y + 1 }));
		}));
		sel.value = String(keep);
	}

	function showReports() {
		var h = hashReports(), k = tokyo(serverNow()), doc = state.rp.doc;

		if (!canReports())
			return setHash("");
		showView("reports");
		/* The previous month, this fiscal year, today: in Tokyo, by the server. */
		if (!state.rp.ready) {
			state.rp.ready = true;
			$("rp-month").value = $("rp-zip-month").value = k.m === 1 ?
			    k.y - 1 + "-12" : k.y + "-" + two(k.m - 1);
			$("rp-day").value = k.y + "-" + two(k.m) + "-" + two(k.d);
			fillYears();
		}
		if (h.kind) {
			$("rp-kind").value = h.kind;
			fillYears(h.kind === "annual" ? h.period : 0);
			periodInput(h.kind).value = h.period;
		}
		rpFields();
		if (doc === null || h.kind && (h.kind !== doc.kind ||
		    h.period !== doc.period.name))
			loadReport();
		else
			renderReport();
	}

	/* What the view last did, said again in the language of the moment. */
	function rpStatus(key, params) {
		var doc = state.rp.doc, text = !key ? "" : key !== "rp.shown" ?
		    t(key, params) : doc && t(key, { title: lbl(doc.title),
		    period: periodText(doc) });

		state.rp.status = key ? [key, params] : null;
		if ($("rp-status").textContent !== text)
			$("rp-status").textContent = text;
	}

	/* keep: the note's box keeps what was typed. */
	function loadReport(kind, period, keep) {
		var seq = ++state.rp.seq;

		kind = kind || $("rp-kind").value;
		period = period || periodInput(kind).value;
		clearError();
		if (!period)
			return Promise.resolve(showError("invalid", "rp"));
		rpStatus("rp.loading");
		return api("GET", "/api/reports/" + kind + "?period=" +
		    encodeURIComponent(period)).then(function (doc) {
			if (seq !== state.rp.seq || !state.mainStarted)
				return;
			updateSkew(doc.generated_at);
			state.rp.doc = doc;
			setHash("#reports/" + kind + "/" + period);
			if (kind === "worklog") {
				if (!keep || state.rp.noteDay !== period) {
					$("rp-note-input").value = figure(doc, "note") || "";
					$("rp-note-error").textContent =
					    $("rp-note-saved").textContent = "";
				}
				state.rp.noteDay = period;
				state.rp.noteVersion = Number(figure(doc, "note_version")) || 0;
				$("rp-zip-month").value = period.slice(0, 7);
			}
			renderReport();
			rpStatus("rp.shown");
		}, function (e) {
			if (seq === state.rp.seq) {
				rpStatus();
				state.rp.doc = null;
				renderReport();
				fail(e, "rp");
			}
		});
	}

	function periodText(doc) {
		var p = doc.period.name.split("-").map(Number), en = state.lang === "en",
		    d = Date.UTC(p[0], (p[1] || 1) - 1, p[2] || 1),
		    o = { year: "numeric", month: "long", timeZone: "UTC" };

		if (doc.kind === "annual")
			return t("rp.fy", { y: p[0], y1: p[0] + 1 });
		if (p[2]) {
			o.day = "numeric";
			o.weekday = "short";
		}
		return en ? new Intl.DateTimeFormat("en", o).format(d) : p[0] + "年" +
		    p[1] + "月" + (p[2] ? p[2] + "日(" + WEEKDAYS.ja[new Date(d)
		    .getUTCDay()] + ")" : "");
	}

	/* Cells are Japanese: weekdays and hours are read in English too. */
	function cellText(v) {
		var i = WEEKDAYS.ja.indexOf(v);

		if (v === null || v === "")
			return "—";
		if (typeof v === "number")
			return num(v);
		if (state.lang === "en" && i >= 0)
			return WEEKDAYS.en[i];
		return state.lang === "en" && /^\d+時$/.test(v) ? parseInt(v, 10) + ":00" : v;
	}

	function renderReport() {
		var doc = state.rp.doc, note;

		if (state.rp.ready)
			fillYears();
		rpFields();
		if (state.rp.status)
			rpStatus(state.rp.status[0], state.rp.status[1]);
		$("rp-doc").hidden = !doc;
		if (!doc)
			return;
		$("rp-title").textContent = lbl(doc.title) + "　" + periodText(doc);
		$("rp-meta").textContent = t("rp.meta", { desk: doc.desk,
		    from: doc.period.from, to: doc.period.to,
		    at: fmtDateTime(doc.generated_at) });
		fill("rp-sum", doc.summary.filter(function (f) {
			return doc.kind !== "worklog" || !/^note/.test(f.key);
		}).map(function (f) {
			var row = el("div", /^of /.test(f.en) ? "rp-fig rp-sub" : "rp-fig");

			row.setAttribute("data-key", f.key);
			row.append(el("dt", null, lbl(f)), el("dd", null,
			    /_share$/.test(f.key) && f.value !== null ?
			    num(Math.round(f.value * 1000) / 10) + "%" : cellText(f.value)));
			return row;
		}));
		note = doc.kind === "worklog" && figure(doc, "note");
		$("rp-note").hidden = doc.kind !== "worklog";
		$("rp-note-text").textContent = note || t("rp.note_none");
		$("rp-note-text").classList.toggle("muted", !note);
		$("rp-note-by").textContent = note ? t("rp.note_by",
		    { by: figure(doc, "note_by") }) : "";
		$("rp-note-form").hidden = !isSupervisor();
		renderCharts();
		/* Six columns and more take the whole width. */
		fill("rp-tables", doc.tables.filter(function (tb) {
			return tb.columns.length < 6;
		}).map(rpTable));
		fill("rp-wide", doc.tables.filter(function (tb) {
			return tb.columns.length > 5;
		}).map(rpTable));
		fill("rp-notes", doc.notes.map(function (n) { return el("li", null, lbl(n)); }));
	}

	function fill(id, nodes) {
		$(id).replaceChildren.apply($(id), nodes);
	}

	function rpTable(tb) {
		var sec = el("section", "rp-table"), table = el("table"),
		    head = el("tr"), body = el("tbody"), td;

		sec.setAttribute("data-table", tb.key);
		tb.columns.forEach(function (c) {
			head.append(el("th", null, lbl(c)));
			head.lastChild.scope = "col";
		});
		tb.rows.forEach(function (r) {
			var tr = el("tr");

			r.forEach(function (v, i) {
				tr.append(el(i ? "td" : "th", typeof v === "number" ? "num" : null,
				    cellText(v)));
			});
			tr.firstChild.scope = "row";
			body.append(tr);
		});
		if (!tb.rows.length) {
			td = el("td", "muted", t("rp.none"));
			td.colSpan = tb.columns.length;
			body.append(el("tr"));
			body.lastChild.append(td);
		}
		table.append(el("caption", null, lbl(tb)), el("thead"), body);
		table.tHead.append(head);
		sec.append(table);
		return sec;
	}

	function svg(tag, attrs, parent, text) {
		var e = document.createElementNS("http://www.w3.org/2000/svg", tag), k;

		for (k in attrs)
			e.setAttribute(k, attrs[k]);
		if (text !== undefined)
			e.textContent = text;
		parent.appendChild(e);
		return e;
	}

	/* Drawn at the width they get: their words keep their size. */
	function renderCharts() {
		var box = $("rp-charts"), w = box.clientWidth || 960,
		    one = window.matchMedia("(max-width: 900px)").matches;

		state.rp.chartsW = w;
		fill("rp-charts", state.rp.doc.tables.filter(function (tb) {
			return RP_CHARTS.indexOf(tb.key) >= 0 && tb.rows.length;
		}).map(function (tb) {
			return chart(tb, Math.floor(RP_CHARTS.indexOf(tb.key) < 2 || one ? w :
			    (w - 32) / 2));
		}));
	}

	function axisLabel(key, v) {
		return key === "by_day" ? String(Number(v.slice(8))) : key === "by_month" ?
		    (state.lang === "en" ? new Intl.DateTimeFormat("en", { month: "short",
		    timeZone: "UTC" }).format(Date.UTC(2000, v.slice(5) - 1)) :
		    Number(v.slice(5)) + "月") : key === "by_hour" ? String(parseInt(v, 10)) :
		    cellText(v);
	}

	/* Two bars a row, SVG presentation attributes (no style: the CSP). */
	function chart(tb, W) {
		var H = 220, L = 36, T = 10, ph = H - T - 26, n = tb.rows.length,
		    band = (W - L - 8) / n, max = 0, step, top, i, y,
		    fig = el("figure", "rp-chart"), s, id = "rp-c-" + tb.key,
		    title = t("rp.chart", { table: lbl(tb) }),
		    ix = ["Consultations", "Received"].map(function (en) {
			return tb.columns.map(function (c) { return c.en; }).indexOf(en);
		    });

		tb.rows.forEach(function (r) {
			max = Math.max(max, r[ix[0]], r[ix[1]]);
		});
		/* four steps of 1, 2 or 5 times a power of ten */
		step = Math.pow(10, Math.floor(Math.log10(Math.max(max / 4, 1))));
		step *= max / 4 <= step ? 1 : max / 4 <= 2 * step ? 2 : max / 4 <= 5 * step ? 5 : 10;
		top = step * 4;
		fig.setAttribute("data-chart", tb.key);
		s = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H,
		    role: "img", "aria-labelledby": id, "font-size": 12 }, fig);
		svg("title", { id: id }, s, title);
		for (i = 0; i <= 4; i++) {
			y = T + ph - i * ph / 4;
			svg("line", { x1: L, x2: W - 8, y1: y, y2: y,
			    stroke: i ? "#e3e6ea" : "#8a939e" }, s);
			svg("text", { x: L - 5, y: y + 4, "text-anchor": "end", fill: "#56606c" },
			    s, num(i * step));
		}
		tb.rows.forEach(function (r, i) {
			var g = svg("g", { "class": "rp-bars", "data-label": r[0] }, s),
			    x = L + i * band;

			svg("title", {}, g, t("rp.bar", { label: cellText(r[0]) +
			    (tb.key === "by_day" ? " (" + cellText(r[1]) + ")" : ""),
			    c: r[ix[0]], m: r[ix[1]] }));
			ix.forEach(function (c, j) {
				var h = r[c] / top * ph;

				svg("rect", { "data-series": j ? "messages" : "consultations",
				    x: (x + band * (0.12 + j * 0.38)).toFixed(1),
				    width: (band * 0.36).toFixed(1), y: (T + ph - h).toFixed(1),
				    height: h.toFixed(1), fill: BAR_FILL[j] }, g);
			});
			if (band >= 16 || i % 2 === 0)
				svg("text", { x: (x + band / 2).toFixed(1), y: H - 8,
				    "text-anchor": "middle" }, g, axisLabel(tb.key, r[0]));
		});
		if (RP_CHARTS.indexOf(tb.key) < 2)
			fig.classList.add("rp-chart-wide");
		fig.prepend(el("figcaption"));
		fig.firstChild.append(el("span", "rp-chart-title", title),
		    el("span", "rp-key", t("rp.c")), el("span", "rp-key rp-key-1", t("rp.m")));
		return fig;
	}

	/* Saved under the server's name; errBox: where a failure is told. */
	function rpFile(btn, method, path, body, ctx, errBox) {
		if (btn.disabled)
			return;
		btn.disabled = true;
		clearError();
		rpStatus("rp.file_busy");
		api(method, path, body, { file: true }).then(function (f) {
			var a = el("a"), url = URL.createObjectURL(f.blob),
			    m = /filename="([^"]+)"/.exec(f.disposition || "");

			a.href = url;
			a.download = m ? m[1] : "madoguchi";
			document.body.append(a);
			a.click();
			a.remove();
			setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
			rpStatus("rp.file_saved", { name: a.download });
		}, function (e) {
			rpStatus();
			if (errBox && !/^(signed_out|sign_in_incomplete)$/.test(e.code))
				errBox.textContent = t(errorKey(e.code, ctx), { code: e.code });
			else
				fail(e, ctx);
		}).then(function () {
			btn.disabled = false;
		});
	}

	function rpExport(format) {
		var doc = state.rp.doc;

		rpFile($("rp-" + format), "GET", "/api/reports/" + doc.kind + "?period=" +
		    doc.period.name + "&format=" + format, undefined, "rp");
	}

	function saveNote(ev) {
		var text = $("rp-note-input").value, btn = $("rp-note-save"),
		    day = state.rp.noteDay, err = $("rp-note-error");

		ev.preventDefault();
		if (btn.disabled)
			return;
		err.textContent = $("rp-note-saved").textContent = "";
		if (!text.trim() || new TextEncoder().encode(text).length > 8000) {
			err.textContent = t(text.trim() ? "err.too_long" : "err.rpnote.invalid");
			return focusSoon($("rp-note-input"));
		}
		setBusy(btn, "rp.note_busy", "rp.note_save", true);
		api("PUT", "/api/reports/worklog/note", { day: day, note: text,
		    version: state.rp.noteVersion }).then(function (r) {
			state.rp.noteVersion = r.version;
			$("rp-note-saved").textContent = t("rec.saved",
			    { time: fmtTime(new Date(serverNow()).toISOString()) });
			return loadReport("worklog", day, true);
		}, function (e) {
			if (/^(signed_out|sign_in_incomplete)$/.test(e.code))
				return fail(e);
			err.textContent = t(errorKey(e.code, "rpnote"), { code: e.code });
			if (e.code === "stale")
				return loadReport("worklog", day, true);
		}).then(function () {
			setBusy(btn, "rp.note_busy", "rp.note_save", false);
		});
	}

	/* The password goes in one request and is cleared from the form. */
	function exportZip(ev) {
		var pw = $("rp-zip-pw"), p = pw.value, month = $("rp-zip-month").value,
		    err = $("rp-zip-error"), code = !/^\d{4}-\d\d$/.test(month) ? "invalid" :
		    p.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, "x").length < 8 ||
		    new TextEncoder().encode(p).length > 128 ? "password" :
		    p !== $("rp-zip-pw2").value ? "mismatch" : null;

		ev.preventDefault();
		pw.value = $("rp-zip-pw2").value = err.textContent = "";
		if (code)
			err.textContent = t(errorKey(code, "rpzip"));
		else
			rpFile($("rp-zip-go"), "POST", "/api/reports/worklog/export",
			    { month: month, password: p }, "rpzip", err);
	}

	/* ---- everything again, in the current language ---- */

	function renderAll() {
		var img = document.querySelector("img[data-i18n-alt]");

		if (img !== null)
			img.alt = t(img.getAttribute("data-i18n-alt"));
		renderHeader();
		renderError();
		if (state.view === "desk") {
			if (state.desk !== null)
				renderDesk();
			renderQueue();
			renderDeadlines();
			state.convKey = null;
			renderConversation();
			renderRecord();
			renderAlerts();
			renderSound();
			if ($("level-dialog").open)
				levelEffect();
		}
		if (state.view === "reports") {
			renderReport();
			renderAlerts();
		}
		idleCheck();
	}

	/* ---- wiring ---- */

	function init() {
		var initial = storedLang();

		/* Beside the conversation when there is room; else on demand. */
		state.recOpen = window.innerWidth >= 1100;
		try {
			if (window.localStorage.getItem(REC_KEY) !== null)
				state.recOpen = window.localStorage.getItem(REC_KEY) === "1";
		} catch (e) { /* as wide as the window says */ }
		buildAttrs();
		state.lang = initial || "ja";
		applyStaticText();
		renderHeader();
		$("login-form").addEventListener("submit", onLogin);
		$("totp-form").addEventListener("submit", onCode);
		$("password-form").addEventListener("submit", onPassword);
		$("restart").addEventListener("click", restart);
		$("restart-pw").addEventListener("click", restart);
		$("retry").addEventListener("click", boot);
		$("lang").addEventListener("click", function () {
			setLang(state.lang === "ja" ? "en" : "ja", true);
		});
		$("signout").addEventListener("click", signOut);
		$("presence").addEventListener("click", togglePresence);
		$("idle-continue").addEventListener("click", keepAlive);
		$("claim").addEventListener("click", claim);
		["queue", "deadlines", "rc-list"].forEach(function (id) {
			$(id).addEventListener("click", function (ev) {
				var b = ev.target.closest("[data-conversation-id]");

				if (b !== null)
					openConversation(Number(b.getAttribute(
					    "data-conversation-id")));
			});
		});
		$("tab-queue").addEventListener("click", function () {
			showTab("queue");
		});
		$("tab-deadlines").addEventListener("click", function () {
			showTab("deadlines");
		});
		$("tabs").addEventListener("keydown", function (ev) {
			if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") {
				ev.preventDefault();
				showTab(state.tab === "queue" ? "deadlines" : "queue", true);
			}
		});
		$("release").addEventListener("click", release);
		$("close").addEventListener("click", openClose);
		$("close-form").addEventListener("submit", confirmClose);
		$("transfer").addEventListener("click", openTransfer);
		$("transfer-form").addEventListener("submit", confirmTransfer);
		["close", "transfer"].forEach(function (d) {
			$(d + "-cancel").addEventListener("click", function () {
				$(d + "-dialog").close();
			});
		});
		$("nick-form").addEventListener("submit", saveNick);
		$("nick-input").addEventListener("input", function () {
			$("nick-save").hidden = $("nick-input").value.trim() ===
			    state.nickShown;
		});
		$("nick-input").addEventListener("keydown", function (ev) {
			if (ev.key === "Escape") {
				$("nick-input").value = state.nickShown;
				$("nick-save").hidden = true;
			}
		});
		$("canned").addEventListener("change", insertCanned);
		$("rec-toggle").addEventListener("click", function () {
			toggleRecord(!state.recOpen);
		});
		$("rec-hide").addEventListener("click", function () {
			toggleRecord(false);
		});
		$("rec-form").addEventListener("submit", saveRecord);
		$("rec-form").addEventListener("input", onRecInput);
		$("rec-form").addEventListener("change", onRecInput);
		$("rec-restore").addEventListener("click", restoreMine);
		$("ref-form").addEventListener("submit", addReferral);
		$("fu-form").addEventListener("submit", addFollowUp);
		$("rs-form").addEventListener("submit", rsReview);
		$("rs-form").addEventListener("change", rsForm);
		$("rs-form").addEventListener("input", rsForm);
		$("rs-cancel").addEventListener("click", rsForm);
		$("rs-confirm").addEventListener("click", function () {
			rsSend("POST", rsBody(), $("rs-confirm"), "rs.placed");
		});
		$("rs-lift").addEventListener("click", function () {
			rsSend("DELETE", undefined, $("rs-lift"), "rs.lifted");
		});
		$("reply-form").addEventListener("submit", function (ev) {
			ev.preventDefault();
			sendReply();
		});
		$("note-form").addEventListener("submit", function (ev) {
			ev.preventDefault();
			addNote();
		});
		$("composer").addEventListener("keydown", function (ev) {
			sendKey(ev, sendReply);
		});
		$("note-input").addEventListener("keydown", function (ev) {
			sendKey(ev, addNote);
		});
		$("composer").addEventListener("input", function () {
			if (state.openId !== null)
				state.drafts[state.openId] = $("composer").value;
		});
		$("note-input").addEventListener("input", function () {
			if (state.openId !== null)
				state.noteDrafts[state.openId] = $("note-input").value;
		});
		$("totp-code").addEventListener("input", function (ev) {
			var v = $("totp-code"), digits;

			if (ev.isComposing)
				return;
			digits = asciiDigits(v.value).replace(/[^0-9]/g, "").slice(0, 6);
			if (digits !== v.value)
				v.value = digits;
		});
		$("sound").addEventListener("click", testSound);
		$("alert-list").addEventListener("click", onAlertClick);
		$("level").addEventListener("click", openLevel);
		$("level-form").addEventListener("submit", confirmLevel);
		$("level-choices").addEventListener("change", levelEffect);
		$("level-reason").addEventListener("input", function () {
			$("level-error").textContent = "";
		});
		$("level-cancel").addEventListener("click", function () {
			$("level-dialog").close();
		});
		$("esc-show").addEventListener("click", showEscalation);
		$("exception").addEventListener("click", openException);
		$("exception-form").addEventListener("submit", confirmException);
		$("exception-cancel").addEventListener("click", function () {
			$("exception-dialog").close();
		});
		["exception-reason", "exception-minutes"].forEach(function (id) {
			$(id).addEventListener("input", function () {
				$("exception-error").textContent = "";
			});
		});
		$("exception-end").addEventListener("click", endException);
		$("esc-form").addEventListener("submit", addStep);
		$("esc-form").addEventListener("change", escFormMode);
		/* The first click or key after sign-in lets the alert sound play. */
		document.addEventListener("pointerdown", onGesture, true);
		document.addEventListener("keydown", onGesture, true);
		/* The banner's height, whatever it wraps to, is taken from the desk. */
		if (typeof window.ResizeObserver === "function")
			new window.ResizeObserver(function () {
				document.body.style.setProperty("--alerts-h",
				    $("alerts").offsetHeight + "px");
			}).observe($("alerts"));
		document.addEventListener("keydown", onKey);
		window.addEventListener("hashchange", onHash);
		window.addEventListener("resize", function () {
			clearTimeout(state.rp.resize);
			state.rp.resize = setTimeout(function () {
				if (state.view === "reports" && state.rp.doc !== null &&
				    $("rp-charts").clientWidth !== state.rp.chartsW)
					renderCharts();
			}, 200);
		});
		$("rp-form").addEventListener("submit", function (ev) {
			ev.preventDefault();
			loadReport();
		});
		$("rp-kind").addEventListener("change", function () {
			rpFields();
			loadReport();
		});
		$("rp-csv").addEventListener("click", function () { rpExport("csv"); });
		$("rp-xlsx").addEventListener("click", function () { rpExport("xlsx"); });
		$("rp-print").addEventListener("click", function () { window.print(); });
		$("rp-note-form").addEventListener("submit", saveNote);
		$("rp-zip-form").addEventListener("submit", exportZip);
		boot();
	}

	if (document.readyState === "loading")
		document.addEventListener("DOMContentLoaded", init);
	else
		init();
}());
