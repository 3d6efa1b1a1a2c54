// Keyboard dispatch: one key per action, the map lives in app.js and the help overlay.
import { $ } from "./dom.js";

const help = () => $("help");

export function toggleHelp(show) {
  help().hidden = !show;
}

/**
 * Route key presses: the help overlay first, then an open editor, then the search box,
 * then the single-key `bindings` (`{key: handler}`).
 */
export function bindKeys({ bindings, isEditing, save, cancel, search, clearSearch, undo }) {
  document.addEventListener("keydown", (event) => {
    if (!help().hidden) {
      if (["Escape", "?", "Enter"].includes(event.key)) {
        event.preventDefault();
        toggleHelp(false);
      }
      return;
    }
    const target = event.target;
    const typing = target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement;
    const ctrl = event.ctrlKey || event.metaKey;
    if (isEditing() && typing) {
      if ((event.key === "Enter" && ctrl) || (event.key.toLowerCase() === "s" && ctrl)) {
        event.preventDefault();
        save();
      } else if (event.key === "Escape") {
        event.preventDefault();
        cancel();
      }
      return;
    }
    if (target === $("search")) {
      if (event.key === "Enter") {
        event.preventDefault();
        search().then(() => target.blur());
      } else if (event.key === "Escape") {
        event.preventDefault();
        if (target.value) clearSearch();
        target.blur();
      }
      return;
    }
    if (typing || event.altKey) return;
    if (ctrl) {
      if (event.key === "z") {
        event.preventDefault();
        undo();
      }
      return;
    }
    const handler = bindings[event.key];
    if (handler) {
      event.preventDefault();
      handler();
    }
  });
  $("help-button").addEventListener("click", () => toggleHelp(true));
  help().addEventListener("click", (event) => { if (event.target === help()) toggleHelp(false); });
}
