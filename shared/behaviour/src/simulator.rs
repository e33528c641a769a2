//! A collar-day simulator with ground truth: seeded, so a seed always gives the same day.
//!
//! It plays a pet through a day of labelled behaviour episodes (night sleep, walks, play,
//! fetch, pacing, raised heart rate at rest, the collar taken off) second by second, and
//! records a reading every 10 s the way a real collar gets them to us: heart-rate and GPS
//! noise, misread activity levels, lost readings, and duplicated, out-of-order delivery.
//! The timeline's quality test, the benchmark, `make dev`'s demo day all come from here.

use std::collections::BTreeMap;

use petty_api::collars::Species;

use crate::{Behavior, Episode, Sample};

/// A simulated pet: what its body and habits are like.
#[derive(Clone, Debug, PartialEq)]
pub struct PetProfile {
    pub name: &'static str,
    pub species: Species,
    pub weight_kg: f64,
    /// True resting heart rate, bpm.
    pub resting_bpm: f64,
    /// Walking pace, m/s.
    pub walk_speed_mps: f64,
    /// Chance of an episode on a given day.
    pub fetch_chance: f64,
    pub pacing_chance: f64,
    pub elevated_chance: f64,
    pub collar_off_chance: f64,
}

/// Four pets with different sizes, heart rates and habits.
pub fn profiles() -> Vec<PetProfile> {
    vec![
        PetProfile {
            name: "Biscuit",
            species: Species::Dog,
            weight_kg: 18.0,
            resting_bpm: 85.0,
            walk_speed_mps: 1.4,
            fetch_chance: 0.9,
            pacing_chance: 0.6,
            elevated_chance: 0.6,
            collar_off_chance: 0.6,
        },
        PetProfile {
            name: "Pip",
            species: Species::Dog,
            weight_kg: 6.0,
            resting_bpm: 105.0,
            walk_speed_mps: 1.1,
            fetch_chance: 0.8,
            pacing_chance: 0.8,
            elevated_chance: 0.4,
            collar_off_chance: 0.5,
        },
        PetProfile {
            name: "Atlas",
            species: Species::Dog,
            weight_kg: 38.0,
            resting_bpm: 68.0,
            walk_speed_mps: 1.2,
            fetch_chance: 0.3,
            pacing_chance: 0.3,
            elevated_chance: 0.8,
            collar_off_chance: 0.7,
        },
        PetProfile {
            name: "Mochi",
            species: Species::Cat,
            weight_kg: 4.5,
            resting_bpm: 165.0,
            walk_speed_mps: 0.6,
            fetch_chance: 0.7,
            pacing_chance: 0.4,
            elevated_chance: 0.5,
            collar_off_chance: 0.4,
        },
    ]
}

/// A ground-truth episode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Label {
    pub behavior: Behavior,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A simulated day: the truth, and the readings in the order they were delivered.
#[derive(Clone, Debug)]
pub struct SimDay {
    pub labels: Vec<Label>,
    pub delivered: Vec<Sample>,
}

/// Where the simulated pets live (lat, lon).
pub const HOME: (f64, f64) = (40.7128, -74.0060);

struct Dice(fastrand::Rng);

