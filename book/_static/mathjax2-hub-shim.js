// The ipywidgets HTML manager typesets widget labels with MathJax 2's API,
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book serves MathJax 3, which
// has no Hub, and every page with saved widgets logged "Cannot read properties of undefined
// (reading 'Queue')". This maps the calls the widgets make onto MathJax 3.
// Loaded with `defer` after MathJax (see _config.yml), before the widgets are drawn.
(function () {
  "use strict";
  var mathjax = window.MathJax;
  if (!mathjax || mathjax.Hub) {
    return;
  }
  mathjax.Hub = {
    Queue: function () {
      Array.prototype.forEach.call(arguments, function (job) {
        if (typeof job === "function") {
          job();
        } else if (Array.isArray(job) && job[0] === "Typeset" && mathjax.typesetPromise) {
          var element = job[2];
          mathjax.startup.promise.then(function () {
            return mathjax.typesetPromise(element ? [element] : undefined);
          });
        }
      });
    },
  };
})();
