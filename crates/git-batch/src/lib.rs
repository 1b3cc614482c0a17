//! broadcast-git-batch: placeholder, filled in by its own change.
