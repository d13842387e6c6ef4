'use strict';
// Plays a list of calls of the seed clients and prints what became of each, for the tests.
//
//   node play.js < plan.json
//
// plan: {"bot": {baseUrl, botId, token, maxAttempts, baseDelayMs, timeoutMs},   (BotHttpClient)
//        "env": {DASHBOARD_URL, DASHBOARD_TOKEN, DASHBOARD_RETRY_DELAY_MS, ...},   (dashboardIntegration)
//        "fallback": true,            (an in-memory list in place of the Redis queue)
//        "concurrency": 4,            (calls in flight at once)
//        "calls": [{"call": "reportTokenUsage", "args": [...]}, ...]}
// output (one JSON object on stdout): {"implementation": "node", "results": [...], "fallback": [...]}

const { BotHttpClient } = require('./BotHttpClient');
const dashboard = require('./dashboardIntegration');

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function main() {
  const plan = await readStdin();
  Object.assign(process.env, plan.env || {});
  const queued = [];
  if (plan.fallback) dashboard.setFallbackQueue({ rpush: async (key, value) => queued.push({ key, value }) });
  const bot = plan.bot ? new BotHttpClient(plan.bot) : null;
  const methods = {
    reportTokenUsage: (...args) => bot.reportTokenUsage(...args),
    getStatus: () => bot.getStatus(),
    sendEventToDashboard: dashboard.sendEventToDashboard,
    sendBatchEvents: dashboard.sendBatchEvents,
    getDashboardStatus: dashboard.getDashboardStatus,
    getDashboardMetrics: dashboard.getDashboardMetrics,
  };
  const calls = plan.calls || [];
  const results = new Array(calls.length);
  let next = 0;
  async function worker() {
    while (next < calls.length) {
      const index = next;
      next += 1;
      const { call, args = [] } = calls[index];
      try {
        const outcome = await methods[call](...args);
        results[index] = { ok: outcome.success !== false, ...outcome };
      } catch (error) {
        results[index] = {
          ok: false, error: error.message, code: error.code || null, status: error.status || null,
          data: error.data || null, attempts: error.attempts || 0,
        };
      }
    }
  }
  const concurrency = Math.max(1, Math.min(plan.concurrency || 1, 16));
  await Promise.all(Array.from({ length: concurrency }, worker));
  process.stdout.write(JSON.stringify({ implementation: 'node', results, fallback: queued.map((q) => q.value) }));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
