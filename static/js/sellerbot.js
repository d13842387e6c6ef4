/*
 * The Seller Bot page (/painel/seller-bot/): the switch, profiles and tasks change through the
 * /bot/* API, and the page keeps itself current from the same API.
 *
 * static/js/live.js holds the websocket and hands this script its frames (live:message), its
 * reconnections (live:catchup) and its state (live:state) as events on <main>. A bot_* frame
 * refetches what it touches; while the socket is open the page refetches every 30 s anyway (the
 * worker's heartbeat has no frame), and while it is refused or closed, every 15 s. The API
 * counts requests per minute: refetches are spaced, and a 429 pauses them for its Retry-After.
 */
(function () {
  "use strict";

  var page = document.querySelector("main.page[data-live=sellerbot]");
  if (!page) return;

  var LABELS = JSON.parse(document.getElementById("sellerbot-labels").textContent);
  var CAN_WRITE = page.dataset.canWrite === "1";
  var URLS = {
    profiles: page.dataset.profilesUrl, tasks: page.dataset.tasksUrl, worker: page.dataset.workerUrl,
    stats: page.dataset.statsUrl, start: page.dataset.startUrl, stop: page.dataset.stopUrl,
  };
  var LIVE_EVERY_MS = 30000;
  var POLL_EVERY_MS = 15000;
  var VERIFY_EVERY_MS = 6000;
  var VERIFY_GIVE_UP_MS = 180000;
  var PROFILES_EVERY_MS = 120000;
  var EVENT_GAP_MS = 4000;
  var LOADED_AT = Date.now();
  var DATE = formatter(page.dataset.timeZone, { day: "2-digit", month: "2-digit", year: "numeric",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var SHORT_DATE = formatter(page.dataset.timeZone, { day: "2-digit", month: "2-digit", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23" });
  var NUMBER = new Intl.NumberFormat("pt-BR", { maximumFractionDigits: 1, minimumFractionDigits: 1 });

  var indicator = document.getElementById("live-status");
  var refreshNote = document.getElementById("sb-refresh");
  var liveState = (indicator && indicator.dataset.state) || "connecting";
  var verifying = {};   // profile id → {since, seen: its last verification when the check was asked}
  var lastFetched = { profiles: LOADED_AT, tasks: LOADED_AT, stats: LOADED_AT, worker: LOADED_AT };
  var wanted = {};
  var refreshTimer = null;
  var lastEventRefresh = 0;
  var blockedUntil = 0;

  document.querySelectorAll("[data-js-only], #sb-switch-form, #sb-profile-form, #sb-task-form").forEach(
    function (node) { node.hidden = false; });
  setRefreshNote();

  // --- live ------------------------------------------------------------------------------------

  page.addEventListener("live:state", function (event) {
    liveState = event.detail.state;
    setRefreshNote();
  });
  page.addEventListener("live:catchup", function () {
    // The first connection follows the page's own drawing; later ones catch up with what they missed.
    if (liveState === "live" && Date.now() - LOADED_AT > 5000) want(["profiles", "tasks", "stats", "worker"], 0);
  });
  page.addEventListener("live:message", function (event) {
    var frame = event.detail || {};
    var payload = frame.payload || {};
    if (typeof frame.type !== "string" || frame.type.indexOf("bot_") !== 0) return;
    if (frame.type === "bot_worker_started" || frame.type === "bot_worker_stopped") {
      want(["worker"], eventDelay());
      return;
    }
    if (frame.type === "bot_task_failed" && payload.task_id) {
      say(document.getElementById("sb-tasks-message"), "A tarefa #" + payload.task_id + " falhou" +
        (payload.error ? ": " + payload.error : "."), "error");
      want(["profiles"], eventDelay());  // a refused login changes the profile's situation
    }
    if (payload.task_id) markRow(payload.task_id, frame.type);
    want(["tasks", "stats", "worker"], eventDelay());
  });

  setInterval(function () {
    var now = Date.now();
    var every = liveState === "live" ? LIVE_EVERY_MS : POLL_EVERY_MS;
    var due = ["worker", "stats", "tasks"].filter(function (part) { return now - lastFetched[part] >= every; });
    var checking = Object.keys(verifying).length > 0;
    if (now - lastFetched.profiles >= (checking ? VERIFY_EVERY_MS : PROFILES_EVERY_MS)) due.push("profiles");
    if (due.length) want(due, 0);
  }, 3000);

  function setRefreshNote(extra) {
    var live = liveState === "live";
    if (indicator && liveState === "polling") indicator.textContent = "Atualização a cada 15 s";
    refreshNote.dataset.state = live ? "live" : "polling";
    refreshNote.textContent = extra || (live ? "Ao vivo." : "Atualização a cada 15 s.");
  }

  function eventDelay() {
    return Math.max(400, lastEventRefresh + EVENT_GAP_MS - Date.now());
  }

  // --- fetching --------------------------------------------------------------------------------

  function want(parts, delay) {
    parts.forEach(function (part) { wanted[part] = true; });
    if (refreshTimer) return;
    refreshTimer = setTimeout(refresh, Math.max(delay, blockedUntil - Date.now(), 0));
  }

  function refresh() {
    refreshTimer = null;
    var parts = Object.keys(wanted);
    wanted = {};
    lastEventRefresh = Date.now();
    parts.forEach(function (part) {
      lastFetched[part] = Date.now();
      call("GET", URLS[part]).then(function (answer) {
        if (answer.status === 200) {
          DRAW[part](answer.body);
          if (blockedUntil && Date.now() >= blockedUntil) { blockedUntil = 0; setRefreshNote(); }
        } else if (answer.status === 429) {
          blockedUntil = Date.now() + answer.retryAfter * 1000;
          setRefreshNote(detailText(answer.body) || ("Muitas requisições; nova tentativa em " + answer.retryAfter + " s."));
          want([part], 0);
        }
      }, function () { /* offline: the next round tries again */ });
    });
  }

  var DRAW = { profiles: drawProfiles, tasks: drawTasks, stats: drawStats, worker: drawWorker };

  // {status, body, retryAfter}; the promise fails only when the server could not be reached.
  var call = window.consoleApi.call;

  // A sentence for any answer that is not a success (422 lists become "campo: mensagem; …").
  function detailText(body) {
    if (!body || body.detail === undefined) return "";
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map(function (item) { return fieldName(item.loc) + ": " + item.msg; }).join("; ");
    }
    return String(body.detail);
  }

  function failure(answer) {
    if (!answer) return "Sem resposta do servidor; verifique a conexão e tente de novo.";
    var text = detailText(answer.body);
    if (answer.status === 429) return text || ("Muitas requisições; tente de novo em " + answer.retryAfter + " s.");
    if (answer.status === 403) return text || "Sem permissão para esta ação.";
    return text || ("O servidor respondeu " + answer.status + "; tente de novo.");
  }

  function fieldName(loc) {
    var parts = (loc || []).filter(function (part) { return part !== "body"; });
    return parts.length ? parts.join(".") : "pedido";
  }

  // --- drawing ---------------------------------------------------------------------------------

  function drawStats(stats) {
    setText('[data-stat="total_tasks"]', String(stats.total_tasks));
    Object.keys(stats.tasks_by_status || {}).forEach(function (status) {
      var strong = document.querySelector('[data-stat="tasks_by_status"] [data-status="' + status + '"] strong');
      if (strong) strong.textContent = String(stats.tasks_by_status[status]);
    });
    setText('[data-stat="success_rate"]', stats.success_rate === null ? "—" : NUMBER.format(stats.success_rate) + "%");
    setText('[data-stat="runs"]', stats.runs_completed + " concluída" + (stats.runs_completed === 1 ? "" : "s") +
      " · " + stats.runs_failed + " com falha");
    setText('[data-stat="replies_sent"]', String(stats.replies_sent));
    setText('[data-stat="average_duration"]', stats.average_duration_seconds === null ? "—"
      : NUMBER.format(stats.average_duration_seconds) + " s");
    setText('[data-stat="active_profiles"]', String(stats.active_profiles));
    setText('[data-stat="profiles"]', "de " + stats.profiles + (stats.profiles === 1 ? " perfil" : " perfis") +
      " · " + stats.profiles_ok + " conectado" + (stats.profiles_ok === 1 ? "" : "s"));
  }

  function drawWorker(worker) {
    var card = document.getElementById("sb-worker");
    card.dataset.status = worker.status;
    card.dataset.switch = worker.switch;
    var state = document.getElementById("sb-worker-state");
    state.dataset.state = worker.status === "running" ? "on" : worker.switch === "on" ? "silent" : "off";
    state.textContent = worker.status === "running" ? "Ligado, executando"
      : worker.switch === "on" ? "Ligado, sem sinal do worker" : "Desligado";
    var reason = document.getElementById("sb-worker-reason");
    reason.textContent = worker.reason || "";
    reason.hidden = !worker.reason;
    setText("#sb-heartbeat", worker.heartbeat_age_seconds === null ? "nenhum"
      : "há " + Math.round(worker.heartbeat_age_seconds) + " s");
    setText("#sb-switch-changed", (worker.switch === "on" ? "ligada" : "desligada") +
      (worker.changed_by ? " por " + worker.changed_by : "") +
      (worker.changed_at ? " em " + when(worker.changed_at, DATE) : ""));
    setText("#sb-queue-depth", worker.queue_depth === null ? "fila indisponível"
      : worker.queue_depth + (worker.queue_depth === 1 ? " job" : " jobs"));
    var current = worker.current_task;
    setText("#sb-current-task", current ? "#" + current.task_id + " · " + label("task_type", current.task_type) : "nenhuma");
    var button = document.getElementById("sb-switch-button");
    if (button) {
      var on = worker.switch === "on";
      button.dataset.action = on ? "stop" : "start";
      button.textContent = on ? "Parar" : "Ligar";
      button.classList.toggle("sb-danger", on);
    }
  }

  function drawProfiles(list) {
    list = list.slice().sort(function (one, other) {
      return one.name.localeCompare(other.name, "pt-BR") || Number(one.id) - Number(other.id);
    });
    var rows = document.getElementById("sb-profile-rows");
    var drawn = list.map(profileRow);
    if (!drawn.length) drawn = [emptyRow(7, "Nenhum perfil cadastrado ainda.")];
    replaceRows(rows, drawn, "profileId");
    drawProfileSelect(list);
  }

  function profileRow(profile) {
    var id = String(profile.id);
    var check = verifying[id];
    var checked = check && stamp(profile.last_verified_at) !== check.seen;
    if (check && (checked || Date.now() - check.since > VERIFY_GIVE_UP_MS)) {
      delete verifying[id];
      if (!checked) {
        say(document.getElementById("sb-profiles-message"), "A verificação de " + profile.name + " ainda não " +
          "terminou (o worker de jobs está rodando?); a página mostra a última situação conhecida.", "info");
      } else {
        say(document.getElementById("sb-profiles-message"), "Verificação de " + profile.name + ": " +
          label("login_status", profile.login_status) + (profile.status_message ? " — " + profile.status_message : "."),
          profile.login_status === "ok" ? "ok" : profile.login_status === "failed" ? "error" : "info");
      }
      check = null;
    }
    var status = el("td", { className: "col-login-status" }, [
      check ? el("span", { className: "badge sb-login-checking" }, ["Verificando…"])
        : el("span", { className: "badge sb-login-" + profile.login_status }, [label("login_status", profile.login_status)]),
    ]);
    if (profile.status_message && !check) status.appendChild(el("span", { className: "sb-status-message" }, [profile.status_message]));
    var cells = [
      el("td", { className: "col-name" }, [el("strong", {}, [profile.name])]),
      el("td", { className: "col-login mono" }, [profile.username]),
      el("td", { className: "col-region" }, [profile.region]),
      status,
      el("td", { className: "col-verified nowrap" }, [profile.last_verified_at ? when(profile.last_verified_at, DATE) : "nunca"]),
      el("td", { className: "col-tasks num" }, [String(profile.tasks)]),
    ];
    if (CAN_WRITE) {
      var form = el("form", { className: "sb-verify-form" }, []);
      form.dataset.profileId = id;
      if (profile.login_status === "needs_verification") {
        form.appendChild(el("input", { type: "text", name: "code", inputMode: "numeric", maxLength: 12,
          placeholder: "Código", autocomplete: "one-time-code" }, []));
        form.firstChild.setAttribute("aria-label", "Código de verificação de " + profile.name);
      }
      var verify = el("button", { type: "submit", className: "button secondary sb-small" }, ["Verificar"]);
      verify.disabled = Boolean(check);
      form.appendChild(verify);
      var remove = el("button", { type: "button", className: "sb-link-danger" }, ["Remover"]);
      remove.dataset.deleteProfile = id;
      cells.push(el("td", { className: "col-actions" }, [el("div", { className: "sb-row-actions" }, [form, remove])]));
    }
    var row = el("tr", {}, cells);
    row.dataset.profileId = id;
    row.dataset.loginStatus = profile.login_status;
    row.dataset.verifiedAt = profile.last_verified_at || "";
    return row;
  }

  // A check has ended when the profile's last verification moves (set on success and failure).
  function stamp(iso) {
    var time = iso ? Date.parse(iso) : 0;
    return isNaN(time) ? 0 : Math.floor(time / 1000);
  }

  function drawProfileSelect(list) {
    var select = document.getElementById("sb-task-profile");
    if (!select) return;
    var chosen = select.value;
    select.textContent = "";
    list.forEach(function (profile) {
      select.appendChild(el("option", { value: String(profile.id) }, [profile.name + " (" + profile.region + ")"]));
    });
    if (!list.length) select.appendChild(el("option", { value: "" }, ["Cadastre um perfil antes"]));
    if (chosen && list.some(function (profile) { return String(profile.id) === chosen; })) select.value = chosen;
  }

  function drawTasks(list) {
    var drawn = list.map(taskRow);
    if (!drawn.length) drawn = [emptyRow(8, "Nenhuma tarefa cadastrada ainda.")];
    replaceRows(document.getElementById("sb-task-rows"), drawn, "taskId");
  }

  function taskRow(task) {
    var run = task.last_run;
    var result;
    if (run && run.error) {
      result = [el("span", { className: "error-text" }, [run.error])];
    } else if (run) {
      result = [label("task_status", run.status) +
        (run.duration_seconds !== null ? " em " + NUMBER.format(run.duration_seconds) + " s" : "")];
    } else if (task.last_error) {
      result = [el("span", { className: "error-text" }, [task.last_error])];
    } else {
      result = [el("span", { className: "muted" }, ["ainda não executou"])];
    }
    if (run && run.finished_at) result.push(" ", el("span", { className: "muted small" }, ["· " + when(run.finished_at, SHORT_DATE)]));
    var cells = [
      el("td", { className: "col-id mono" }, ["#" + task.id]),
      el("td", { className: "col-type" }, [el("span", { className: "kind" }, [label("task_type", task.task_type)]), " ",
        el("span", { className: "muted small" }, [intervalLabel(task.interval_seconds)])]),
      el("td", { className: "col-profile" }, [task.profile_name]),
      el("td", { className: "col-status" }, [el("span", { className: "badge badge-" + task.status }, [label("task_status", task.status)])]),
      el("td", { className: "col-result" }, result),
      el("td", { className: "col-replies num" }, [run ? String(run.replies_sent) : "—"]),
      el("td", { className: "col-next nowrap" }, [task.next_run_at ? when(task.next_run_at, DATE) : "—"]),
    ];
    if (CAN_WRITE) {
      var remove = el("button", { type: "button", className: "sb-link-danger" }, ["Remover"]);
      remove.dataset.deleteTask = String(task.id);
      cells.push(el("td", { className: "col-actions" }, [remove]));
    }
    var row = el("tr", {}, cells);
    row.dataset.taskId = String(task.id);
    row.dataset.status = task.status;
    return row;
  }

  // Swap the rows, keeping what someone is typing (a verification code) and flashing the rows
  // that are new or changed status.
  function replaceRows(tbody, rows, key) {
    var before = {};
    Array.prototype.forEach.call(tbody.children, function (row) {
      if (row.dataset[key]) before[row.dataset[key]] = row;
    });
    var focused = document.activeElement;
    rows.forEach(function (row) {
      var old = before[row.dataset[key]];
      if (!row.dataset[key]) return;
      if (!old || old.dataset.status !== row.dataset.status || old.dataset.loginStatus !== row.dataset.loginStatus) {
        if (Object.keys(before).length) row.classList.add("fresh");
      }
      var typed = old && old.querySelector("input[name=code]");
      var field = row.querySelector("input[name=code]");
      if (typed && field) {
        field.value = typed.value;
        if (focused === typed) setTimeout(function () { field.focus(); }, 0);
      }
    });
    tbody.replaceChildren.apply(tbody, rows);
  }

  function markRow(taskId, type) {
    var badge = document.querySelector('#sb-task-rows tr[data-task-id="' + taskId + '"] .badge');
    if (!badge) return;
    var status = type === "bot_task_started" ? "running" : type === "bot_task_completed" ? "completed" : "failed";
    badge.className = "badge badge-" + status;
    badge.textContent = label("task_status", status);
  }

  function emptyRow(columns, text) {
    var cell = el("td", {}, [el("p", { className: "empty" }, [text])]);
    cell.colSpan = columns;
    return el("tr", { className: "empty-row" }, [cell]);
  }

  function say(node, text, kind) {
    if (!node) return;
    node.textContent = "";
    node.className = node.className.replace(/ ?sb-message-\w+/g, "") + " sb-message-" + (kind || "info");
    if (typeof text === "string") node.textContent = text;
    else node.appendChild(text);
    node.hidden = !text;
  }

  // --- the switch ------------------------------------------------------------------------------

  var switchForm = document.getElementById("sb-switch-form");
  if (switchForm) switchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = document.getElementById("sb-switch-button");
    var action = button.dataset.action;
    var message = document.getElementById("sb-switch-message");
    var reason = switchForm.elements.reason.value.trim();
    button.disabled = true;
    call("POST", action === "stop" ? URLS.stop : URLS.start, reason ? { reason: reason } : {})
      .then(function (answer) {
        if (answer.status === 200) {
          drawWorker(answer.body);
          switchForm.elements.reason.value = "";
          say(message, action === "stop" ? "Bot desligado: nenhuma tarefa nova é iniciada."
            : "Bot ligado: as tarefas na hora são iniciadas pelo worker.", "ok");
        } else {
          say(message, failure(answer), answer.status === 409 ? "info" : "error");
          if (answer.status === 409) want(["worker"], 0);
        }
      }, function () { say(message, failure(null), "error"); })
      .then(function () { button.disabled = false; });
  });

  // --- profiles --------------------------------------------------------------------------------

  var profileRows = document.getElementById("sb-profile-rows");
  var profilesMessage = document.getElementById("sb-profiles-message");

  profileRows.addEventListener("submit", function (event) {
    var form = event.target.closest(".sb-verify-form");
    if (!form) return;
    event.preventDefault();
    var id = form.dataset.profileId;
    var row = form.closest("tr");
    var code = form.elements.code ? form.elements.code.value.trim() : "";
    var button = form.querySelector("button");
    button.disabled = true;
    call("POST", URLS.profiles + "/" + encodeURIComponent(id) + "/verify", code ? { code: code } : {})
      .then(function (answer) {
        if (answer.status === 202) {
          verifying[id] = { since: Date.now(), seen: stamp(row.dataset.verifiedAt) };
          say(profilesMessage, (answer.body && answer.body.detail) || "Verificação na fila.", "info");
          var badge = row.querySelector(".col-login-status .badge");
          if (badge) { badge.className = "badge sb-login-checking"; badge.textContent = "Verificando…"; }
          want(["profiles"], VERIFY_EVERY_MS);
        } else {
          button.disabled = false;
          say(profilesMessage, failure(answer), answer.status === 409 ? "info" : "error");
        }
      }, function () { button.disabled = false; say(profilesMessage, failure(null), "error"); });
  });

  profileRows.addEventListener("click", function (event) {
    var button = event.target.closest("[data-delete-profile]");
    if (!button) return;
    var row = button.closest("tr");
    var name = row.querySelector(".col-name").textContent;
    if (!window.confirm("Remover o perfil " + name + "? A senha e a sessão guardadas são apagadas.")) return;
    deleteProfile(button.dataset.deleteProfile, name, false);
  });

  function deleteProfile(id, name, withTasks) {
    var url = URLS.profiles + "/" + encodeURIComponent(id) + (withTasks ? "?with_tasks=true" : "");
    call("DELETE", url).then(function (answer) {
      if (answer.status === 204) {
        say(profilesMessage, "Perfil " + name + " removido" + (withTasks ? " junto com as tarefas." : "."), "ok");
        want(["profiles", "tasks", "stats"], 0);
      } else if (answer.status === 409 && /with_tasks/.test(detailText(answer.body))) {
        var offer = el("span", {}, [
          "O perfil " + name + " tem tarefas cadastradas. ",
          el("button", { type: "button", className: "button sb-danger sb-small" }, ["Remover junto com as tarefas"]),
        ]);
        offer.querySelector("button").addEventListener("click", function () {
          if (window.confirm("Remover o perfil " + name + " e todas as tarefas dele?")) deleteProfile(id, name, true);
        });
        say(profilesMessage, offer, "info");
      } else {
        say(profilesMessage, failure(answer), "error");
      }
    }, function () { say(profilesMessage, failure(null), "error"); });
  }

  var profileForm = document.getElementById("sb-profile-form");
  if (profileForm) profileForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = {
      name: profileForm.elements.name.value.trim(), username: profileForm.elements.username.value.trim(),
      password: profileForm.elements.password.value, region: profileForm.elements.region.value,
    };
    var missing = ["name", "username", "password"].filter(function (name) { return !data[name]; })
      .map(function (name) { return { loc: ["body", name], msg: "campo obrigatório" }; });
    if (missing.length) return showErrors(profileForm, missing);
    submit(profileForm, URLS.profiles, data, function (profile) {
      profileForm.reset();
      say(profilesMessage, "Perfil " + profile.name + " adicionado. Use “Verificar” para testar o login.", "ok");
      want(["profiles", "stats"], 0);
    });
  });

  // --- tasks -----------------------------------------------------------------------------------

  var tasksMessage = document.getElementById("sb-tasks-message");
  document.getElementById("sb-task-rows").addEventListener("click", function (event) {
    var button = event.target.closest("[data-delete-task]");
    if (!button) return;
    var id = button.dataset.deleteTask;
    if (!window.confirm("Remover a tarefa #" + id + "?")) return;
    call("DELETE", URLS.tasks + "/" + encodeURIComponent(id)).then(function (answer) {
      if (answer.status === 204) {
        say(tasksMessage, "Tarefa #" + id + " removida.", "ok");
        want(["tasks", "stats", "profiles"], 0);
      } else {
        say(tasksMessage, failure(answer), answer.status === 409 ? "info" : "error");
      }
    }, function () { say(tasksMessage, failure(null), "error"); });
  });

  var taskForm = document.getElementById("sb-task-form");
  if (taskForm) {
    var typeSelect = taskForm.elements.task_type;
    var showFieldsOfType = function () {
      taskForm.querySelectorAll("[data-for-types]").forEach(function (field) {
        field.hidden = field.dataset.forTypes.split(" ").indexOf(typeSelect.value) < 0;
      });
    };
    typeSelect.addEventListener("change", showFieldsOfType);
    showFieldsOfType();
    taskForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var built = taskPayload(taskForm);
      if (built.problems.length) return showErrors(taskForm, built.problems);
      submit(taskForm, URLS.tasks, built.payload, function (task) {
        taskForm.elements.templates.value = "";
        taskForm.elements.items.value = "";
        say(tasksMessage, "Tarefa #" + task.id + " (" + label("task_type", task.task_type) + ") criada.", "ok");
        want(["tasks", "stats", "profiles"], 0);
      });
    });
  }

  function taskPayload(form) {
    var type = form.elements.task_type.value;
    var payload = { task_type: type, profile_id: form.elements.profile_id.value, config: {} };
    var problems = [];
    if (!payload.profile_id) problems.push({ loc: ["body", "profile_id"], msg: "cadastre um perfil antes" });
    var number = function (name) {
      var raw = form.elements[name].value.trim().replace(",", ".");
      return raw === "" ? null : Number(raw);
    };
    var interval = number("interval_seconds");
    if (interval !== null) payload.interval_seconds = interval;
    if (type === "reply_comments" || type === "reply_messages") {
      if (number("max_replies") !== null) payload.config.max_replies = number("max_replies");
      if (number("delay_seconds") !== null) payload.config.delay_seconds = number("delay_seconds");
      var templates = form.elements.templates.value.split("\n").map(function (line) { return line.trim(); })
        .filter(Boolean);
      if (templates.length) payload.config.templates = templates;
    } else if (type === "sync_orders") {
      if (number("max_orders") !== null) payload.config.max_orders = number("max_orders");
    } else if (type === "update_stock") {
      var items = [];
      form.elements.items.value.split("\n").forEach(function (line, index) {
        if (!line.trim()) return;
        var parts = line.split("=");
        var quantity = parts.length === 2 ? Number(parts[1].trim()) : NaN;
        if (parts.length !== 2 || !parts[0].trim() || parts[1].trim() === "" || isNaN(quantity)) {
          problems.push({ loc: ["body", "config", "items"], msg: "a linha " + (index + 1) + " deve ser SKU=quantidade" });
        } else {
          items.push({ sku: parts[0].trim(), quantity: quantity });
        }
      });
      if (items.length) payload.config.items = items;
    }
    return { payload: payload, problems: problems };
  }

  // --- forms -----------------------------------------------------------------------------------

  function submit(form, url, data, done) {
    var button = form.querySelector("button[type=submit]");
    clearErrors(form);
    button.disabled = true;
    call("POST", url, data).then(function (answer) {
      if (answer.status === 201) return done(answer.body);
      if (answer.status === 422 && answer.body && Array.isArray(answer.body.detail)) return showErrors(form, answer.body.detail);
      say(form.querySelector("[data-form-message]"), failure(answer), "error");
    }, function () { say(form.querySelector("[data-form-message]"), failure(null), "error"); })
      .then(function () { button.disabled = false; });
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach(function (node) { node.remove(); });
    form.querySelectorAll(".field.has-error").forEach(function (node) { node.classList.remove("has-error"); });
    say(form.querySelector("[data-form-message]"), "", "error");
  }

  // Each message of a 422 next to its field (the deepest name of its loc the form has), the rest
  // above the form.
  function showErrors(form, detail) {
    clearErrors(form);
    var general = [];
    detail.forEach(function (item) {
      var loc = (item.loc || []).slice().reverse();
      var field = null;
      for (var index = 0; index < loc.length && !field; index++) {
        field = form.querySelector('.field[data-field="' + loc[index] + '"]:not([hidden])');
      }
      if (!field) return general.push(fieldName(item.loc) + ": " + item.msg);
      field.classList.add("has-error");
      var note = el("span", { className: "field-error" }, [item.msg]);
      note.dataset.errorFor = field.dataset.field;
      field.appendChild(note);
    });
    if (general.length) say(form.querySelector("[data-form-message]"), general.join("; "), "error");
    var first = form.querySelector(".field.has-error input, .field.has-error select, .field.has-error textarea");
    if (first) first.focus();
  }

  // --- small helpers ---------------------------------------------------------------------------

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props).forEach(function (name) { node[name] = props[name]; });
    children.forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function setText(selector, text) {
    var node = document.querySelector(selector);
    if (node) node.textContent = text;
  }

  function label(kind, value) {
    return (LABELS[kind] && LABELS[kind][value]) || value;
  }

  function intervalLabel(seconds) {
    if (!seconds) return "uma vez";
    var units = [[86400, "d"], [3600, "h"], [60, "min"]];
    for (var index = 0; index < units.length; index++) {
      if (seconds % units[index][0] === 0) return "a cada " + seconds / units[index][0] + " " + units[index][1];
    }
    return "a cada " + seconds + " s";
  }

  function when(iso, format) {
    var date = new Date(iso);
    return isNaN(date) ? "" : format.format(date).replace(",", "");
  }

  function formatter(timeZone, options) {
    try {
      return new Intl.DateTimeFormat("pt-BR", Object.assign({ timeZone: timeZone }, options));
    } catch (error) {
      return new Intl.DateTimeFormat("pt-BR", options);
    }
  }
})();
