//! Every threshold the timeline uses, in one place, with the reason for each. The README's
//! "Behaviour model" table mirrors this file; change both together and bump the version.

use serde::Serialize;

/// Reported with every timeline: which rules produced it.
pub const MODEL_VERSION: &str = "petty-behaviour-1.0";

/// The behaviour model's thresholds. Per-pet calibration (from owners' feedback) may move
/// some of them within documented bounds; everything else is fixed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// A silence longer than this between readings is a `no_data` gap, seconds. Collars send
    /// every 10 s; a few lost readings are radio noise, five minutes is the collar gone.
    pub gap_s: i64,
    /// Half-width of the smoothing window for heart rate (median), activity (majority) and
    /// speed, seconds: ±60 s spans 13 readings, enough to outvote a misread sample.
    pub smoothing_s: i64,
    /// Half-width of the window over which the roaming radius is measured, seconds: pacing is
    /// only visible over minutes (a walk covers ~200 m in ±150 s, pacing stays within metres).
    pub radius_window_s: i64,
    /// Shortest episode, seconds: anything shorter joins its longer neighbour, so a day is
    /// not shredded into blips.
    pub min_episode_s: i64,
    /// Shortest deep sleep, seconds: a short dip in heart rate is a calm moment, not sleep.
    pub min_deep_sleep_s: i64,
    /// Still, heart rate below this × baseline: deep sleep (sleeping heart rates fall 10–25%).
    pub deep_sleep_ratio: f64,
    /// Still, heart rate above this × baseline: elevated heart rate (no exercise explains it).
    pub elevated_ratio: f64,
    /// Walking with heart rate at least this × baseline inside the radius: anxious pacing.
    pub pacing_hr_ratio: f64,
    /// Walking within this radius (80th percentile distance from the window's centroid,
    /// metres) is pacing or pottering, not a walk. GPS noise alone gives ~8 m.
    pub pacing_radius_m: f64,
    /// Playing with a mean speed at least this, m/s: fetch (running bursts), not play in place.
    pub fetch_speed_mps: f64,
    /// Resting readings needed in a day to measure the baseline (an hour of them); with
    /// fewer, the profile's typical resting heart rate is used.
    pub min_baseline_samples: usize,
    /// Position moves under this, metres, between minute means are GPS jitter, not distance.
    pub distance_jitter_m: f64,
    /// What walking in place with a raised heart rate means for this pet: anxious pacing,
    /// unless the owner's corrections have taught that it is how this pet plays.
    pub pacing_behavior: super::Behavior,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            gap_s: 300,
            smoothing_s: 60,
            radius_window_s: 150,
            min_episode_s: 120,
            min_deep_sleep_s: 600,
            deep_sleep_ratio: 0.88,
            elevated_ratio: 1.35,
            pacing_hr_ratio: 1.35,
            pacing_radius_m: 25.0,
            fetch_speed_mps: 1.2,
            min_baseline_samples: 360,
            distance_jitter_m: 5.0,
            pacing_behavior: super::Behavior::AnxiousPacing,
        }
    }
}

/// A typical resting heart rate for a pet without a measured baseline, bpm (veterinary
/// reference ranges: small dogs run faster than large ones; cats 140–220).
pub fn typical_resting_bpm(species: petty_api::collars::Species, weight_kg: f64) -> f64 {
    use petty_api::collars::Species;
    match species {
        Species::Cat => 160.0,
        Species::Dog if weight_kg < 10.0 => 100.0,
        Species::Dog if weight_kg < 25.0 => 85.0,
        Species::Dog => 70.0,
    }
}
