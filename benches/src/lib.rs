//! Shared helpers for Plaza's criterion benches and load tools.
