// The packing slip's Print button (a file, not inline script: the pages' CSP forbids inline).
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) {
    window.print();
  }
});
