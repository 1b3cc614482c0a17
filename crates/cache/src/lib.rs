//! broadcast-cache: placeholder, filled in by its own change.
