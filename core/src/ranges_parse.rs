//! Parsing lever ranges (engine spec §2).
