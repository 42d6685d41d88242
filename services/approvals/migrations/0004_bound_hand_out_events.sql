-- A daemon that polls and never acknowledges no longer writes one DeliveryHandedOut per
-- delivery per poll (issue 13 review): handed_out still counts every hand-out, but an event
-- is written for the first one, then at most once per ApprovalsConfig.hand_out_events_every_s
-- per delivery (by a poll, or by the sweep for hand-outs no event carries yet), and before
-- the acknowledgement. Each event carries the exact count then; these columns say what the
-- log holds (what a rebuild from it shows): the count the last event carried and its time.
ALTER TABLE approval_deliveries
    ADD COLUMN handed_out_logged    integer     NOT NULL DEFAULT 0,
    ADD COLUMN handed_out_logged_at timestamptz;
-- Before, every hand-out was an event.
UPDATE approval_deliveries SET handed_out_logged = handed_out, handed_out_logged_at = created_at WHERE handed_out > 0;
CREATE INDEX approval_deliveries_unlogged ON approval_deliveries (handed_out_logged_at)
    WHERE handed_out > handed_out_logged;
