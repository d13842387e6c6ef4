'use strict';
// Seed 000's BotHttpClient, as the bots run it: reportTokenUsage with the x-bot-id / x-bot-token
// headers, checks before sending, and up to `maxAttempts` attempts with an exponential delay
// (baseDelayMs × 2^attempt) on network errors, 5xx and 429. An answer 4xx other than 429 is final:
// the server has said the record is wrong, sending it again would not change that.

const axios = require('axios');

class BotClientError extends Error {
  constructor(message, { status = null, data = null, code = null, attempts = 0 } = {}) {
    super(message);
    this.name = 'BotClientError';
    this.status = status;
    this.data = data;
    this.code = code;
    this.attempts = attempts;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function retryable(error) {
  if (!error.response) return true; // reset, refused, timeout: the answer was lost
  const status = error.response.status;
  return status >= 500 || status === 429;
}

function retryAfterMs(error) {
  const header = error.response && error.response.headers['retry-after'];
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 30) * 1000 : 0;
}

class BotHttpClient {
  constructor({ baseUrl, botId, token, maxAttempts = 3, baseDelayMs = 100, timeoutMs = 5000, logger = null }) {
    this.botId = botId;
    this.token = token;
    this.maxAttempts = maxAttempts;
    this.baseDelayMs = baseDelayMs;
    this.logger = logger;
    this.http = axios.create({ baseURL: baseUrl, timeout: timeoutMs });
  }

  headers() {
    return { 'x-bot-id': this.botId, 'x-bot-token': this.token, 'Content-Type': 'application/json' };
  }

  validate(usage) {
    if (!this.botId || !this.token) throw new BotClientError('bot id and token are required', { code: 'invalid' });
    if (!usage || typeof usage !== 'object') throw new BotClientError('usage must be an object', { code: 'invalid' });
    if (typeof usage.model !== 'string' || !usage.model.trim()) {
      throw new BotClientError('model is required', { code: 'invalid' });
    }
    for (const name of ['prompt_tokens', 'completion_tokens']) {
      if (!Number.isInteger(usage[name]) || usage[name] < 0) {
        throw new BotClientError(`${name} must be a non-negative integer`, { code: 'invalid' });
      }
    }
  }

  async reportTokenUsage(usage) {
    this.validate(usage);
    return this.request({ method: 'post', url: '/api/v1/token-usage/', data: usage });
  }

  async getStatus() {
    return this.request({ method: 'get', url: '/api/v1/bots/me/' });
  }

  async request(config) {
    let last = null;
    let attempts = 0;
    while (attempts < this.maxAttempts) {
      attempts += 1;
      try {
        const response = await this.http.request({ ...config, headers: this.headers() });
        return { success: true, status: response.status, data: response.data, attempts };
      } catch (error) {
        last = error;
        if (this.logger) this.logger(`attempt ${attempts} of ${config.url}: ${error.code || error.message}`);
        if (!retryable(error) || attempts >= this.maxAttempts) break;
        await sleep(Math.max(this.baseDelayMs * 2 ** (attempts - 1), retryAfterMs(error)));
      }
    }
    throw new BotClientError(last.message, {
      status: last.response ? last.response.status : null,
      data: last.response ? last.response.data : null,
      code: last.code || null,
      attempts,
    });
  }
}

module.exports = { BotHttpClient, BotClientError };
