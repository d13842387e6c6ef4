/*
 * The chatbot page (/painel/seller-bot/chatbot/): the open conversations, one conversation's
 * thread, the period's figures and charts, kept current from the /seller-bot/* API.
 *
 * static/js/live.js holds the websocket (subscribed to the "chatbot" stream, <main
 * data-live-streams>) and hands this script its frames (live:message), its reconnections
 * (live:catchup) and its state (live:state) as events on <main>. A `chatbot_conversation` frame
 * carries the conversation as it is now and the messages just added or whose delivery changed:
 * the list, the open thread and (a few seconds later) the figures follow it. While the socket is
 * refused or closed the page refetches the list and the open thread every 15 s, the figures every
 * minute. The API counts requests per minute: a 429 pauses the refetches for its Retry-After.
 */
(function () {
  "use strict";

  var page = document.querySelector("main.page[data-live=chatbot]");
  if (!page) return;

  var LABELS = JSON.parse(document.getElementById("chatbot-labels").textContent);
  var STATE = JSON.parse(document.getElementById("chatbot-state").textContent);
  var CAN_REPLY = page.dataset.canReply === "1";
  var URLS = {
    conversations: page.dataset.conversationsUrl, stats: page.dataset.statsUrl,
    intents: page.dataset.intentsUrl, funnel: page.dataset.funnelUrl,
  };
  var DEFAULT_DAYS = 7;
  var POLL_EVERY_MS = 15000;
  var STATS_POLL_EVERY_MS = 60000;
  var STATS_GAP_MS = 20000;  // three requests: a busy shop must not use up the API's 30 a minute
  var THREAD_PAGE = 100;
  var LOADED_AT = Date.now();
  var ZONE = page.dataset.timeZone;
  var TIME = formatter({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var DAY = formatter({ day: "2-digit", month: "2-digit" });
  var DAY_KEY = formatter({ year: "numeric", month: "2-digit", day: "2-digit" });
  var PERCENT = new Intl.NumberFormat("pt-BR", { maximumFractionDigits: 1, minimumFractionDigits: 1 });

  var indicator = document.getElementById("live-status");
  var refreshNote = document.getElementById("cb-refresh");
  var list = document.getElementById("cb-conversation-list");
  var countBadge = document.getElementById("cb-count");
  var threadCard = document.getElementById("cb-thread");
  var threadEmpty = document.getElementById("cb-thread-empty");
  var threadBody = document.getElementById("cb-thread-body");
  var messagesBox = document.getElementById("cb-messages-scroll");
  var messageList = document.getElementById("cb-messages");
  var olderButton = document.getElementById("cb-older");
  var threadMessage = document.getElementById("cb-thread-message");
  var takeButton = document.getElementById("cb-take");
  var giveBackButton = document.getElementById("cb-give-back");
  var replyForm = document.getElementById("cb-reply-form");
  var filtersForm = document.getElementById("cb-filters");
  var periodSelect = document.getElementById("cb-period");
  var statusSelect = document.getElementById("cb-filter-status");
  var channelSelect = document.getElementById("cb-filter-channel");

  var conversations = {};  // id → the conversation as the list API gives it
  STATE.conversations.forEach(function (conversation) { conversations[conversation.id] = conversation; });
  var capped = Boolean(document.getElementById("cb-capped"));
  var opened = STATE.thread ? STATE.thread.conversation : null;  // the thread's conversation
  var days = Number(page.dataset.days) || DEFAULT_DAYS;
  var liveState = (indicator && indicator.dataset.state) || "connecting";
  var lastFetched = { list: LOADED_AT, thread: LOADED_AT, stats: LOADED_AT };
  var lastFrameAt = 0;
  var threadRequest = 0;  // a later request for another conversation makes an earlier one moot
  var statsTimer = null;
  var blockedUntil = 0;
  var sending = false;

  filtersForm.querySelectorAll("[data-no-js]").forEach(function (node) { node.hidden = true; });
  list.querySelectorAll("li[data-conversation-id]").forEach(function (node) {
    var conversation = conversations[node.dataset.conversationId];
    if (conversation) node.dataset.signature = signature(conversation);
  });
  if (replyForm) replyForm.hidden = !opened || opened.status === "closed";
  if (opened) {
    drawActions(opened);
    scrollToEnd();
  }
  setRefreshNote();

  // --- live ------------------------------------------------------------------------------------

  page.addEventListener("live:state", function (event) {
    liveState = event.detail.state;
    setRefreshNote();
  });
  page.addEventListener("live:catchup", function () {
    // The first connection follows the page's own drawing; later ones catch up with what they missed.
    if (liveState === "live" && Date.now() - LOADED_AT > 5000) {
      refreshList();
      refreshThread();
      refreshStats();
    }
  });
  page.addEventListener("live:message", function (event) {
    var frame = event.detail || {};
    if (frame.type !== "chatbot_conversation" || !frame.conversation) return;
    lastFrameAt = Date.now();
    applyConversation(frame.conversation, frame.messages || [], true);
    if (opened && frame.conversation.id === opened.id) (frame.messages || []).forEach(upsertMessage);
    statsSoon();
  });

  setInterval(function () {
    if (Date.now() < blockedUntil) return;
    var now = Date.now();
    if (liveState !== "live") {
      if (now - lastFetched.list >= POLL_EVERY_MS) refreshList();
      if (opened && now - lastFetched.thread >= POLL_EVERY_MS) refreshThread();
    }
    if (now - lastFetched.stats >= STATS_POLL_EVERY_MS) refreshStats();
  }, 3000);

  function setRefreshNote(extra) {
    var live = liveState === "live";
    if (indicator && liveState === "polling") indicator.textContent = "Atualização a cada 15 s";
    refreshNote.dataset.state = live ? "live" : "polling";
    refreshNote.textContent = extra || (live ? "Ao vivo." : "Atualização a cada 15 s.");
  }

  function statsSoon() {
    if (statsTimer) return;
    var wait = Math.max(800, lastFetched.stats + STATS_GAP_MS - Date.now());
    statsTimer = setTimeout(function () { statsTimer = null; refreshStats(); }, wait);
  }

  // --- the conversations -----------------------------------------------------------------------

  // The conversation as it is now (a frame's or the thread's summary, or the list API's row),
  // with the messages just seen: the list redraws its item, the thread its head.
  function applyConversation(summary, messages, flash) {
    var known = conversations[summary.id];
    var merged = Object.assign({ message_count: 0, last_message: null }, known || {}, summary);
    var newest = latestMessage(messages);
    if (newest && (!known || !known.last_message_at || stamp(newest.created_at) >= stamp(known.last_message_at))) {
      merged.last_message = newest.text;
    }
    if (opened && opened.id === summary.id) {
      opened = Object.assign({}, opened, summary);
      drawThreadHead(opened);
    }
    if (!listed(merged)) {
      if (known) {
        delete conversations[summary.id];
        drawList({});
      }
      return;
    }
    conversations[summary.id] = merged;
    var changed = {};
    if (flash && (!known || newest)) changed[summary.id] = true;
    drawList(changed);
  }

  function listed(conversation) {
    if (conversation.status !== "bot" && conversation.status !== "human") return false;
    if (statusSelect.value && conversation.status !== statusSelect.value) return false;
    return !channelSelect.value || conversation.channel === channelSelect.value;
  }

  function latestMessage(messages) {
    return messages.reduce(function (latest, message) {
      return !latest || Number(message.id) > Number(latest.id) ? message : latest;
    }, null);
  }

  // Items whose drawing would not change stay as they are (keeping the focus of who browses the
  // list with the keyboard); the others are drawn again, and all put in order.
  function drawList(fresh) {
    var rows = Object.keys(conversations).map(function (id) { return conversations[id]; });
    rows.sort(function (one, other) {
      return stamp(other.last_message_at) - stamp(one.last_message_at) || Number(other.id) - Number(one.id);
    });
    var drawn = {};
    list.querySelectorAll("li[data-conversation-id]").forEach(function (node) { drawn[node.dataset.conversationId] = node; });
    var items = rows.map(function (conversation) {
      var old = drawn[conversation.id];
      var look = signature(conversation);
      if (old && old.dataset.signature === look && !fresh[conversation.id]) return old;
      var item = conversationItem(conversation);
      item.dataset.signature = look;
      if (fresh[conversation.id]) item.classList.add("fresh");
      return item;
    });
    if (!items.length) items = [listEmpty()];
    Array.prototype.slice.call(list.children).forEach(function (node) {
      if (items.indexOf(node) < 0) node.remove();
    });
    items.forEach(function (item, index) {
      if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
    });
    countBadge.textContent = rows.length + (capped ? "+" : "");
  }

  function signature(conversation) {
    return JSON.stringify([conversation.channel, conversation.contact_name, conversation.contact_id, conversation.status,
      conversation.funnel_stage, conversation.assigned_agent, conversation.last_message, when(conversation.last_message_at),
      Boolean(opened && opened.id === conversation.id), query({ conversa: conversation.id })]);
  }

  function conversationItem(conversation) {
    var selected = opened && opened.id === conversation.id;
    var tags = [
      el("span", { className: "badge cb-status-" + conversation.status }, [label("status", conversation.status)]),
      el("span", { className: "cb-stage" }, [label("funnel_stage", conversation.funnel_stage)]),
    ];
    if (conversation.assigned_agent) tags.push(el("span", { className: "cb-agent" }, [conversation.assigned_agent]));
    var time = el("time", { className: "cb-conv-time", dateTime: conversation.last_message_at || "" },
      [when(conversation.last_message_at)]);
    var link = el("a", { href: "?" + query({ conversa: conversation.id }) }, [
      el("span", { className: "cb-conv-top" }, [
        channelBadge(conversation.channel),
        el("strong", { className: "cb-conv-name" }, [conversation.contact_name || conversation.contact_id]),
        time,
      ]),
      el("span", { className: "cb-conv-last" }, [conversation.last_message || "Sem mensagens ainda."]),
      el("span", { className: "cb-conv-tags" }, tags),
    ]);
    if (selected) link.setAttribute("aria-current", "true");
    var item = el("li", { className: "cb-conv" + (selected ? " selected" : "") }, [link]);
    item.dataset.conversationId = conversation.id;
    item.dataset.status = conversation.status;
    return item;
  }

  function listEmpty() {
    var filtered = statusSelect.value || channelSelect.value;
    var item = el("li", { className: "cb-list-empty", id: "cb-list-empty" }, [el("p", { className: "empty" }, [
      filtered ? "Nenhuma conversa aberta com estes filtros."
        : "Nenhuma conversa aberta agora. Quando um cliente escrever, a conversa aparece aqui.",
    ])]);
    return item;
  }

  function refreshList() {
    lastFetched.list = Date.now();
    var requestedAt = Date.now();
    var params = [];
    if (channelSelect.value) params.push("channel=" + encodeURIComponent(channelSelect.value));
    if (statusSelect.value) params.push("status=" + encodeURIComponent(statusSelect.value));
    get(URLS.conversations + (params.length ? "?" + params.join("&") : ""), function (rows) {
      // A frame that arrived meanwhile is newer than this answer: ask again instead.
      if (lastFrameAt > requestedAt) {
        lastFetched.list = 0;
        if (liveState === "live") setTimeout(refreshList, 1000);
        return;
      }
      var before = conversations;
      var fresh = {};
      conversations = {};
      rows.forEach(function (row) {
        var old = before[row.id];
        if (Object.keys(before).length && (!old || old.last_message_at !== row.last_message_at)) fresh[row.id] = true;
        conversations[row.id] = row;
      });
      capped = rows.length >= 200;
      drawList(fresh);
    });
  }

  list.addEventListener("click", function (event) {
    var link = event.target.closest("a");
    var item = link && link.closest("[data-conversation-id]");
    if (!item || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    openThread(item.dataset.conversationId);
  });

  [statusSelect, channelSelect].forEach(function (select) {
    select.addEventListener("change", function () {
      conversations = {};
      capped = false;
      remember();
      refreshList();
    });
  });

  periodSelect.addEventListener("change", function () {
    days = Number(periodSelect.value) || DEFAULT_DAYS;
    remember();
    refreshStats();
  });
  filtersForm.addEventListener("submit", function (event) { event.preventDefault(); });

  // --- the thread ------------------------------------------------------------------------------

  function openThread(id) {
    var known = conversations[id];
    opened = known ? Object.assign({}, known) : { id: id, status: "", channel: "", contact_id: "", contact_name: "" };
    remember();
    list.querySelectorAll(".cb-conv").forEach(function (item) {
      var selected = item.dataset.conversationId === id;
      item.classList.toggle("selected", selected);
      var link = item.querySelector("a");
      if (selected) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
    threadCard.dataset.conversationId = id;
    threadEmpty.hidden = true;
    threadBody.hidden = false;
    say(threadMessage, "");
    drawThreadHead(opened);
    messageList.replaceChildren(el("li", { className: "cb-messages-empty" }, [
      el("p", { className: "empty" }, ["Carregando as mensagens…"])]));
    olderButton.hidden = true;
    if (replyForm) {
      replyForm.elements.text.value = "";
      setSending(false);
    }
    // On a narrow screen the thread is below the list: bring it into view.
    if (window.matchMedia("(max-width: 860px)").matches) threadCard.scrollIntoView({ block: "start" });
    refreshThread(true);
  }

  function refreshThread(replace) {
    if (!opened) return;
    var id = opened.id;
    var request = ++threadRequest;
    lastFetched.thread = Date.now();
    call("GET", threadUrl(id)).then(function (answer) {
      if (request !== threadRequest || !opened || opened.id !== id) return;
      if (answer.status === 200) {
        if (replace) drawMessages(answer.body.messages);
        else answer.body.messages.forEach(upsertMessage);
        applyConversation(answer.body.conversation, answer.body.messages, false);
        opened = Object.assign({}, opened, answer.body.conversation);
        drawThreadHead(opened);
        if (replace) {
          olderButton.hidden = answer.body.messages.length < THREAD_PAGE;
          scrollToEnd();
        }
      } else if (answer.status === 429) {
        pause(answer);
      } else if (replace || answer.status === 404) {
        messageList.replaceChildren();
        say(threadMessage, failure(answer), "error");
      }
    }, function () {
      if (replace && request === threadRequest) say(threadMessage, failure(null), "error");
    });
  }

  function threadUrl(id, before) {
    return URLS.conversations + "/" + encodeURIComponent(id) + "/messages" + (before ? "?before=" + before : "");
  }

  function drawThreadHead(conversation) {
    document.getElementById("cb-thread-title").textContent = conversation.contact_name || conversation.contact_id;
    document.getElementById("cb-thread-contact").textContent = conversation.contact_id;
    var tags = [];
    if (conversation.channel) tags.push(channelBadge(conversation.channel));
    if (conversation.status) {
      tags.push(el("span", { className: "badge cb-status-" + conversation.status, id: "cb-thread-status" },
        [label("status", conversation.status)]));
    }
    if (conversation.funnel_stage) {
      tags.push(el("span", { className: "cb-stage" }, [label("funnel_stage", conversation.funnel_stage)]));
    }
    if (conversation.assigned_agent) {
      tags.push(el("span", { className: "cb-agent" }, ["atendida por " + conversation.assigned_agent]));
    }
    if (conversation.status === "human" && conversation.paused_until) {
      tags.push(el("span", { className: "cb-paused" }, ["bot em silêncio até " + when(conversation.paused_until, true)]));
    }
    document.getElementById("cb-thread-tags").replaceChildren.apply(document.getElementById("cb-thread-tags"), tags);
    drawActions(conversation);
  }

  function drawActions(conversation) {
    if (takeButton) takeButton.hidden = conversation.status !== "bot";
    if (giveBackButton) giveBackButton.hidden = conversation.status !== "human";
    if (!replyForm) return;
    replyForm.hidden = !conversation.status || conversation.status === "closed";
    document.getElementById("cb-reply-hint").textContent = conversation.status === "bot"
      ? "Enter envia, Shift+Enter quebra a linha. Responder passa a conversa para você: o bot fica em silêncio."
      : "Enter envia, Shift+Enter quebra a linha.";
  }

  function drawMessages(messages) {
    var items = messages.map(messageItem);
    if (!items.length) items = [el("li", { className: "cb-messages-empty" }, [
      el("p", { className: "empty" }, ["Nenhuma mensagem nesta conversa ainda."])])];
    messageList.replaceChildren.apply(messageList, items);
  }

  // A message new to the thread goes in its place (by id); one already there is redrawn in
  // place (a frame repeats a message when its delivery changes).
  function upsertMessage(message) {
    var item = messageItem(message);
    var existing = messageList.querySelector('[data-message-id="' + message.id + '"]');
    if (existing) {
      // A message's text never changes: only its delivery does.
      if (existing.dataset.delivery !== item.dataset.delivery) {
        item.classList.add("fresh");
        existing.replaceWith(item);
      }
      return;
    }
    var atEnd = messagesBox.scrollTop + messagesBox.clientHeight >= messagesBox.scrollHeight - 40;
    var empty = messageList.querySelector(".cb-messages-empty");
    if (empty) empty.remove();
    var after = Array.prototype.find.call(messageList.children, function (node) {
      return Number(node.dataset.messageId) > Number(message.id);
    });
    item.classList.add("fresh");
    messageList.insertBefore(item, after || null);
    if (atEnd || message.author_kind === "human") scrollToEnd();
  }

  function messageItem(message) {
    var parts = [];
    if (message.author_kind === "bot") parts.push(el("span", { className: "cb-author" }, ["Bot"]));
    if (message.author_kind === "human") {
      parts.push(el("span", { className: "cb-author" }, [(message.author || "Equipe") + " · equipe"]));
    }
    parts.push(el("p", { className: "cb-text" }, [message.text]));
    var meta = [el("time", { dateTime: message.created_at }, [when(message.created_at)])];
    if (message.author_kind === "customer" && message.intent) {
      meta.push(el("span", { className: "cb-intent" }, [label("intent", message.intent)]));
    }
    if (message.delivery && LABELS.delivery[message.delivery]) {
      meta.push(el("span", { className: "cb-delivery cb-delivery-" + message.delivery.toLowerCase() },
        [LABELS.delivery[message.delivery]]));
    }
    parts.push(el("span", { className: "cb-meta" }, meta));
    var item = el("li", { className: "cb-msg cb-msg-" + message.author_kind }, [el("div", { className: "cb-bubble" }, parts)]);
    item.dataset.messageId = message.id;
    item.dataset.delivery = message.delivery || "";
    return item;
  }

  function scrollToEnd() {
    messagesBox.scrollTop = messagesBox.scrollHeight;
  }

  olderButton.addEventListener("click", function () {
    var first = messageList.querySelector("[data-message-id]");
    if (!opened || !first) return;
    var id = opened.id;
    olderButton.disabled = true;
    call("GET", threadUrl(id, first.dataset.messageId)).then(function (answer) {
      olderButton.disabled = false;
      if (answer.status !== 200 || !opened || opened.id !== id) {
        if (answer.status !== 200) say(threadMessage, failure(answer), "error");
        return;
      }
      var height = messagesBox.scrollHeight;
      var top = messageList.firstElementChild;
      answer.body.messages.forEach(function (message) {
        if (!messageList.querySelector('[data-message-id="' + message.id + '"]')) {
          messageList.insertBefore(messageItem(message), top);
        }
      });
      messagesBox.scrollTop += messagesBox.scrollHeight - height;  // stay on the message being read
      olderButton.hidden = answer.body.messages.length < THREAD_PAGE;
    }, function () {
      olderButton.disabled = false;
      say(threadMessage, failure(null), "error");
    });
  });

  // --- taking over, handing back, replying -----------------------------------------------------

  if (takeButton) takeButton.addEventListener("click", function () { handOff("human"); });
  if (giveBackButton) giveBackButton.addEventListener("click", function () { handOff("bot"); });

  function handOff(to) {
    if (!opened) return;
    var id = opened.id;
    takeButton.disabled = giveBackButton.disabled = true;
    call("POST", URLS.conversations + "/" + encodeURIComponent(id) + "/handoff", { to: to })
      .then(function (answer) {
        if (answer.status === 200) {
          applyConversation(answer.body, [], false);
          say(threadMessage, to === "human" ? "Você assumiu a conversa: o bot fica em silêncio enquanto você atende."
            : "Conversa devolvida ao bot: ele volta a responder o cliente.", "ok");
          if (to === "human" && replyForm) replyForm.elements.text.focus();
        } else {
          say(threadMessage, failure(answer), answer.status === 409 ? "info" : "error");
          if (answer.status === 409) refreshThread();
        }
      }, function () { say(threadMessage, failure(null), "error"); })
      .then(function () { takeButton.disabled = giveBackButton.disabled = false; });
  }

  if (replyForm) {
    var replyText = replyForm.elements.text;
    replyText.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.shiftKey || event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
      event.preventDefault();
      if (!sending) replyForm.requestSubmit();
    });
    replyForm.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending || !opened) return;
      var text = replyText.value.trim();
      if (!text) {
        say(threadMessage, "Escreva a resposta antes de enviar.", "error");
        replyText.focus();
        return;
      }
      var id = opened.id;
      setSending(true);
      say(threadMessage, "");
      call("POST", threadUrl(id), { text: text }).then(function (answer) {
        setSending(false);
        if (answer.status === 201) {
          if (opened && opened.id === id) {
            replyText.value = "";
            upsertMessage(answer.body);
            refreshThread();  // the conversation is now with a person
          }
        } else {
          say(threadMessage, failure(answer), answer.status === 409 ? "info" : "error");
        }
        replyText.focus();
      }, function () {
        setSending(false);
        say(threadMessage, failure(null), "error");
      });
    });
  }

  function setSending(on) {
    sending = on;
    replyForm.elements.text.disabled = on;
    var button = document.getElementById("cb-reply-send");
    button.disabled = on;
    button.textContent = on ? "Enviando…" : "Enviar";
  }

  // --- the figures and charts ------------------------------------------------------------------

  function refreshStats() {
    lastFetched.stats = Date.now();
    var suffix = "?days=" + days;
    get(URLS.stats + suffix, drawStats);
    get(URLS.intents + suffix, drawIntents);
    get(URLS.funnel + suffix, drawFunnel);
    var option = periodSelect.options[periodSelect.selectedIndex];
    document.getElementById("cb-period-note").textContent = "Período dos números: " +
      (option ? option.text.toLowerCase() : "") + ". A lista mostra todas as conversas abertas.";
  }

  function drawStats(stats) {
    var byStatus = stats.conversations.by_status;
    var messages = stats.messages;
    setText("active", String(stats.conversations.active));
    setText("by_status", byStatus.human + " com uma pessoa · " + byStatus.bot + " com o bot");
    setText("messages", String(messages.from_customers + messages.bot_replies + messages.human_replies));
    setText("messages_split", messages.from_customers + " de clientes · " + messages.bot_replies + " do bot · " +
      messages.human_replies + " da equipe");
    setText("handoffs", String(stats.handoffs.total));
    setText("back_to_bot", "para uma pessoa · " + stats.handoffs.back_to_bot + " devolvida" +
      plural(stats.handoffs.back_to_bot) + " ao bot");
    setText("not_understood", percent(stats.not_understood_share));
    setText("confidence", "das mensagens de clientes · confiança média " + percent(stats.average_confidence));
    setText("pending", String(stats.replies.pending));
    setText("abandoned", "esperando envio · " + stats.replies.abandoned + " não entregue" + plural(stats.replies.abandoned));
    document.querySelector('[data-card="outbox"]').classList.toggle("stat-failed", stats.replies.abandoned > 0);
  }

  function drawIntents(data) {
    var peak = Math.max.apply(null, data.intents.map(function (row) { return row.count; }).concat([0])) || 1;
    data.intents.forEach(function (row) {
      var item = document.querySelector('#cb-intent-bars [data-intent="' + row.intent + '"]');
      if (item) drawBar(item, row.count / peak, String(row.count), percent(row.share));
    });
    document.querySelector('[data-chart-total="intents"]').textContent = data.total + (data.total === 1
      ? " mensagem de clientes" : " mensagens de clientes");
    document.querySelector('[data-chart-empty="intents"]').hidden = data.total > 0;
  }

  function drawFunnel(data) {
    var whole = data.total || 1;
    var ratios = {};
    data.conversions.forEach(function (conversion) { ratios[conversion.to] = conversion.ratio; });
    data.stages.forEach(function (stage) {
      var item = document.querySelector('#cb-funnel-bars [data-stage="' + stage.stage + '"]');
      if (!item) return;
      item.title = stage.at_stage + " parada" + plural(stage.at_stage) + " nesta etapa";
      drawBar(item, stage.conversations / whole, String(stage.conversations),
        stage.stage in ratios ? percent(ratios[stage.stage]) + " da anterior" : "");
    });
    document.querySelector('[data-chart-total="funnel"]').textContent = data.total + " conversa" + plural(data.total) +
      " no período";
    document.querySelector('[data-chart-empty="funnel"]').hidden = data.total > 0;
  }

  function drawBar(item, fraction, value, note) {
    item.querySelector(".cb-bar-fill").setAttribute("width", String(Math.round(fraction * 1000) / 10));
    item.querySelector(".cb-bar-value strong").textContent = value;
    item.querySelector(".cb-bar-value .muted").textContent = note;
  }

  function setText(name, text) {
    var node = document.querySelector('[data-stat="' + name + '"]');
    if (node) node.textContent = text;
  }

  function percent(share) {
    return share === null || share === undefined ? "—" : PERCENT.format(share * 100) + "%";
  }

  function plural(count) {
    return count === 1 ? "" : "s";
  }

  // --- the address -----------------------------------------------------------------------------

  // The page's choices in its address (and in the form), so a reload or a shared link opens the same.
  function query(extra) {
    var values = Object.assign({
      conversa: opened ? opened.id : "", dias: days === DEFAULT_DAYS ? "" : String(days),
      canal: channelSelect.value, situacao: statusSelect.value,
    }, extra || {});
    return Object.keys(values).filter(function (name) { return values[name]; })
      .map(function (name) { return name + "=" + encodeURIComponent(values[name]); }).join("&");
  }

  function remember() {
    var search = query();
    history.replaceState(null, "", location.pathname + (search ? "?" + search : ""));
    var hidden = filtersForm.querySelector("input[name=conversa]");
    if (opened) {
      if (!hidden) {
        hidden = el("input", { type: "hidden", name: "conversa" }, []);
        filtersForm.appendChild(hidden);
      }
      hidden.value = opened.id;
    }
    list.querySelectorAll(".cb-conv a").forEach(function (link) {
      link.href = "?" + query({ conversa: link.parentNode.dataset.conversationId });
    });
  }

  // --- fetching --------------------------------------------------------------------------------

  function get(url, done) {
    call("GET", url).then(function (answer) {
      if (answer.status === 200) {
        done(answer.body);
        if (blockedUntil && Date.now() >= blockedUntil) { blockedUntil = 0; setRefreshNote(); }
      } else if (answer.status === 429) {
        pause(answer);
      }
    }, function () { /* offline: the next round tries again */ });
  }

  function pause(answer) {
    blockedUntil = Date.now() + answer.retryAfter * 1000;
    setRefreshNote(detailText(answer.body) || ("Muitas requisições; nova tentativa em " + answer.retryAfter + " s."));
  }

  // {status, body, retryAfter}; the promise fails only when the server could not be reached.
  var call = window.consoleApi.call;

  // A sentence for any answer that is not a success (422 lists become "campo: mensagem; …").
  function detailText(body) {
    if (!body || body.detail === undefined) return "";
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map(function (item) {
        var loc = (item.loc || []).filter(function (part) { return part !== "body"; });
        var name = loc.join(".") === "text" ? "resposta" : loc.join(".") || "pedido";
        return name + ": " + item.msg;
      }).join("; ");
    }
    return String(body.detail);
  }

  function failure(answer) {
    if (!answer) return "Sem resposta do servidor; verifique a conexão e tente de novo.";
    var text = detailText(answer.body);
    if (answer.status === 429) return text || ("Muitas requisições; tente de novo em " + answer.retryAfter + " s.");
    if (answer.status === 403) return text || "Sem permissão para esta ação.";
    if (answer.status === 404) return text || "A conversa não foi encontrada.";
    return text || ("O servidor respondeu " + answer.status + "; tente de novo.");
  }

  // --- small helpers ---------------------------------------------------------------------------

  function say(node, text, kind) {
    node.textContent = text || "";
    node.className = node.className.replace(/ ?sb-message-\w+/g, "") + " sb-message-" + (kind || "info");
    node.hidden = !text;
  }

  function channelBadge(channel) {
    return el("span", { className: "cb-channel cb-channel-" + channel }, [label("channel", channel)]);
  }

  function label(kind, value) {
    return (LABELS[kind] && LABELS[kind][value]) || value;
  }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props).forEach(function (name) { node[name] = props[name]; });
    children.forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function stamp(iso) {
    var time = iso ? Date.parse(iso) : 0;
    return isNaN(time) ? 0 : time;
  }

  // "14:05" today, "03/02 14:05" another day, in the console's time zone (the server says the same).
  function when(iso, always) {
    var date = new Date(iso);
    if (!iso || isNaN(date)) return "";
    var time = TIME.format(date);
    return !always && DAY_KEY.format(date) === DAY_KEY.format(new Date()) ? time : DAY.format(date) + " " + time;
  }

  function formatter(options) {
    try {
      return new Intl.DateTimeFormat("pt-BR", Object.assign({ timeZone: ZONE }, options));
    } catch (error) {
      return new Intl.DateTimeFormat("pt-BR", options);
    }
  }
})();
