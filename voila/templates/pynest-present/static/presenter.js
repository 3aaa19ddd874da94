// pynest presenter view: a key the classroom explorer knows (its hidden box carries the
// class pynest-key-<key>) is written into that box as "<key> <count>", which the kernel
// sees as a change and turns into a step (ClassroomDemoExplorer.press). Keys typed into
// a text box or sent to the focused slider stay theirs.
(function () {
  let count = 0;
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    const target = event.target;
    if (target && target.closest &&
        target.closest("input, textarea, select, [contenteditable], .widget-slider")) {
      return;
    }
    const box = document.querySelector(".pynest-keys.pynest-key-" + CSS.escape(event.key));
    const input = box && box.querySelector("input");
    if (!input) {
      return;
    }
    event.preventDefault();
    count += 1;
    input.value = event.key + " " + count;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();
