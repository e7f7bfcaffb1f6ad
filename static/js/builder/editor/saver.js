// The autosave state machine, without the DOM (Node's test runner drives it with fake timers):
// - a change marks the draft dirty and (re)starts a `delay` timer, so a burst of edits is one save;
// - a save sends the definition with the revision it is based on and takes the new revision and
//   the validation errors from the answer;
// - a change made while a save is in flight is saved right after it (never two PUTs at once);
// - a 409 (someone else saved first) is a conflict: nothing is saved until the user resolves it;
//   any other failure leaves the draft dirty for the next change to retry.
// It reads and writes the editor's state: dirty, saving, again, conflict, revision, errors, def.
import { ApiError } from '../../lib/api.js';

const noop = () => {};

// put(definition, revision) -> {revision, errors}; on: {status(text), store(dirty), errorsChanged(), conflict(details)}
export function createSaver({ state, put, delay = 700, timers = globalThis, on = {} }) {
  const { status = noop, store = noop, errorsChanged = noop, conflict = noop } = on;
  let timer = null;

  function schedule() {
    state.dirty = true;
    store(true);
    status('Unsaved changes…');
    if (state.conflict) return;
    timers.clearTimeout(timer);
    timer = timers.setTimeout(save, delay);
  }

  async function save() {
    timers.clearTimeout(timer);
    if (!state.dirty || state.conflict) return;
    if (state.saving) { state.again = true; return; }
    state.saving = true; state.dirty = false;
    status('Saving…');
    const sent = JSON.parse(JSON.stringify(state.def));
    try {
      const res = await put(sent, state.revision);
      state.revision = res.revision;
      const errorsBefore = JSON.stringify(state.errors);
      state.errors = res.errors || [];
      store(state.dirty);
      const n = state.errors.length;
      status(n ? `Saved · ${n} problem${n === 1 ? '' : 's'} to fix before publishing` : 'All changes saved');
      // only the error markers can change: leave the lane alone (and a drag under way) when they did not
      if (JSON.stringify(state.errors) !== errorsBefore) errorsChanged();
    } catch (err) {
      state.dirty = true;
      if (err instanceof ApiError && err.status === 409) conflict(err.details);
      else status(`Not saved: ${err.message}`);
    } finally {
      state.saving = false;
      if (state.again) { state.again = false; if (state.dirty) save(); }
    }
  }

  return { schedule, save };
}
