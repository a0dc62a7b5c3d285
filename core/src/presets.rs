//! The structuring presets (engine spec §8).
