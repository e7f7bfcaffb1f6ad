// Behaviour every signed-in page shares, attached by data attributes (the CSP allows no inline script):
// data-confirm="question" on a submit button asks before submitting; data-autosubmit on a select submits its form;
// the Task page's checklist and Move form (below).
document.addEventListener('click', (e) => {
  const btn = e.target.closest?.('[data-confirm]');
  if (btn && !window.confirm(btn.dataset.confirm)) e.preventDefault();
});
document.addEventListener('change', (e) => {
  if (e.target.matches?.('select[data-autosubmit]') && e.target.form) e.target.form.submit();
});

// the Task page: ticking a checklist item saves it at once; a move asks for confirmation naming its target
document.addEventListener('change', (e) => {
  const form = e.target.closest?.('form[data-checklist]');
  if (form && e.target.matches('input[type=checkbox]')) form.requestSubmit();
});
document.addEventListener('submit', (e) => {
  const form = e.target;
  if (!form.matches?.('form[data-confirm-move]')) return;
  const target = form.querySelector('select[name=process]');
  const chosen = target?.selectedOptions[0];
  if (!chosen || !chosen.value) return;   // the server says "choose a Process", next to the field
  if (!window.confirm(`Move this Task to “${chosen.textContent.trim()}”? Its open steps here stop.`)) e.preventDefault();
});