impl Dice {
    fn chance(&mut self, p: f64) -> bool {
        self.0.f64() < p
    }
    fn minutes(&mut self, lo: i64, hi: i64) -> i64 {
        self.0.i64(lo..=hi)
    }
    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u1 = self.0.f64().max(1e-12);
        let u2 = self.0.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The day's plan: (behaviour, minutes), summing to 24 h.
fn schedule(dice: &mut Dice, p: &PetProfile) -> Vec<(Behavior, i64)> {
    use Behavior::*;
    let mut plan = Vec::new();
    let mut t = 0;
    // Night until about 06:30: deep sleep broken by lighter rest.
    let mut deep = true;
    while t < 390 {
        let mut m = if deep { dice.minutes(40, 90) } else { dice.minutes(12, 30) }.min(390 - t);
        if 390 - t - m < 15 {
            m = 390 - t; // no sliver of an episode before the walk
        }
        plan.push((if deep { DeepSleep } else { Rest }, m));
        deep = !deep;
        t += m;
    }
    let mut day = vec![(Walk, dice.minutes(30, 50)), (Play, dice.minutes(8, 20)), (Walk, dice.minutes(20, 45))];
    for (chance, behavior, lo, hi) in [
        (p.fetch_chance, PlayingFetch, 6, 15),
        (p.pacing_chance, AnxiousPacing, 6, 15),
        (p.elevated_chance, ElevatedHeartRate, 6, 15),
        (p.collar_off_chance, NoData, 20, 60),
        (0.5, Play, 8, 15),
    ] {
        if dice.chance(chance) {
            day.push((behavior, dice.minutes(lo, hi)));
        }
    }
    // The morning walk stays first; the rest of the day comes in random order, spread over
    // the day with rest between.
    dice.0.shuffle(&mut day[1..]);
    let busy: i64 = day.iter().map(|i| i.1).sum();
    let share = ((1260 - t - busy) / day.len() as i64).max(20);
    for item in day {
        plan.push(item);
        t += item.1;
        let rest = dice.minutes(share * 6 / 10, share * 14 / 10).max(20);
        plan.push((Rest, rest));
        t += rest;
    }
    if t < 1260 {
        plan.push((Rest, 1260 - t));
        t = 1260;
    }
    let evening = dice.minutes(30, 60);
    plan.push((Rest, evening));
    t += evening;
    plan.push((DeepSleep, 1440 - t));
    // Trim to the day and join neighbours with the same behaviour.
    let mut out: Vec<(Behavior, i64)> = Vec::new();
    let mut used = 0;
    for (b, m) in plan {
        let m = m.min(1440 - used);
        if m <= 0 {
            continue;
        }
        used += m;
        match out.last_mut() {
            Some(last) if last.0 == b => last.1 += m,
            _ => out.push((b, m)),
        }
    }
    out
}

/// Heart rate of a behaviour as a multiple of the resting rate.
fn heart_factor(b: Behavior) -> f64 {
    match b {
        Behavior::DeepSleep => 0.78,
        Behavior::Rest | Behavior::NoData => 1.0,
        Behavior::Walk => 1.2,
        Behavior::Play => 1.45,
        Behavior::AnxiousPacing => 1.55,
        Behavior::ElevatedHeartRate => 1.6,
        Behavior::PlayingFetch => 1.7,
    }
}

fn activity_level(b: Behavior) -> u8 {
    match b {
        Behavior::Walk | Behavior::AnxiousPacing => 1,
        Behavior::Play | Behavior::PlayingFetch => 2,
        _ => 0,
    }
}

/// Second-by-second position, metres east/north of home.
struct Body {
    x: f64,
    y: f64,
    heading: f64,
    anchor: (f64, f64),
    /// Fetch: 0 running out, 1 coming back, 2 waiting; and the throw's length.
    fetch_phase: u8,
    fetch_left: f64,
    heart: f64,
}

impl Body {
    fn step(&mut self, b: Behavior, p: &PetProfile, since_start_s: i64, dice: &mut Dice) {
        match b {
            Behavior::Walk => {
                // Out for the first half, then home.
                self.heading = if since_start_s < 900 || (self.x.hypot(self.y) < 30.0 && since_start_s < 1800) {
                    self.heading + dice.normal() * 0.05
                } else {
                    (-self.y).atan2(-self.x) + dice.normal() * 0.1
                };
                self.x += p.walk_speed_mps * self.heading.cos();
                self.y += p.walk_speed_mps * self.heading.sin();
            }
            Behavior::AnxiousPacing => {
                // Back and forth over 8 m at 1 m/s.
                let phase = (since_start_s % 16) as f64;
                let along = if phase < 8.0 { phase } else { 16.0 - phase } - 4.0;
                self.x = self.anchor.0 + along * self.heading.cos();
                self.y = self.anchor.1 + along * self.heading.sin();
            }
            Behavior::Play => {
                self.x = self.anchor.0 + (self.x - self.anchor.0 + dice.normal() * 0.4).clamp(-3.0, 3.0);
                self.y = self.anchor.1 + (self.y - self.anchor.1 + dice.normal() * 0.4).clamp(-3.0, 3.0);
            }
            Behavior::PlayingFetch => match self.fetch_phase {
                0 => {
                    self.x += 4.5 * self.heading.cos();
                    self.y += 4.5 * self.heading.sin();
                    self.fetch_left -= 4.5;
                    if self.fetch_left <= 0.0 {
                        self.fetch_phase = 1;
                    }
                }
                1 => {
                    let (dx, dy) = (self.anchor.0 - self.x, self.anchor.1 - self.y);
                    let d = dx.hypot(dy);
                    if d <= 3.5 {
                        (self.x, self.y, self.fetch_phase, self.fetch_left) = (self.anchor.0, self.anchor.1, 2, 5.0);
                    } else {
                        self.x += 3.5 * dx / d;
                        self.y += 3.5 * dy / d;
                    }
                }
                _ => {
                    self.fetch_left -= 1.0;
                    if self.fetch_left <= 0.0 {
                        self.heading = dice.0.f64() * std::f64::consts::TAU;
                        self.fetch_left = 15.0 + dice.0.f64() * 20.0;
                        self.fetch_phase = 0;
                    }
                }
            },
            _ => {}
        }
        let target = p.resting_bpm * heart_factor(b);
        self.heart += (target - self.heart) * 0.1;
    }

