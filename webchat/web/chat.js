/*
 * chat.js - the person's side of the desk's web chat (webchat/API.md).
 * Plain JavaScript, no dependency. Nothing is kept on the device: messages
 * live in the DOM only, the session is an HttpOnly cookie this page never
 * sees. Every text goes in with textContent, never as HTML.
 */
'use strict';
(function () {
	var API = '/chat/api/';
	var MAX = 2000;		/* characters the server takes in one message */
	var WARN = 1800;	/* from here on the counter shows */
	var JST = 9 * 3600 * 1000;	/* Japan has no summer time */
	var WEEK = '日月火水木金土';

	function $(id) { return document.getElementById(id); }
	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text != null)
			e.textContent = text;
		return e;
	}

	var root = document.documentElement;
	var log = $('log'), ta = $('text'), sendBtn = $('send'), counterEl = $('counter');
	var conn = $('conn'), newer = $('newer'), live = $('live'), dlg = $('dlg');

	var current = 'loading';
	var ended = false;
	var byId = new Map();	/* server id -> item */
	var pending = [];	/* items of mine without a server id yet, oldest first */
	var atBottom = true;

	/* ---- screens ---- */

	var SCREENS = ['loading', 'error', 'nosession', 'terms', 'chat', 'ended'];
	function show(name) {
		if (name === current)
			return;
		current = name;
		SCREENS.forEach(function (s) { $('s-' + s).hidden = s !== name; });
		var h = $('s-' + name).querySelector('h1');
		/* Screen readers start on the new screen; a phone's keyboard stays shut. */
		if (h && name !== 'loading')
			h.focus({ preventScroll: true });
		if (name === 'chat')
			fit();
	}

	/* Everything of the conversation leaves the page. */
	function wipe() {
		log.textContent = '';
		byId.clear();
		pending.length = 0;
		ta.value = '';
		live.textContent = '';
		newer.hidden = true;
		$('empty').hidden = true;
		input();
	}

	function noSession() {
		closeStream();
		wipe();
		if (dlg.open)
			dlg.close();
		show('nosession');
	}

	function showError(status) {
		$('error-text').textContent = status ?
		    'ただいまつながりにくくなっています。少し時間をおいて、もう一度お試しください。' :
		    '通信が不安定なようです。電波のよいところで、もう一度お試しください。';
		show('error');
	}

	/* ---- HTTP ---- */

	function api(method, path, body) {
		var ctl = window.AbortController ? new AbortController() : null;
		var timer = ctl ? setTimeout(function () { ctl.abort(); }, 20000) : 0;
		var opt = {
			method: method,
			credentials: 'same-origin',
			cache: 'no-store',
			headers: { 'Accept': 'application/json' }
		};
		if (ctl)
			opt.signal = ctl.signal;
		if (method === 'POST') {
			opt.headers['Content-Type'] = 'application/json';
			opt.headers['X-Madoguchi-Chat'] = '1';
			opt.body = JSON.stringify(body || {});
		}
		return fetch(API + path, opt).then(function (res) {
			return res.json().catch(function () { return null; }).then(function (data) {
				return { status: res.status, data: data || {} };
			});
		}).catch(function () {
			return { status: 0, data: {} };
		}).finally(function () {
			clearTimeout(timer);
		});
	}

	/* ---- state ---- */

	var stateBusy = null, stateAgain = false;
	function refresh() {
		if (stateBusy) {
			stateAgain = true;
			return stateBusy;
		}
		stateBusy = (function loop() {
			stateAgain = false;
			return loadState().then(function () {
				if (stateAgain && !ended)
					return loop();
			});
		})().finally(function () { stateBusy = null; });
		return stateBusy;
	}

	function loadState() {
		return api('GET', 'state').then(function (r) {
			if (ended)
				return;
			if (r.status === 401)
				return noSession();
			if (r.status !== 200 || !r.data.desk) {
				/* In the chat a lost answer changes nothing: the stream retries. */
				if (current !== 'chat')
					showError(r.status);
				return;
			}
			applyState(r.data);
		});
	}

	var termsVersion = null;
	function applyState(s) {
		var desk = s.desk || {};
		document.title = desk.name ? desk.name + '｜チャット相談' : 'チャット相談';
		if (!s.terms || !s.terms.accepted) {
			closeStream();
			showTerms(desk, s.terms || {});
			return;
		}
		termsVersion = s.terms.version;
		header(desk, s.queue);
		var first = current !== 'chat';
		stick(function () {
			(s.messages || []).forEach(function (m) { addMessage(m, !first); });
		});
		$('empty').hidden = log.children.length > 0;
		if (first) {
			show('chat');
			toBottom();
		}
		openStream();
	}

	function header(desk, queue) {
		$('desk-name').textContent = desk.name || 'チャット相談';
		var open = !!desk.open;
		$('status').className = 'status ' + (open ? 'open' : 'shut');
		$('status-text').textContent = open ? '相談受付中' : '受付時間外';
		$('hours').textContent = desk.hours ? '受付 ' + desk.hours : '';
		var closed = $('closed-note');
		setText(closed, open ? '' : 'ただいま受付時間外です。' +
		    (desk.next_open ? '次の受付は' + desk.next_open + 'からです。' : '') +
		    (queue ? 'メッセージは届いています。受付時間になったら、順番にお返事します。' : ''));
		var q = $('queue-note'), t = '';
		/* Closed, "soon" would be a broken promise: the note above says when. */
		if (open && queue && typeof queue.ahead === 'number')
			t = queue.ahead > 0 ? 'あなたの前に' + queue.ahead + '人がお待ちです' :
			    'まもなく相談員がお返事します';
		setText(q, t);
	}

	/* Only real changes reach the live region of the band. */
	function setText(e, t) {
		if (e.textContent !== t)
			e.textContent = t;
		e.hidden = !t;
	}

	/* ---- terms ---- */

	function showTerms(desk, terms) {
		var changed = termsVersion !== null && termsVersion !== terms.version;
		termsVersion = terms.version;
		$('terms-desk').textContent = desk.name || '';
		$('terms-text').textContent = terms.text || '';
		$('terms-changed').hidden = !changed;
		$('terms-err').hidden = true;
		if (changed)
			$('terms-text').scrollTop = 0;
		show('terms');
	}

	$('terms-accept').addEventListener('click', function () {
		var b = this;
		if (b.disabled)
			return;
		b.disabled = true;
		$('terms-err').hidden = true;
		api('POST', 'terms', { version: termsVersion }).then(function (r) {
			b.disabled = false;
			if (r.status === 200 || r.status === 409)
				return refresh();	/* 409: another version now, shown anew */
			if (r.status === 401)
				return noSession();
			var e = $('terms-err');
			e.textContent = '送れませんでした。通信の状態を確かめて、もう一度押してください。';
			e.hidden = false;
		});
	});

	/* ---- time, in Japan ---- */

	function pad(n) { return (n < 10 ? '0' : '') + n; }
	function jst(ms) { return new Date(ms + JST); }
	function hhmm(ms) { var d = jst(ms); return pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()); }
	function dayKey(ms) { var d = jst(ms); return d.getUTCFullYear() * 10000 + d.getUTCMonth() * 100 + d.getUTCDate(); }
	function dayLabel(ms) {
		var now = Date.now(), k = dayKey(ms);
		if (k === dayKey(now))
			return '今日';
		if (k === dayKey(now - 86400000))
			return '昨日';
		var d = jst(ms);
		return (d.getUTCFullYear() !== jst(now).getUTCFullYear() ? d.getUTCFullYear() + '年' : '') +
		    (d.getUTCMonth() + 1) + '月' + d.getUTCDate() + '日（' + WEEK[d.getUTCDay()] + '）';
	}

	/* ---- messages ---- */

	function norm(t) { return String(t == null ? '' : t).replace(/\r\n?/g, '\n').trim(); }
	function count(t) { return Array.from(t).length; }

	function newClientId() {
		var b = new Uint8Array(18);
		crypto.getRandomValues(b);
		return btoa(String.fromCharCode.apply(null, b))
		    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
	}

	function addMessage(m, fresh) {
		if (!m || m.id == null)
			return;
		var id = String(m.id), at = Date.parse(m.at) || Date.now();
		var it = byId.get(id);
		if (it) {
			if (it.at !== at) {
				it.at = at;
				it.meta && meta(it);
				place(it);
			}
			return;
		}
		if (m.from === 'me') {
			var t = norm(m.text);
			for (var i = 0; i < pending.length; i++)
				if (norm(pending[i].text) === t)
					return claim(pending[i], id, at);
		}
		it = { id: id, from: m.from === 'me' ? 'me' : 'desk', text: String(m.text == null ? '' : m.text), at: at, state: 'sent' };
		byId.set(id, it);
		build(it);
		place(it);
		if (fresh && it.from === 'desk') {
			announce('窓口からのメッセージ：' + it.text.slice(0, 300));
			added = true;
		}
	}

	function claim(it, id, at) {
		var i = pending.indexOf(it);
		if (i >= 0)
			pending.splice(i, 1);
		it.id = id;
		it.at = at;
		it.state = 'sent';
		byId.set(id, it);
		meta(it);
		place(it);
	}

	function build(it) {
		var row = el('div', 'row ' + it.from);
		row._item = it;
		var b = el('div', 'bubble');
		b.appendChild(el('span', 'sr-only', it.from === 'me' ? 'あなた：' : '窓口：'));
		b.appendChild(el('p', 'text', it.text));
		it.row = row;
		it.meta = el('div', 'meta');
		row.appendChild(b);
		row.appendChild(it.meta);
		meta(it);
	}

	function meta(it) {
		var m = it.meta;
		m.textContent = '';
		it.row.classList.toggle('pending', it.state === 'pending');
		it.row.classList.toggle('failed', it.state === 'failed');
		if (it.state === 'pending') {
			m.appendChild(el('span', 'st', '送信中…'));
		} else if (it.state === 'failed') {
			var b = el('button', 'retry', '送れませんでした・再送');
			b.type = 'button';
			b.addEventListener('click', function () { retry(it); });
			m.appendChild(b);
		} else {
			if (it.from === 'me')
				m.appendChild(el('span', 'sr-only', '送信済み '));
			var t = el('time', '', hhmm(it.at));
			t.dateTime = new Date(it.at).toISOString();
			m.appendChild(t);
		}
	}

	/* Sent messages in time order; those still on their way stay last. */
	function place(it) {
		var row = it.row;
		if (row.parentNode)
			row.parentNode.removeChild(row);
		var ref = null;
		if (it.id != null) {
			for (var n = log.lastElementChild; n; n = n.previousElementSibling) {
				var o = n._item;
				if (!o)
					continue;
				if (o.id == null || o.at > it.at) {
					ref = n;
					continue;
				}
				break;
			}
		}
		log.insertBefore(row, ref);
		days();
	}

	/* A date line wherever the day (in Japan) changes. */
	function days() {
		var old = log.querySelectorAll('.day');
		for (var i = 0; i < old.length; i++)
			log.removeChild(old[i]);
		var last = 0, rows = Array.prototype.slice.call(log.children);
		rows.forEach(function (row) {
			var k = dayKey(row._item.at);
			if (k !== last) {
				log.insertBefore(el('p', 'day', dayLabel(row._item.at)), row);
				last = k;
			}
		});
		$('empty').hidden = rows.length > 0;
	}

	function announce(t) {
		live.appendChild(el('p', '', t));
		while (live.childNodes.length > 3)
			live.removeChild(live.firstChild);
	}

	/* ---- scrolling ---- */

	var added = false;
	function nearBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 80; }
	function toBottom() {
		log.scrollTop = log.scrollHeight;
		atBottom = true;
		newer.hidden = true;
	}
	/* Runs fn; follows new messages when the person was at the end already. */
	function stick(fn) {
		var near = nearBottom();
		added = false;
		fn();
		if (near)
			toBottom();
		else if (added)
			newer.hidden = false;
	}
	log.addEventListener('scroll', function () {
		atBottom = nearBottom();
		if (atBottom)
			newer.hidden = true;
	}, { passive: true });
	newer.addEventListener('click', toBottom);

	/* ---- sending ---- */

	var wasOver = false;
	function input() {
		var n = count(norm(ta.value));
		var over = n > MAX;
		counterEl.hidden = n < WARN;
		counterEl.textContent = over ?
		    n + '／' + MAX + '文字：' + (n - MAX) + '文字多いため送れません' :
		    n + '／' + MAX + '文字';
		counterEl.classList.toggle('over', over);
		if (over && !wasOver)
			announce(MAX + '文字をこえたため、このままでは送れません。');
		wasOver = over;
		sendBtn.disabled = !n || over;
		grow();
	}

	/* The field grows with its text (up to its CSS max-height). */
	function grow() {
		var follow = atBottom;
		ta.style.height = '';
		if (ta.value && ta.offsetParent)
			ta.style.height = (ta.scrollHeight + ta.offsetHeight - ta.clientHeight) + 'px';
		if (follow && current === 'chat')
			toBottom();
	}

	function send() {
		var text = norm(ta.value);
		if (!text || count(text) > MAX || current !== 'chat')
			return;
		var it = { id: null, cid: newClientId(), from: 'me', text: text, at: Date.now(), state: 'pending' };
		pending.push(it);
		build(it);
		place(it);
		toBottom();
		ta.value = '';
		input();
		post(it);
	}

	function post(it) {
		it.state = 'pending';
		meta(it);
		api('POST', 'messages', { text: it.text, client_id: it.cid }).then(function (r) {
			if (ended || !it.row.parentNode)
				return;
			if (it.id != null)
				return;	/* the stream brought it back already: it is stored */
			if (r.status === 200 && r.data.id != null) {
				var id = String(r.data.id), other = byId.get(id);
				if (other && other !== it) {	/* shown already, from the stream */
					pending.splice(pending.indexOf(it), 1);
					it.row.parentNode.removeChild(it.row);
					days();
					return;
				}
				claim(it, id, it.at);
				return;
			}
			if (r.status === 401)
				return noSession();
			it.state = 'failed';
			stick(function () { meta(it); });
			announce('メッセージを送れませんでした。「再送」を押すと、もう一度送ります。');
			if (r.status === 403 && r.data.error === 'terms')
				refresh();
		});
	}

	function retry(it) {
		if (it.state === 'failed' && it.id == null)
			post(it);
	}

	$('composer').addEventListener('submit', function (e) {
		e.preventDefault();
		send();
	});
	/* The keyboard stays open when the send button is tapped. */
	sendBtn.addEventListener('mousedown', function (e) {
		if (document.activeElement === ta)
			e.preventDefault();
	});
	ta.addEventListener('input', input);
	/* While typing on a small screen, the quiet lines make room. */
	ta.addEventListener('focus', function () { root.classList.add('typing'); });
	ta.addEventListener('blur', function () { root.classList.remove('typing'); });
	/* Enter is a new line; Ctrl/Cmd+Enter sends (never while converting kana). */
	ta.addEventListener('keydown', function (e) {
		if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.isComposing) {
			e.preventDefault();
			send();
		}
	});

	/* ---- live events ---- */

	var es = null, esTimer = 0, esWait = 0, downTimer = 0;

	function openStream() {
		if (es || ended || current !== 'chat' || !window.EventSource)
			return;
		clearTimeout(esTimer);
		es = new EventSource(API + 'events');
		es.onopen = function () {
			esWait = 0;
			down(false);
			refresh();	/* whatever happened while it was shut */
		};
		es.onmessage = function (e) {
			var m;
			try { m = JSON.parse(e.data); } catch (x) { return; }
			stick(function () { addMessage(m, true); });
		};
		es.addEventListener('state', function () { refresh(); });
		es.addEventListener('ended', function () { finish(); });
		es.onerror = function () {
			down(true);
			if (es && es.readyState === 2) {	/* refused: not retried by the browser */
				es.close();
				es = null;
				esWait = Math.min(esWait ? esWait * 2 : 2000, 30000);
				esTimer = setTimeout(function () {
					refresh().then(openStream);
				}, esWait);
			}
		};
	}

	function closeStream() {
		clearTimeout(esTimer);
		clearTimeout(downTimer);
		if (es) {
			es.close();
			es = null;
		}
		conn.hidden = true;
	}

	/* The notice waits a little: a short blink is not worth a word. */
	function down(d) {
		clearTimeout(downTimer);
		if (!d) {
			conn.hidden = true;
			return;
		}
		downTimer = setTimeout(function () {
			if (!es || es.readyState !== 1)
				conn.hidden = current !== 'chat';
		}, 2500);
	}

	function wake() {
		if (ended || current !== 'chat')
			return;
		if (es && es.readyState === 2) {
			es.close();
			es = null;
		}
		if (!es) {
			clearTimeout(esTimer);
			openStream();
		}
		refresh();
	}
	document.addEventListener('visibilitychange', function () {
		if (document.visibilityState === 'visible')
			wake();
	});
	window.addEventListener('online', function () {
		if (es && es.readyState !== 1) {
			es.close();
			es = null;
		}
		wake();
	});

	/* ---- ending ---- */

	var dlgOk = $('dlg-ok');
	$('end-open').addEventListener('click', function () {
		$('dlg-err').hidden = true;
		$('dlg-unsent').hidden = pending.length === 0;
		if (typeof dlg.showModal === 'function')
			dlg.showModal();
		else if (window.confirm('相談を終了しますか？'))
			end();
	});
	$('dlg-cancel').addEventListener('click', function () { dlg.close(); });
	dlgOk.addEventListener('click', end);

	/* Ended here, or on another of the person's devices: nothing stays. */
	function finish() {
		ended = true;
		closeStream();
		wipe();
		if (dlg.open)
			dlg.close();
		document.title = 'チャット相談';
		show('ended');
	}

	function end() {
		if (dlgOk.disabled)
			return;
		dlgOk.disabled = true;
		dlgOk.textContent = '終了しています…';
		api('POST', 'end', {}).then(function (r) {
			dlgOk.disabled = false;
			dlgOk.textContent = '終了する';
			if (r.status === 200 || r.status === 401) {
				finish();
				return;
			}
			var e = $('dlg-err');
			e.textContent = '終了できませんでした。通信の状態を確かめて、もう一度お試しください。';
			e.hidden = false;
		});
	}

	/* ---- the screen, above the on-screen keyboard ---- */

	function fit() {
		var vv = window.visualViewport;
		var h = vv ? vv.height : window.innerHeight;
		root.style.setProperty('--app-h', Math.round(h) + 'px');
		root.style.setProperty('--app-top', (vv ? Math.max(0, Math.round(vv.offsetTop)) : 0) + 'px');
		root.classList.toggle('short', h < 480);
		if (atBottom && current === 'chat')
			toBottom();
	}
	if (window.visualViewport) {
		window.visualViewport.addEventListener('resize', fit);
		window.visualViewport.addEventListener('scroll', fit);
	}
	window.addEventListener('resize', fit);

	$('error-retry').addEventListener('click', function () {
		show('loading');
		refresh();
	});

	fit();
	input();
	refresh();
})();
