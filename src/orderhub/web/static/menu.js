// The navigation's menu button on narrow screens (app.css folds the navigation behind it only
// on a page this script has marked .has-menu, so without the script the navigation stays open).
// Loaded right after the button, before the navigation is drawn: no flash of the open menu.
(function () {
  var button = document.querySelector(".menu-toggle");
  if (!button) return;
  document.documentElement.classList.add("has-menu");
  button.addEventListener("click", function () {
    var open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", open ? "false" : "true");
  });
})();
