"""Periodic tasks, started by `manage.py console_cron project.cron` (make run starts it)."""

from django.conf import settings
from rq import cron

from accounts.tasks import tokens_flush
from carriers.tasks import sat_token_refresh_task
from jobs.tasks import jobs_maintenance_task, jobs_purge_task
from sellerbot.chatbot.tasks import chatbot_maintenance_task
from sellerbot.tasks import bot_watch_task

MAINTENANCE_INTERVAL_SECONDS = settings.JOB_MAINTENANCE_SECONDS

cron.register(jobs_maintenance_task, queue_name="default", interval=MAINTENANCE_INTERVAL_SECONDS, job_timeout=120)
cron.register(bot_watch_task, queue_name="default", interval=MAINTENANCE_INTERVAL_SECONDS, job_timeout=60)
cron.register(chatbot_maintenance_task, queue_name="chatbot", interval=MAINTENANCE_INTERVAL_SECONDS, job_timeout=110)
cron.register(jobs_purge_task, queue_name="default", interval=300, job_timeout=600)
cron.register(tokens_flush, queue_name="default", cron="17 3 * * *", job_timeout=600)
cron.register(sat_token_refresh_task, queue_name="default", cron="*/30 * * * *", job_timeout=120)
