// Behaviour every signed-in page shares, attached by data attributes (the CSP allows no inline script):
// data-confirm="question" on a submit button asks before submitting; data-autosubmit on a select submits its form.
document.addEventListener('click', (e) => {
  const btn = e.target.closest?.('[data-confirm]');
  if (btn && !window.confirm(btn.dataset.confirm)) e.preventDefault();
});
document.addEventListener('change', (e) => {
  if (e.target.matches?.('select[data-autosubmit]') && e.target.form) e.target.form.submit();
});
