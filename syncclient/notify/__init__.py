"""Parents told by SMS: the outbox written with each event, and its sending through Kannel."""
