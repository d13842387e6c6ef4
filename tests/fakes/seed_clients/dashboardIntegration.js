'use strict';
// Seed 001's src/services/dashboardIntegration.js, as the WhatsApp bot runs it: events one by one
// or in a batch with `Authorization: Bearer <DASHBOARD_TOKEN>`, the dashboard's status and metrics.
// Retries on network errors, 5xx and 429 with a progressive delay (DASHBOARD_RETRY_DELAY_MS ×
// attempt, 500 ms in the seed); after the last attempt the event goes to the fallback queue when
// one is set (the seed's Redis list `dashboard:events`), or the error is thrown.

const axios = require('axios');

const FALLBACK_KEY = 'dashboard:events';
let fallbackQueue = null;

function setFallbackQueue(queue) {
  fallbackQueue = queue; // anything with ioredis's rpush(key, value)
}

function config(options = {}) {
  const env = process.env;
  return {
    baseUrl: env.DASHBOARD_URL || 'http://localhost:3001',
    token: env.DASHBOARD_TOKEN || '',
    timeout: options.timeout || Number(env.DASHBOARD_TIMEOUT || 5000),
    retries: options.retries || Number(env.DASHBOARD_RETRIES || 3),
    delayMs: Number(env.DASHBOARD_RETRY_DELAY_MS || 500),
    headers: options.headers || {},
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function retryable(error) {
  if (!error.response) return true;
  return error.response.status >= 500 || error.response.status === 429;
}

class DashboardError extends Error {
  constructor(message, { status = null, data = null, code = null, attempts = 0 } = {}) {
    super(message);
    this.name = 'DashboardError';
    this.status = status;
    this.data = data;
    this.code = code;
    this.attempts = attempts;
  }
}

async function request(method, path, data, options) {
  const settings = config(options);
  const headers = { ...settings.headers, Authorization: `Bearer ${settings.token}` };
  if (data !== undefined) headers['Content-Type'] = 'application/json';
  let last = null;
  let attempts = 0;
  while (attempts < settings.retries) {
    attempts += 1;
    try {
      const response = await axios.request({
        method, url: settings.baseUrl.replace(/\/$/, '') + path, data, headers, timeout: settings.timeout,
      });
      return { success: true, status: response.status, data: response.data, attempts };
    } catch (error) {
      last = error;
      if (!retryable(error) || attempts >= settings.retries) break;
      await sleep(settings.delayMs * attempts);
    }
  }
  throw new DashboardError(last.message, {
    status: last.response ? last.response.status : null,
    data: last.response ? last.response.data : null,
    code: last.code || null,
    attempts,
  });
}

function validateEvent(event, payload) {
  if (typeof event !== 'string' || !event.trim()) throw new DashboardError('event must be a non-empty string');
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new DashboardError('payload must be an object');
  }
}

async function sendEventToDashboard(event, payload, options = {}) {
  validateEvent(event, payload);
  const body = { event, payload, ...(options.extra || {}) };
  try {
    return await request('post', '/api/v1/events/', body, options);
  } catch (error) {
    if (!fallbackQueue || !retryable(error)) throw error;
    await fallbackQueue.rpush(FALLBACK_KEY, JSON.stringify({ event, payload, extra: options.extra || {} }));
    return { success: false, queued: true, status: error.status, attempts: error.attempts };
  }
}

async function sendBatchEvents(events, options = {}) {
  if (!Array.isArray(events) || events.length === 0) throw new DashboardError('events must be a non-empty array');
  for (const item of events) validateEvent(item && item.event, item && item.payload);
  return request('post', '/api/v1/events/batch/', events, options);
}

async function getDashboardStatus(options = {}) {
  return request('get', '/api/v1/dashboard/status/', undefined, options);
}

async function getDashboardMetrics(options = {}) {
  return request('get', '/api/v1/dashboard/metrics/', undefined, options);
}

module.exports = {
  sendEventToDashboard, sendBatchEvents, getDashboardStatus, getDashboardMetrics, setFallbackQueue,
  DashboardError, FALLBACK_KEY,
};
