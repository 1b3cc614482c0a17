//! broadcast-pool: placeholder, filled in by its own change.
