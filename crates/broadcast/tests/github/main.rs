//! Integration tests for the GitHub forge against a fake REST server and git http-backend.
