//! The Autopilot import CSV dialect (in progress).
