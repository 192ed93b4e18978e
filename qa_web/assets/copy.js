// The copy button beside a message copies what the bubble shows, as plain text.
// Gradio's own handler copies the message's raw content, which here is HTML
// source: tags, entities such as &amp;, and a patient's question still
// escaped. This copies the warning or lead-in, then the shown passage after its
// "Source:" line; folded extras (more passages, the document view, a
// non-answer's nearest passages) are left out. The listener runs in the capture
// phase, before Gradio's own handler, which it stops.
() => {
  if (window.__qaCopyAsText) return;
  window.__qaCopyAsText = true;
  const PARTS = '.qa-said-text, .qa-notice, .qa-lead, .qa-source, .qa-quote, .qa-best-line';
  const textOf = (message) => {
    const parts = [...message.querySelectorAll(PARTS)].filter((el) => !el.closest('details'));
    return (parts.length ? parts : [message]).map((el) => el.innerText.trim()).filter(Boolean).join('\n\n');
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
    write([...messages].map(textOf).join('\n\n')).then((ok) => ok && flag(button));
  }, true);
}
