/* Draws the workflow diagrams (<pre class="mermaid">, text generated on the server from the engine's
   state machine) with the locally vendored mermaid. The text waits in a <template> (it names states by
   their internal names, which no one should see); without JavaScript the table beside it remains. */
(function () {
  "use strict";
  function draw() {
    if (!window.mermaid) { return; }
    document.querySelectorAll("template#diagram-source").forEach(function (source) {
      var target = source.nextElementSibling;
      if (target && !target.textContent) { target.textContent = source.content.textContent; }
    });
    var nodes = document.querySelectorAll("pre.mermaid:not([data-processed])");
    if (!nodes.length) { return; }
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: "neutral",
      fontFamily: "Noto Sans CJK SC, Noto Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
    });
    window.mermaid.run({ nodes: nodes });
  }
  draw();
  document.addEventListener("htmx:load", draw);
})();
