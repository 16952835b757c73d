//! Blocking adapters (in progress).
