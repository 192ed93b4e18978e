// The chat's browser side, run once per page on load with the page's settings
// (`config`: the length limit and the messages the page shows without the
// server). It keeps nothing in browser storage and fetches nothing itself.
//
//  1. Length: a live counter near the limit; over it the Ask button says
//     "Too long" and Enter does not send. Nothing is ever cut.
//  2. Sending: the question shows in the chat at once with a "looking it up"
//     note; after a while without an answer the note says it is slow.
//  3. Failures: Gradio's queue requests are watched. A refused (busy), failed
//     (server error) or unreachable (offline) request becomes an ordinary
//     failed event, so the chat puts one plain message in place of the note
//     and the question back in the box. Left alone, Gradio would call a network
//     error a lost connection, freeze every event and reload the page when the
//     server answers again, losing the conversation.
(config) => {
  if (window.qaChat) return;
  const chat = (window.qaChat = { pending: false, failure: null, joined: new Set(), timer: null });
  const $ = (selector) => document.querySelector(selector);
  const box = () => $('#qa-question textarea, #qa-question input');
  const number = (n) => n.toLocaleString('en-GB');
  const lengthOf = (text) => [...text].length; // code points, as the server counts
  const escapeHtml = (text) =>
    text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;' })[c]);
  const message = (role, html) => ({ role, metadata: null, options: null, content: [{ type: 'text', text: html }] });

  // --- what the patient is told below the box ------------------------------
  const say = (text) => {
    const live = $('#qa-live');
    if (live && live.textContent !== text) live.textContent = text;
  };
  let lengthState = 'ok';
  const blockedReason = () => {
    const el = box();
    const n = el ? lengthOf(el.value) : 0;
    if (chat.pending) return config.wait;
    if (n > config.maxChars) return tooLong(n);
    if (!el || !el.value.trim()) return config.blank;
    return '';
  };
  const tooLong = (n) =>
    `Too long to send: ${number(n)} characters, and the limit is ${number(config.maxChars)}. ` +
    `Please shorten it by ${number(n - config.maxChars)}.`;
  chat.refresh = () => {
    const el = box();
    const button = $('#qa-ask');
    if (!el || !button) return;
    el.setAttribute('aria-describedby', 'qa-count qa-live');
    const n = lengthOf(el.value);
    const over = n > config.maxChars;
    const count = $('#qa-count');
    if (count) {
      count.textContent = n >= config.nearChars ? `${number(n)} / ${number(config.maxChars)} characters` : '';
      count.classList.toggle('qa-over', over);
    }
    const state = over ? 'over' : n >= config.nearChars ? 'near' : 'ok';
    if (state !== lengthState) {
      if (state === 'over') say(tooLong(n));
      else if (state === 'near') say(`You are close to the ${number(config.maxChars)}-character limit.`);
      else if (lengthState !== 'ok') say('');
      lengthState = state;
    } else if (state === 'over') say(tooLong(n));
    const label = [...button.childNodes].find((node) => node.nodeType === Node.TEXT_NODE && node.nodeValue.trim());
    if (label) label.nodeValue = over ? config.tooLongLabel : config.askLabel;
    button.toggleAttribute('data-qa-too-long', over);
    if (over) button.setAttribute('aria-disabled', 'true');
    else button.removeAttribute('aria-disabled');
  };
  document.addEventListener('input', (event) => event.target.closest && event.target.closest('#qa-question') && chat.refresh(), true);
  // Enter and clicks that would send are stopped (before Gradio sees them) when
  // the question is too long or empty, or while the last one is being answered.
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.target !== box()) return;
    const reason = blockedReason();
    if (reason) {
      event.preventDefault();
      event.stopImmediatePropagation();
      say(reason);
    }
  }, true);
  window.addEventListener('click', (event) => {
    const button = event.target.closest && event.target.closest('#qa-ask, #qa-related button, #qa-examples button');
    if (!button) return;
    const reason = button.id === 'qa-ask' ? blockedReason() : chat.pending ? config.wait : '';
    if (reason) {
      event.preventDefault();
      event.stopImmediatePropagation();
      say(reason);
    }
  }, true);

  // --- sending and its outcome (called by the chat's events) ---------------
  const scrollTo = (selector) =>
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const rows = document.querySelectorAll(selector);
      const row = rows[rows.length - 1];
      if (!row) return;
      let area = row.parentElement;
      while (area && area.scrollHeight <= area.clientHeight + 1) area = area.parentElement;
      if (area) area.scrollTop += row.getBoundingClientRect().top - area.getBoundingClientRect().top - 8;
    }));
  // On the chat, not <html>: Gradio repeats each custom rule under its container,
  // and only a flag inside the container can win against those copies.
  const slow = (on) => { const area = $('#qa-chat'); if (area) area.toggleAttribute('data-qa-slow', on); };
  chat.send = (text, messages) => {
    text = typeof text === 'string' ? text : '';
    chat.pending = true;
    chat.failure = null;
    clearTimeout(chat.timer);
    chat.timer = setTimeout(() => {
      if (!chat.pending) return;
      slow(true);
      say(config.messages.slow);
    }, config.slowMs);
    say('');
    // As qa_web.render.user_message_html builds it.
    const shown = `<article class="qa-said"><span class="qa-sr">You said: </span><span class="qa-said-text">${escapeHtml(text)}</span></article>`;
    // A question that failed is being sent again: its failure message goes, so there is only ever one.
    const history = Array.isArray(messages) ? [...messages] : [];
    while (history.length >= 2 && JSON.stringify(history[history.length - 1].content).includes('qa-failure')) history.splice(-2, 2);
    scrollTo('#qa-chat .message-row.user-row');
    setTimeout(chat.refresh, 0);
    return [text, [...history, message('user', shown), message('assistant', config.messages.pending)], ''];
  };
  const settle = () => {
    chat.pending = false;
    clearTimeout(chat.timer);
    slow(false);
    if ($('#qa-live') && $('#qa-live').textContent === config.messages.slow) say('');
  };
  chat.answered = () => {
    settle();
    chat.failure = null;
    scrollTo('#qa-chat .message-row.user-row');
    setTimeout(chat.refresh, 0);
  };
  chat.failed = (sent, messages, typed) => {
    settle();
    const kind = navigator.onLine === false ? 'offline' : chat.failure || 'error';
    chat.failure = null;
    const history = Array.isArray(messages) ? [...messages] : [];
    const last = history[history.length - 1];
    const waiting = last && last.role === 'assistant' && JSON.stringify(last.content).includes('qa-pending');
    if (waiting) history.pop();
    history.push(message('assistant', config.messages[kind]));
    setTimeout(chat.refresh, 0);
    scrollTo('#qa-chat .message-row.user-row');
    // The question goes back in the box, unless the patient has typed something new.
    return [history, typed && typed.trim() ? undefined : sent];
  };

  // --- Gradio's queue requests, watched ------------------------------------
  const realFetch = window.fetch.bind(window);
  const urlOf = (input) => (typeof input === 'string' ? input : (input && input.url) || String(input));
  const failedResponse = () =>
    new Response(JSON.stringify({ detail: 'The request did not reach the server.' }), {
      status: 500, headers: { 'Content-Type': 'application/json' },
    });
  const endAll = () => {
    // Tell Gradio each question still waiting ended in an error (not "connection lost").
    // Then close the stream, so Gradio opens a new one for the next question.
    const ids = [...chat.joined];
    chat.joined.clear();
    const ended = ids.map((id) => ({ msg: 'process_completed', event_id: id, success: false, output: { error: null } }));
    return [...ended, { msg: 'close_stream' }].map((m) => `data: ${JSON.stringify(m)}\n\n`).join('');
  };
  const sse = (text) => new Response(text, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
  const join = async (input, init) => {
    let response;
    try {
      response = await realFetch(input, init);
    } catch (error) {
      if (error && error.name === 'AbortError') throw error;
      chat.failure = 'offline';
      return failedResponse();
    }
    if (response.status === 503 || response.status === 429) chat.failure = 'busy';
    else if (!response.ok) chat.failure = 'error';
    else {
      try {
        const body = await response.clone().json();
        if (body && body.event_id) chat.joined.add(body.event_id);
      } catch (error) { /* Gradio reads the same body and reports it */ }
    }
    return response;
  };
  const stream = async (input, init) => {
    let response;
    try {
      response = await realFetch(input, init);
    } catch (error) {
      if (error && error.name === 'AbortError') throw error;
      chat.failure = 'offline';
      return sse(endAll());
    }
    if (!response.ok || !response.body) {
      chat.failure = response.status === 503 ? 'busy' : 'error';
      return sse(endAll());
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let partial = '';
    const track = (chunk) => {
      const lines = (partial + decoder.decode(chunk, { stream: true })).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        if (!line.startsWith('data:') || !line.includes('process_completed')) continue;
        try { chat.joined.delete(JSON.parse(line.slice(5)).event_id); } catch (error) { /* not ours to judge */ }
      }
    };
    const body = new ReadableStream({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) return controller.close();
          track(value);
          controller.enqueue(value);
        } catch (error) {
          if (error && error.name === 'AbortError') return controller.error(error);
          chat.failure = 'offline';
          controller.enqueue(new TextEncoder().encode(`\n\n${endAll()}`));
          controller.close();
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
  window.fetch = (input, init) => {
    const url = urlOf(input);
    if (/\/gradio_api\/queue\/join(\?|$)/.test(url)) return join(input, init);
    if (/\/gradio_api\/queue\/data(\?|$)/.test(url)) return stream(input, init);
    return realFetch(input, init);
  };

  chat.refresh();
}
