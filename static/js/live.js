/*
 * Live parts of the dashboard pages.
 *
 * Each page says what it is in <main data-live="overview|job-list|job-detail|events|usage|sellerbot">. The page follows
 * /ws/notifications (the staff session authenticates it); when the socket closes it reconnects by
 * itself with growing pauses, and while the socket is refused it polls the server instead. After
 * every (re)connection the page catches up with what it missed.
 */
(function () {
  "use strict";

  // Progress bars come from the server without a width: the Content-Security-Policy allows no
  // style attribute in the markup, so the width is set here from aria-valuenow.
  drawProgressBars(document);

  var page = document.querySelector("main.page");
  var indicator = document.getElementById("live-status");
  var kind = page && page.dataset.live;
  if (!kind) {
    if (indicator) indicator.hidden = true;
    return;
  }

  var STATUS_LABELS = { PENDING: "Na fila", RUNNING: "Executando", COMPLETED: "Concluído", FAILED: "Falhou" };
  var FINISHED = { COMPLETED: true, FAILED: true };
  var INDICATOR_LABELS = {
    connecting: "Conectando…", live: "Ao vivo", reconnecting: "Reconectando…", polling: "Atualização periódica",
  };
  var POLL_MS = 3000;
  var CLOCK = serverClock(page.dataset.timeZone);

  var pages = {
    "job-detail": jobDetailPage, "job-list": jobListPage, "overview": overviewPage, "events": eventsPage,
    "usage": usagePage, "sellerbot": scriptedPage, "chatbot": scriptedPage,
  };
  var current = pages[kind]();
  var socket = null;
  var failures = 0;
  var pollTimer = null;

  connect();

  // --- the connection -------------------------------------------------------------------------

  function connect() {
    setIndicator(failures ? "reconnecting" : "connecting");
    var opened = false;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    try {
      socket = new WebSocket(scheme + location.host + "/ws/notifications");
    } catch (error) {
      return retryLater(false);
    }
    socket.onopen = function () {
      opened = true;
      failures = 0;
      stopPolling();
      setIndicator("live");
      current.subscribe(send);
      current.catchUp();
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      current.receive(message);
    };
    socket.onclose = function () {
      socket = null;
      retryLater(opened);
    };
  }

  function retryLater(wasOpen) {
    failures += 1;
    // Refused twice in a row (server down, proxy without websockets): poll meanwhile.
    if (!wasOpen && failures >= 2) startPolling();
    else if (!pollTimer) setIndicator("reconnecting");
    var pause = Math.min(15000, 500 * Math.pow(2, Math.min(failures, 5))) + Math.random() * 500;
    setTimeout(connect, pause);
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function startPolling() {
    if (pollTimer) return;
    setIndicator("polling");
    current.catchUp();
    pollTimer = setInterval(current.catchUp, POLL_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function setIndicator(state) {
    if (indicator) {
      indicator.dataset.state = state;
      indicator.textContent = INDICATOR_LABELS[state];
    }
    page.dispatchEvent(new CustomEvent("live:state", { detail: { state: state } }));
  }

  // --- pages ----------------------------------------------------------------------------------

  function jobDetailPage() {
    var jobId = page.dataset.jobId;
    var stateUrl = page.dataset.stateUrl;
    var logList = document.getElementById("log-lines");
    var logCount = document.getElementById("log-count");
    var timeline = document.getElementById("job-timeline");
    var timelineUrl = page.dataset.timelineUrl;
    var lastLogId = Number(logList.dataset.lastId || 0);
    var status = page.dataset.status;

    function applyState(data) {
      updateProgress(document.getElementById("job-progress"), data.progress, data.status);
      document.getElementById("job-progress-text").textContent = data.progress + "%";
      updateBadge(document.getElementById("job-status"), data.status);
      var finishedNow = FINISHED[data.status] && !FINISHED[status];
      // The timeline's times are the server's: redraw it when the job moves on.
      if (data.status !== status) getText(timelineUrl, function (html) { timeline.innerHTML = html; });
      status = data.status;
      page.dataset.status = status;
      // The result, the failure evidence and the timeline are drawn by the server: fetch them.
      if (finishedNow) setTimeout(function () { location.reload(); }, 1200);
    }

    function appendLog(line) {
      if (line.id) {
        if (line.id <= lastLogId) return;
        lastLogId = line.id;
      }
      var empty = document.getElementById("log-empty");
      if (empty) empty.remove();
      var item = document.createElement("li");
      item.className = "log-" + String(line.level || "info").toLowerCase() + " fresh";
      if (line.id) item.dataset.logId = line.id;
      var time = document.createElement("time");
      time.textContent = clock(line.timestamp);
      var level = document.createElement("span");
      level.className = "level";
      level.textContent = line.level;
      var text = document.createElement("span");
      text.className = "msg";
      text.textContent = line.message;
      item.append(time, level, text);
      var atBottom = logList.scrollTop + logList.clientHeight >= logList.scrollHeight - 8;
      logList.appendChild(item);
      if (atBottom) logList.scrollTop = logList.scrollHeight;
      countLines();
    }

    function countLines() {
      var lines = logList.querySelectorAll("li:not(#log-empty)").length;
      logCount.textContent = lines + (lines === 1 ? " linha" : " linhas") + " · ao vivo";
    }

    return {
      subscribe: function (sendMessage) { sendMessage({ action: "subscribe", job_id: jobId }); },
      receive: function (message) {
        if (message.job_id !== jobId) return;
        if (message.type === "job_update") applyState(message.data);
        else if (message.type === "log") appendLog(message);
      },
      catchUp: function () {
        getJson(stateUrl + "?depois=" + lastLogId, function (body) {
          body.logs.forEach(appendLog);
          applyState(body.data);
        });
      },
    };
  }

  function jobListPage() {
    var rows = document.getElementById("job-rows");
    var firstPage = page.dataset.page === "1";
    var query = page.dataset.query;
    var rowsUrl = page.dataset.rowsUrl;
    // A refetched table older than a live change would undo it: such a response is dropped.
    var lastLiveChange = 0;

    function rowUrl(jobId) {
      return "/painel/jobs/" + encodeURIComponent(jobId) + "/linha" + (query ? "?" + query : "");
    }

    function parseRow(html) {
      var holder = document.createElement("tbody");
      holder.innerHTML = html.trim();
      drawProgressBars(holder);
      return holder.firstElementChild;
    }

    // A job that ended: the server draws its reason (and, once failed, its checkbox).
    function redrawRow(jobId) {
      getText(rowUrl(jobId), function (html) {
        var current = rows.querySelector('[data-job-id="' + jobId + '"]');
        var row = html && parseRow(html);
        if (current && row) current.replaceWith(row);
      });
    }

    function addRow(jobId) {
      getText(rowUrl(jobId), function (html) {
        if (!html || rows.querySelector('[data-job-id="' + jobId + '"]')) return;
        var row = parseRow(html);
        if (!row) return;
        row.classList.add("fresh");
        lastLiveChange = Date.now();
        var empty = rows.querySelector(".empty-row");
        if (empty) empty.remove();
        rows.insertBefore(row, rows.firstElementChild);
      });
    }

    return {
      subscribe: function (sendMessage) { sendMessage({ action: "subscribe", job_id: "*" }); },
      receive: function (message) {
        if (message.type !== "job_update") return;
        var row = rows.querySelector('[data-job-id="' + message.job_id + '"]');
        if (row) {
          lastLiveChange = Date.now();
          updateBadge(row, message.data.status);
          updateProgress(row, message.data.progress, message.data.status);
          var text = row.querySelector("[data-progress-text]");
          if (text) text.textContent = message.data.progress + "%";
          var ended = FINISHED[message.data.status] && row.className !== "row-" + message.data.status.toLowerCase();
          row.className = "row-" + message.data.status.toLowerCase();
          if (ended) redrawRow(message.job_id);
        } else if (firstPage) {
          addRow(message.job_id);
        }
      },
      catchUp: function () {
        var requestedAt = Date.now();
        getText(rowsUrl, function (html) {
          if (lastLiveChange > requestedAt) return;
          // Redrawn rows keep the ticks of the bulk retry selection.
          var ticked = Array.prototype.map.call(rows.querySelectorAll("input[name=ids]:checked"),
            function (box) { return box.value; });
          rows.innerHTML = html;
          drawProgressBars(rows);
          ticked.forEach(function (jobId) {
            var box = rows.querySelector('input[name=ids][value="' + jobId + '"]');
            if (box) box.checked = true;
          });
        });
      },
    };
  }

  function overviewPage() {
    var figures = document.getElementById("overview-figures");
    var refreshUrl = page.dataset.refreshUrl;
    var pending = null;

    function refresh() {
      pending = null;
      getText(refreshUrl, function (html) {
        figures.innerHTML = html;
        drawProgressBars(figures);
      });
    }

    // Queue depth and workers change without job events too.
    setInterval(refresh, 30000);
    return {
      subscribe: function (sendMessage) { sendMessage({ action: "subscribe", job_id: "*" }); },
      receive: function (message) {
        if (message.type === "job_update" && !pending) pending = setTimeout(refresh, 1000);
      },
      catchUp: refresh,
    };
  }

  // The bots' events, newest first: a stored event is announced (bot_event, with its id) and
  // the page fetches its row from the server, which applies the page's filters (204: left out).
  function eventsPage() {
    var rows = document.getElementById("event-rows");
    var counts = document.getElementById("intake-counts-body");
    var firstPage = page.dataset.page === "1";
    var rowsUrl = page.dataset.rowsUrl;
    var liveRowsUrl = page.dataset.liveRowsUrl;
    var countsUrl = page.dataset.countsUrl;
    var MAX_ROWS = 100;
    var waiting = [];
    var rowsTimer = null;
    var countsTimer = null;
    var lastLiveChange = 0;

    function has(eventId) {
      return rows.querySelector('[data-event-id="' + eventId + '"]') !== null;
    }

    function fetchRows() {
      rowsTimer = null;
      var ids = waiting.splice(0, 100).filter(function (eventId) { return !has(eventId); });
      if (waiting.length) rowsTimer = setTimeout(fetchRows, 300);
      if (!ids.length) return;
      getText(liveRowsUrl + ids.join(","), function (html) {
        var holder = document.createElement("tbody");
        holder.innerHTML = html.trim();
        var fresh = Array.prototype.filter.call(holder.children, function (row) {
          return row.dataset.eventId && !has(row.dataset.eventId);
        });
        if (!fresh.length) return;
        lastLiveChange = Date.now();
        var empty = rows.querySelector(".empty-row");
        if (empty) empty.remove();
        // The fragment is newest first: put its last row on top first.
        for (var index = fresh.length - 1; index >= 0; index--) {
          fresh[index].classList.add("fresh");
          rows.insertBefore(fresh[index], rows.firstElementChild);
        }
        while (rows.children.length > MAX_ROWS) rows.lastElementChild.remove();
      });
    }

    function refreshCounts() {
      countsTimer = null;
      getText(countsUrl, function (html) { counts.innerHTML = html; });
    }

    return {
      subscribe: function (sendMessage) { sendMessage({ action: "subscribe", stream: "bots" }); },
      receive: function (message) {
        if (message.type !== "bot_event") return;
        // A burst of events redraws the counts once, a few seconds later.
        if (!countsTimer) countsTimer = setTimeout(refreshCounts, 3000);
        if (!firstPage || typeof message.id !== "number") return;
        waiting.push(message.id);
        if (!rowsTimer) rowsTimer = setTimeout(fetchRows, 200);
      },
      catchUp: function () {
        var requestedAt = Date.now();
        getText(rowsUrl, function (html) {
          if (lastLiveChange > requestedAt) return;
          rows.innerHTML = html;
        });
        refreshCounts();
      },
    };
  }

  // The usage figures come from the daily sums: redrawn when a budget alert arrives, and every
  // minute for the usage that keeps coming (the top conversations stay as the page loaded them).
  function usagePage() {
    var figures = document.getElementById("usage-figures");
    var conversations = document.getElementById("usage-conversations");
    var refreshUrl = page.dataset.refreshUrl;
    var drawnAt = Date.now();
    var pending = null;

    // The top conversations take longer to sum than the rest: they come on a request of their own.
    if (conversations) getText(conversations.dataset.url, function (html) { conversations.innerHTML = html; });

    function refresh() {
      pending = null;
      drawnAt = Date.now();
      getText(refreshUrl, function (html) {
        figures.innerHTML = html;
        drawProgressBars(figures);
      });
    }

    setInterval(refresh, 60000);
    return {
      subscribe: function (sendMessage) { sendMessage({ action: "subscribe", stream: "bots" }); },
      receive: function (message) {
        if (message.type === "budget_alert" && !pending) pending = setTimeout(refresh, 500);
      },
      // The first connection follows the page's own drawing: nothing to catch up yet.
      catchUp: function () { if (Date.now() - drawnAt > 5000) refresh(); },
    };
  }

  // A page drawn by a script of its own (static/js/sellerbot.js, chatbot.js) gets the connection's
  // frames and catch-up calls as events on <main>: live:message {detail: frame}, live:catchup,
  // live:state. A user's own notifications reach every connection of theirs; a page that follows a
  // stream besides names it in <main data-live-streams="chatbot"> (space-separated).
  function scriptedPage() {
    var streams = (page.dataset.liveStreams || "").split(/\s+/).filter(Boolean);
    return {
      subscribe: function (sendMessage) {
        streams.forEach(function (stream) { sendMessage({ action: "subscribe", stream: stream }); });
      },
      receive: function (message) { page.dispatchEvent(new CustomEvent("live:message", { detail: message })); },
      catchUp: function () { page.dispatchEvent(new CustomEvent("live:catchup")); },
    };
  }

  // --- drawing --------------------------------------------------------------------------------

  function updateBadge(container, status) {
    var badge = container && container.querySelector("[data-status]");
    if (!badge) return;
    badge.className = "badge badge-" + status.toLowerCase();
    badge.textContent = STATUS_LABELS[status] || status;
  }

  function updateProgress(container, progress, status) {
    var bar = container && container.querySelector("[data-progress]");
    if (!bar) return;
    bar.className = "progress progress-" + status.toLowerCase();
    bar.setAttribute("aria-valuenow", progress);
    bar.firstElementChild.style.width = progress + "%";
  }

  function drawProgressBars(root) {
    root.querySelectorAll("[data-progress]").forEach(function (bar) {
      bar.firstElementChild.style.width = bar.getAttribute("aria-valuenow") + "%";
    });
  }

  // Times read on the server's clock (TIME_ZONE, in <main data-time-zone>), like the lines the
  // server drew, whatever the zone of the computer showing the page.
  function clock(timestamp) {
    var when = timestamp ? new Date(timestamp) : new Date();
    return isNaN(when) ? "" : CLOCK.format(when);
  }

  function serverClock(timeZone) {
    var options = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
    try {
      return new Intl.DateTimeFormat("pt-BR", Object.assign({ timeZone: timeZone }, options));
    } catch (error) {  // a zone this browser does not know: its own clock rather than none
      return new Intl.DateTimeFormat("pt-BR", options);
    }
  }

  // --- fetching -------------------------------------------------------------------------------

  function getJson(url, done) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) done(body); })
      .catch(function () { /* the next poll or reconnection tries again */ });
  }

  function getText(url, done) {
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.status === 200 ? response.text() : null; })
      .then(function (text) { if (text !== null) done(text); })
      .catch(function () { /* the next poll or reconnection tries again */ });
  }
})();