    fn start(&mut self, dice: &mut Dice) {
        self.anchor = (self.x, self.y);
        self.heading = dice.0.f64() * std::f64::consts::TAU;
        self.fetch_phase = 2;
        self.fetch_left = 2.0;
    }
}

/// How imperfect the collar's sensors and radio are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Noise {
    /// Heart-rate noise, as a share of the true rate (standard deviation).
    pub heart_rate_sd: f64,
    /// Chance a reading's activity level is misread.
    pub activity_misread: f64,
    /// GPS error, metres (standard deviation per axis); 1% of fixes are 20 m off.
    pub gps_m: f64,
    /// Chance a reading is lost on the way.
    pub loss: f64,
}

impl Noise {
    /// A typical collar.
    pub const TYPICAL: Noise = Noise { heart_rate_sd: 0.04, activity_misread: 0.06, gps_m: 3.0, loss: 0.02 };
    /// A poor one: twice the noise, three times the misreads, five times the losses.
    pub const HARSH: Noise = Noise { heart_rate_sd: 0.08, activity_misread: 0.18, gps_m: 6.0, loss: 0.1 };
}

/// One simulated day from `day_start_ms` (midnight UTC) for `profile`, reproducible by `seed`,
/// with a typical collar's noise.
pub fn simulate_day(profile: &PetProfile, seed: u64, day_start_ms: i64) -> SimDay {
    simulate_day_with(profile, seed, day_start_ms, Noise::TYPICAL)
}

/// [`simulate_day`] with the given noise.
pub fn simulate_day_with(profile: &PetProfile, seed: u64, day_start_ms: i64, noise: Noise) -> SimDay {
    let mut dice = Dice(fastrand::Rng::with_seed(seed));
    let plan = schedule(&mut dice, profile);
    let mut labels = Vec::with_capacity(plan.len());
    let mut t_min = 0;
    for &(behavior, minutes) in &plan {
        labels.push(Label {
            behavior,
            start_ms: day_start_ms + t_min * 60_000,
            end_ms: day_start_ms + (t_min + minutes) * 60_000,
        });
        t_min += minutes;
    }
    let metres_per_deg_lat = crate::geo::EARTH_RADIUS_M.to_radians();
    let metres_per_deg_lon = metres_per_deg_lat * HOME.0.to_radians().cos();
    let mut body = Body {
        x: 0.0,
        y: 0.0,
        heading: 0.0,
        anchor: (0.0, 0.0),
        fetch_phase: 2,
        fetch_left: 0.0,
        heart: profile.resting_bpm,
    };
    let mut readings = Vec::with_capacity(8640);
    for label in &labels {
        body.start(&mut dice);
        let seconds = (label.end_ms - label.start_ms) / 1000;
        let first = (label.start_ms - day_start_ms) / 1000;
        for s in 0..seconds {
            body.step(label.behavior, profile, s, &mut dice);
            let at = first + s;
            if at % 10 != 0 || label.behavior == Behavior::NoData || dice.chance(noise.loss) {
                continue;
            }
            let gps = if dice.chance(0.01) { 20.0 } else { noise.gps_m };
            let mut hr = body.heart * (1.0 + noise.heart_rate_sd * dice.normal());
            if dice.chance(0.005) {
                hr *= 1.5;
            }
            let mut activity = activity_level(label.behavior);
            if dice.chance(noise.activity_misread) {
                activity = (activity + 1 + dice.0.u8(0..2)) % 3;
            }
            readings.push(Sample {
                ts_ms: day_start_ms + at * 1000 + i64::from(dice.0.u16(0..300)),
                heart_rate: hr.round().clamp(30.0, 300.0) as u16,
                activity,
                lat: HOME.0 + (body.y + gps * dice.normal()) / metres_per_deg_lat,
                lon: HOME.1 + (body.x + gps * dice.normal()) / metres_per_deg_lon,
            });
        }
    }
    // Radio burst losses of 1–3 minutes, shorter than a gap: one in each of a few sections of
    // the day, so two never join into a real gap.
    let bursts = dice.0.usize(2..6);
    let section = readings.len() / bursts;
    for k in (0..bursts).rev() {
        let at = k * section + dice.0.usize(0..section.saturating_sub(18).max(1));
        let len = dice.0.usize(6..18).min(readings.len() - at);
        readings.drain(at..at + len);
    }
    // Delivery: 2% sent twice (later), and runs of readings arriving out of order.
    let mut delivered = Vec::with_capacity(readings.len() + readings.len() / 40);
    for r in &readings {
        delivered.push(*r);
        if dice.chance(0.02) {
            let at = delivered.len() - 1 - dice.0.usize(0..delivered.len().min(20));
            delivered.insert(at, *r);
        }
    }
    let mut i = 0;
    while i < delivered.len() {
        let len = dice.0.usize(2..30).min(delivered.len() - i);
        if dice.chance(0.1) {
            dice.0.shuffle(&mut delivered[i..i + len]);
        }
        i += len;
    }
    SimDay { labels, delivered }
}

