//! Repository rules (placeholder).
