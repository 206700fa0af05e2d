"""Sources: X timeline poller, transcript feeds and the replay source; each emits a statement
once."""