/// The API's reading JSON for a simulated sample.
pub fn reading_json(collar_id: &str, s: &Sample) -> serde_json::Value {
    let ts = chrono::DateTime::from_timestamp_millis(s.ts_ms).unwrap_or_default();
    serde_json::json!({
        "collar_id": collar_id,
        "timestamp": ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "heart_rate": s.heart_rate,
        "activity_level": s.activity,
        "location": { "type": "Point", "coordinates": [s.lon, s.lat] },
    })
}

/// How well detected episodes match the labels, for one behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Score {
    /// Detected episodes, and those overlapping a label of the same behaviour by at least
    /// half of the episode.
    pub detected: u32,
    pub detected_correct: u32,
    /// Labelled episodes, and those overlapped by detected episodes of the same behaviour for
    /// at least half of the label.
    pub labelled: u32,
    pub labelled_found: u32,
}

impl Score {
    /// Share of detected episodes that are right (1 when nothing was detected).
    pub fn precision(&self) -> f64 {
        if self.detected == 0 { 1.0 } else { f64::from(self.detected_correct) / f64::from(self.detected) }
    }
    /// Share of labelled episodes that were found (1 when there were none).
    pub fn recall(&self) -> f64 {
        if self.labelled == 0 { 1.0 } else { f64::from(self.labelled_found) / f64::from(self.labelled) }
    }
    /// Adds another score's counts.
    pub fn add(&mut self, other: &Score) {
        self.detected += other.detected;
        self.detected_correct += other.detected_correct;
        self.labelled += other.labelled;
        self.labelled_found += other.labelled_found;
    }
}

/// Precision and recall per behaviour: an episode counts as found when it overlaps a
/// labelled one of the same behaviour by at least half (of the episode for precision, of
/// the label for recall).
pub fn score(labels: &[Label], episodes: &[Episode]) -> BTreeMap<Behavior, Score> {
    let mut scores: BTreeMap<Behavior, Score> = BTreeMap::new();
    for e in episodes {
        let s = scores.entry(e.behavior).or_default();
        s.detected += 1;
        let covered: i64 =
            labels.iter().filter(|l| l.behavior == e.behavior).map(|l| e.overlap_ms(l.start_ms, l.end_ms)).sum();
        if covered * 2 >= e.end_ms - e.start_ms {
            s.detected_correct += 1;
        }
    }
    for l in labels {
        let s = scores.entry(l.behavior).or_default();
        s.labelled += 1;
        let covered: i64 =
            episodes.iter().filter(|e| e.behavior == l.behavior).map(|e| e.overlap_ms(l.start_ms, l.end_ms)).sum();
        if covered * 2 >= l.end_ms - l.start_ms {
            s.labelled_found += 1;
        }
    }
    scores
}
