//! Body temperature bands and the run counting of `temperature_high` / `temperature_low`.
//!
//! One reading outside the band is a collar in the sun or just taken off, so an alert needs
//! [`CONSECUTIVE_READINGS`] in a row; it clears only after as many readings back inside by
//! [`HYSTERESIS_C`], so a temperature hovering at the edge raises once, not every minute.

use petty_api::collars::Species;
use serde::{Deserialize, Serialize};

/// The temperatures outside which an alert starts, °C.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    pub low_c: f64,
    pub high_c: f64,
}

/// The body temperature band of each species, the one table the rules use.
///
/// Source: the Merck/MSD Veterinary Manual's normal rectal temperatures, dogs 37.9–39.9 °C
/// and cats 38.1–39.2 °C. The collar measures at the neck, which reads cooler than the
/// rectum, so the low edge is widened to 37.2 °C for both; the high edge is where fever
/// starts: the top of the dog range, and 39.5 °C for cats (a cat's normal range is narrower,
/// a fever begins just above it).
const BANDS: [(Species, Band); 2] =
    [(Species::Dog, Band { low_c: 37.2, high_c: 39.9 }), (Species::Cat, Band { low_c: 37.2, high_c: 39.5 })];

/// The species' band, from the one table `BANDS`: the Merck/MSD Veterinary Manual's normal
/// rectal ranges, the low edge widened for a sensor at the neck.
pub fn band(species: Species) -> Band {
    BANDS.iter().find(|(s, _)| *s == species).map_or(BANDS[0].1, |(_, b)| *b)
}

/// Readings with a temperature outside the band in a row that raise an alert, and readings
/// back inside that clear it.
pub const CONSECUTIVE_READINGS: u32 = 3;

/// How far inside the band, °C, a reading must be to count towards clearing: the band edge
/// alone would let sensor noise of ±0.1 °C open and close the alert over and over.
pub const HYSTERESIS_C: f64 = 0.2;

/// Rounding slack, °C, so that a reading exactly the hysteresis inside (39.3 for a 39.5 edge)
/// counts although 39.5 − 0.2 is not exactly 39.3 in binary.
const EDGE_EPS_C: f64 = 1e-9;

/// What one temperature reading means for each side of the band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// The side reached [`CONSECUTIVE_READINGS`] outside: raise it (if not already open).
    pub raise_high: bool,
    pub raise_low: bool,
    /// The side reached [`CONSECUTIVE_READINGS`] back inside by the hysteresis: clear it.
    pub clear_high: bool,
    pub clear_low: bool,
}

/// The runs between readings (part of the collar's state).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Runs {
    /// Readings in a row above the band.
    pub high: u8,
    /// Readings in a row below the band.
    pub low: u8,
    /// Readings in a row at least the hysteresis below the high edge.
    pub high_clear: u8,
    /// Readings in a row at least the hysteresis above the low edge.
    pub low_clear: u8,
}

impl Runs {
    /// Counts one reading's temperature. A reading on the other side of the band counts as
    /// clearing this side (the fever is over; the other side raises its own alert).
    pub(crate) fn step(&mut self, band: Band, t: f64) -> Step {
        let n = CONSECUTIVE_READINGS as u8;
        let bump = |run: &mut u8, cond: bool| *run = if cond { run.saturating_add(1) } else { 0 };
        bump(&mut self.high, t > band.high_c);
        bump(&mut self.low, t < band.low_c);
        bump(&mut self.high_clear, t <= band.high_c - HYSTERESIS_C + EDGE_EPS_C);
        bump(&mut self.low_clear, t >= band.low_c + HYSTERESIS_C - EDGE_EPS_C);
        Step {
            raise_high: self.high >= n,
            raise_low: self.low >= n,
            clear_high: self.high_clear >= n,
            clear_low: self.low_clear >= n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_the_documented_values() {
        assert_eq!(band(Species::Dog), Band { low_c: 37.2, high_c: 39.9 });
        assert_eq!(band(Species::Cat), Band { low_c: 37.2, high_c: 39.5 });
    }

    #[test]
    fn three_in_a_row_raise_and_a_normal_reading_breaks_the_run() {
        let b = band(Species::Dog);
        let mut r = Runs::default();
        assert!(!r.step(b, 40.2).raise_high);
        assert!(!r.step(b, 40.2).raise_high);
        assert!(!r.step(b, 39.0).raise_high, "a normal reading breaks the run");
        assert!(!r.step(b, 40.0).raise_high);
        assert!(!r.step(b, 40.0).raise_high);
        assert!(r.step(b, 40.0).raise_high);
        // At the edge: not above it.
        let mut r = Runs::default();
        for _ in 0..5 {
            assert!(!r.step(b, 39.9).raise_high);
        }
    }

    #[test]
    fn clearing_needs_the_hysteresis() {
        let b = band(Species::Cat);
        let mut r = Runs::default();
        // 39.4 is inside the band but within 0.2 of the edge: does not clear.
        for _ in 0..5 {
            assert!(!r.step(b, 39.4).clear_high);
        }
        assert!(!r.step(b, 39.3).clear_high);
        assert!(!r.step(b, 39.3).clear_high);
        assert!(r.step(b, 39.3).clear_high);
        // Low side: 37.3 is inside but within the hysteresis.
        let mut r = Runs::default();
        for _ in 0..3 {
            r.step(b, 37.1);
        }
        assert_eq!(r.low, 3);
        assert!(!r.step(b, 37.3).clear_low);
        assert!(!r.step(b, 37.4).clear_low);
        assert!(!r.step(b, 37.4).clear_low);
        assert!(r.step(b, 37.4).clear_low);
    }
}
