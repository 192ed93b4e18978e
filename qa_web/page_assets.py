"""The chat's CSS and its small browser scripts, kept apart from the layout.

Plain strings only: the CSS styles the classes `qa_web.render` emits, and the
scripts only scroll the chat, fix accessible names and make the copy button
copy text. Nothing here talks to the server or loads anything from another site.
"""

# After an answer arrives, scroll the chat so the new question and the start of
# the answer (where any warning is) are in view, not the end of the last quote.
SCROLL_TO_TURN_JS = """() => {
  const rows = document.querySelectorAll('#qa-chat .message-row.user-row');
  const row = rows[rows.length - 1];
  if (!row) return;
  let box = row.parentElement;
  while (box && box.scrollHeight <= box.clientHeight + 1) box = box.parentElement;
  if (box) box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
}"""

# Gradio names each chat message "<role>'s message: <raw content>"; our content
# is HTML, so screen readers would read tags. Name messages by their text instead.
ACCESSIBLE_NAMES_JS = """() => {
  const name = (el) => {
    const who = el.getAttribute('data-testid') === 'user' ? 'You asked' : 'Answer';
    const text = (el.innerText || '').replace(/\\s+/g, ' ').trim().slice(0, 600);
    const label = who + ': ' + text;
    if (el.getAttribute('aria-label') !== label) el.setAttribute('aria-label', label);
  };
  const scan = () => document.querySelectorAll('#qa-chat [data-testid="user"], #qa-chat [data-testid="bot"]').forEach(name);
  new MutationObserver(scan).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['aria-label']});
  scan();
}"""

# Gradio's per-message copy button copies the message's raw content, which here
# is HTML source: tags, entities such as &amp;, and a patient's question still
# escaped. Copy what the bubble shows instead, as plain text: the warning or
# lead-in, then each quoted passage after its "Source:" line. Folded extras (the
# document view, a non-answer's nearest passages) are left out. The listener
# runs in the capture phase, before Gradio's own handler, which it stops.
COPY_AS_TEXT_JS = """() => {
  if (window.__qaCopyAsText) return;
  window.__qaCopyAsText = true;
  const PARTS = '.qa-notice, .qa-lead, .qa-source, .qa-quote, .qa-best-line';
  const textOf = (message) => {
    const parts = [...message.querySelectorAll(PARTS)].filter((el) => !el.closest('details'));
    return (parts.length ? parts : [message]).map((el) => el.innerText.trim()).filter(Boolean).join('\\n\\n');
  };
  const write = async (text) => {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* try the old way */ }
    }
    // Plain http has no Clipboard API: put the text on a one-off copy event.
    const put = (e) => { e.clipboardData.setData('text/plain', text); e.preventDefault(); };
    document.addEventListener('copy', put, true);
    try { return document.execCommand('copy'); } finally { document.removeEventListener('copy', put, true); }
  };
  const flag = (button) => {  // what Gradio's button would show: a tick and "Copied message" for 2 s
    if (!('qaCopied' in button.dataset)) button.dataset.qaLabel = button.getAttribute('aria-label') || '';
    button.dataset.qaCopied = '';
    button.setAttribute('aria-label', 'Copied message');
    clearTimeout(button.qaTimer);
    button.qaTimer = setTimeout(() => {
      delete button.dataset.qaCopied;
      button.setAttribute('aria-label', button.dataset.qaLabel);
    }, 2000);
  };
  window.addEventListener('click', (event) => {
    // Copy is the only button beside a message but the thumbs (with --collect-feedback; no retry, undo, edit
    // or downloads): a like/dislike click goes on to Gradio.
    const button = event.target.closest && event.target.closest('#qa-chat .message-buttons button');
    const row = button && button.closest('.message-buttons').previousElementSibling;
    if (!row || !row.classList.contains('message-row') || /like/i.test(button.getAttribute('aria-label') || '')) return;
    event.stopImmediatePropagation();
    const messages = row.querySelectorAll('[data-testid="bot"], [data-testid="user"]');
    write([...messages].map(textOf).join('\\n\\n')).then((ok) => ok && flag(button));
  }, true);
}"""

CSS = """
.qa-disclaimer { font-size: 0.9em; padding: 0.5em 0.75em; border-left: 4px solid var(--color-accent); background: var(--background-fill-secondary); margin: 0; }
.qa-source { font-weight: 600; font-size: 0.9em; margin: 0.75em 0 0.25em 0; }
.qa-quote { margin: 0 0 0.25em 0; padding: 0.25em 0.75em; border-left: 3px solid var(--border-color-primary); }
#qa-chat .qa-turn { white-space: normal; }
#qa-chat .qa-quote :is(h1, h2, h3, h4, h5, h6) { font-size: 1em; font-weight: 600; margin: 0.25em 0; }
#qa-chat .qa-quote :is(p, ul, ol) { margin: 0.25em 0; }
#qa-chat .qa-quote li { margin: 0.15em 0; }
mark.qa-best { background: #fde68a; color: #1f2937; padding: 0 1px; }
mark.qa-in-context { background: #e0f2fe; color: #1f2937; }
.qa-notice { padding: 0.5em 0.75em; border-radius: 6px; margin-bottom: 0.5em; }
.qa-notice p { margin: 0.25em 0 0 0; }
.qa-urgent { background: #fef3c7; border: 2px solid #b45309; color: #451a03; }
.qa-emergency { background: #fee2e2; border: 2px solid #b91c1c; color: #450a0a; }
.qa-abstain, .qa-input-error { background: var(--background-fill-secondary); border: 1px dashed var(--border-color-primary); }
.qa-context summary { cursor: pointer; font-size: 0.9em; }
.qa-context-body { max-height: 320px; overflow-y: auto; font-size: 0.9em; padding: 0 0.5em; border: 1px solid var(--border-color-primary); }
#qa-chat .user .message-content { white-space: pre-wrap; overflow-wrap: anywhere; }
.qa-label { font-size: 0.9em; font-weight: 600; margin: 0.25em 0 0 0; }
.qa-buttons button { white-space: normal; text-align: left; }
#qa-chat .message-buttons button[data-qa-copied] { position: relative; }
#qa-chat .message-buttons button[data-qa-copied] svg { visibility: hidden; }
#qa-chat .message-buttons button[data-qa-copied]::after { content: "\\2713"; position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; }
"""

# The embed must fit a 400x600 iframe: less padding, smaller buttons, no headings.
EMBED_CSS = """
.gradio-container { padding: 4px 6px !important; }
.gradio-container main, .gradio-container .main { padding: 0 !important; }
#qa-embed { gap: 6px !important; }
#qa-embed .qa-disclaimer { font-size: 0.75em; padding: 0.2em 0.5em; }
#qa-embed .qa-buttons button { font-size: 0.8em; padding: 2px 6px; }
#qa-embed .qa-buttons { gap: 4px !important; }
footer { display: none !important; }
/* The question's label stays for screen readers but takes no space. */
#qa-embed #qa-question [data-testid="block-info"] {
  position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
}
"""
