//! broadcast-stream-io: placeholder, filled in by its own change.
