-- A code whose first message goes dead ends its session (docs/otp.md, "Delivery
-- failures"): the session is found from the message.
CREATE INDEX session_codes_by_message ON session_codes (message_id);
