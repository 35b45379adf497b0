// keyblob authority console: the only script, an enhancement. It keeps
// the countdowns to each request's completable time running; without it
// the page shows the time left when it was rendered.
"use strict";
(function () {
	function span(ms) {
		var s = Math.max(0, Math.round(ms / 1000));
		if (s < 60) return s + "s";
		if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
		if (s < 172800) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
		return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
	}
	function tick() {
		var els = document.querySelectorAll(".countdown[data-until]");
		for (var i = 0; i < els.length; i++) {
			var left = Date.parse(els[i].getAttribute("data-until")) - Date.now();
			els[i].textContent = left > 0 ? "in " + span(left) : "now";
		}
	}
	document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
