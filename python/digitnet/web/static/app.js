// The draw-a-digit page: pointer strokes on a canvas, sent to /api/predict while drawing.
"use strict";

(() => {
  const PEN = 0.075; // pen width, as a fraction of the pad's side
  const DEBOUNCE_MS = 80; // a request goes out once the drawing has been still this long...
  const MAX_WAIT_MS = 250; // ...or this long after the first unsent change, while drawing on

  const pad = document.getElementById("pad");
  const context = pad.getContext("2d");
  const digitOut = document.getElementById("digit");
  const confidenceOut = document.getElementById("confidence");
  const statusOut = document.getElementById("status");
  const barList = document.getElementById("bars");
  const seen = document.getElementById("seen");
  const seenContext = seen.getContext("2d");

  // The drawing as strokes of points in [0, 1] x [0, 1], so it can be redrawn at any size.
  let strokes = [];
  let activePointer = null;
  let version = 0; // bumped by every change of the drawing
  let timer = null;
  let firstUnsent = null;
  let inFlight = false;

  const bars = [];
  for (let digit = 0; digit < 10; digit += 1) {
    const item = document.createElement("li");
    item.innerHTML =
      '<span class="label"></span><span class="track"><span class="fill"></span></span>' +
      '<span class="value"></span>';
    item.querySelector(".label").textContent = String(digit);
    item.dataset.digit = String(digit);
    barList.appendChild(item);
    bars.push(item);
  }

  // ---- drawing ------------------------------------------------------------------------------

  function fitCanvas() {
    const side = Math.max(1, Math.round(pad.clientWidth * (window.devicePixelRatio || 1)));
    if (pad.width !== side || pad.height !== side) {
      pad.width = side;
      pad.height = side;
    }
    redraw();
  }

  function setPen() {
    context.strokeStyle = "#000";
    context.fillStyle = "#000";
    context.lineCap = "round";
    context.lineJoin = "round";
    context.lineWidth = PEN * pad.width;
  }

  function redraw() {
    context.fillStyle = "#fff";
    context.fillRect(0, 0, pad.width, pad.height);
    setPen();
    for (const stroke of strokes) {
      dot(stroke[0]);
      for (let i = 1; i < stroke.length; i += 1) segment(stroke[i - 1], stroke[i]);
    }
  }

  function dot(point) {
    context.beginPath();
    context.arc(point[0] * pad.width, point[1] * pad.height, (PEN * pad.width) / 2, 0, 2 * Math.PI);
    context.fill();
  }

  function segment(from, to) {
    context.beginPath();
    context.moveTo(from[0] * pad.width, from[1] * pad.height);
    context.lineTo(to[0] * pad.width, to[1] * pad.height);
    context.stroke();
  }

  function pointOf(event) {
    const rect = pad.getBoundingClientRect(); // the border box: the drawing is inside the border
    const x = (event.clientX - rect.left - pad.clientLeft) / pad.clientWidth;
    const y = (event.clientY - rect.top - pad.clientTop) / pad.clientHeight;
    return [Math.min(1, Math.max(0, x)), Math.min(1, Math.max(0, y))];
  }

  pad.addEventListener("pointerdown", (event) => {
    if (activePointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    activePointer = event.pointerId;
    pad.setPointerCapture(event.pointerId);
    const point = pointOf(event);
    strokes.push([point]);
    setPen();
    dot(point);
    changed();
  });

  pad.addEventListener("pointermove", (event) => {
    if (event.pointerId !== activePointer) return;
    event.preventDefault();
    const stroke = strokes[strokes.length - 1];
    const coalesced = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    setPen();
    for (const sample of coalesced.length > 0 ? coalesced : [event]) {
      const point = pointOf(sample);
      segment(stroke[stroke.length - 1], point);
      stroke.push(point);
    }
    changed();
  });

  function endStroke(event) {
    if (event.pointerId === activePointer) activePointer = null;
  }
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);
  pad.addEventListener("lostpointercapture", endStroke);
  pad.addEventListener("contextmenu", (event) => event.preventDefault());

  function clear() {
    strokes = [];
    activePointer = null;
    redraw();
    changed();
  }

  function undo() {
    if (strokes.length === 0) return;
    strokes.pop();
    activePointer = null;
    redraw();
    changed();
  }

  document.getElementById("clear").addEventListener("click", clear);
  document.getElementById("undo").addEventListener("click", undo);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      clear();
    } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      undo();
    }
  });

  // ---- reading: debounced requests, at most one in flight, stale answers dropped -------------

  function changed() {
    version += 1;
    if (strokes.length === 0) {
      cancelTimer();
      showEmpty();
      return;
    }
    setState("waiting");
    schedule();
  }

  function cancelTimer() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    firstUnsent = null;
  }

  function schedule() {
    const now = performance.now();
    if (firstUnsent === null) firstUnsent = now;
    if (timer !== null) clearTimeout(timer);
    const wait = Math.max(0, Math.min(DEBOUNCE_MS, firstUnsent + MAX_WAIT_MS - now));
    timer = setTimeout(send, wait);
  }

  async function send() {
    timer = null;
    if (inFlight) return; // the answer in flight sends again when it arrives
    firstUnsent = null;
    if (strokes.length === 0) return;
    const sent = version;
    inFlight = true;
    try {
      const response = await fetch("/api/predict", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ image: pad.toDataURL("image/png") }),
      });
      const body = await response.json().catch(() => null);
      if (sent === version) {
        if (response.ok && body !== null) {
          showReading(body);
        } else if (response.status === 422) {
          showEmpty();
        } else {
          showError(body && body.error ? body.error : `the server answered ${response.status}`);
        }
      }
    } catch (error) {
      if (sent === version) showError("cannot reach the server");
    } finally {
      inFlight = false;
      if (sent !== version && strokes.length > 0) schedule();
    }
  }

  function setState(state) {
    document.body.dataset.state = state;
    if (state === "waiting") statusOut.textContent = "Reading…";
  }

  function showReading(body) {
    const probabilities = body.probabilities;
    digitOut.textContent = String(body.digit);
    confidenceOut.textContent = `${(100 * probabilities[body.digit]).toFixed(1)}% sure`;
    statusOut.textContent = "Keep drawing, or clear to start again.";
    showBars(probabilities, body.digit);
    showInput(body.input);
    setState("ready");
  }

  function showEmpty() {
    digitOut.textContent = "?";
    confidenceOut.innerHTML = "&nbsp;";
    statusOut.textContent = "Draw a digit to start.";
    showBars(null, -1);
    showInput(null);
    setState("empty");
  }

  function showError(message) {
    statusOut.textContent = `Error: ${message}`;
    setState("error");
  }

  function showBars(probabilities, top) {
    bars.forEach((item, digit) => {
      const p = probabilities ? probabilities[digit] : 0;
      item.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
      item.querySelector(".value").textContent = probabilities ? `${(100 * p).toFixed(1)}%` : "";
      item.classList.toggle("top", digit === top);
      item.dataset.probability = String(p);
    });
  }

  function showInput(rows) {
    const image = seenContext.createImageData(28, 28);
    for (let i = 0; i < 28 * 28; i += 1) {
      const ink = rows ? rows[Math.floor(i / 28)][i % 28] : 0;
      const level = Math.round(255 * (1 - ink));
      image.data.set([level, level, level, 255], 4 * i);
    }
    seenContext.putImageData(image, 0, 0);
  }

  // ---- start --------------------------------------------------------------------------------

  fetch("/api/model")
    .then((response) => (response.ok ? response.json() : null))
    .then((body) => {
      if (body && body.sizes) {
        document.getElementById("model").textContent =
          `digitnet · a sigmoid network of layer sizes ${body.sizes.join(", ")}`;
      }
    })
    .catch(() => {});

  window.addEventListener("resize", fitCanvas);
  fitCanvas();
  showEmpty();
})();
