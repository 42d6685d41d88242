-- Destinations of kind slack_app: a Slack workspace connected by OAuth v2 (bot token sealed,
-- team id in config), whose approval messages carry Approve/Deny buttons (docs/slack.md).
ALTER TABLE notification_destinations DROP CONSTRAINT IF EXISTS notification_destinations_kind_check;
ALTER TABLE notification_destinations ADD CONSTRAINT notification_destinations_kind_check
    CHECK (kind IN ('slack_webhook', 'slack_api', 'pagerduty', 'email', 'webhook', 'slack_app'));
