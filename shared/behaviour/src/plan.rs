//! The pet plan: daily goals, nutrition and recommendations from the pet's profile and what
//! the timeline measured over the last 7 days. Every number carries its unit.
//!
//! Energy: resting energy requirement `RER = 70 × kg^0.75` kcal/day, maintenance
//! `MER = RER × factor` (weight loss 1.0, inactive 1.2, typical 1.6, active 2.0, working 3.0).

use chrono::NaiveDate;
use petty_api::collars::{ActivityProfile, Pet, Species};
use petty_api::plan::{
    ActiveMinutes, DailyGoals, Evidence, Figure, MaintenanceEnergy, MeasuredAverage, MeasuredOver, NutritionPlan,
    ProfileSource, Recommendation, RestingEnergy, Severity,
};

use super::{Behavior, Episode};

/// Below this share of the goal, activity is "low".
pub const LOW_ACTIVITY_SHARE: f64 = 0.5;
/// Above this share of the goal, activity is "high" (rest days matter for seniors).
pub const HIGH_ACTIVITY_SHARE: f64 = 2.0;
/// This many elevated-heart-rate-at-rest episodes in 7 days: ask a vet.
pub const ELEVATED_EPISODES_FOR_VET: u32 = 3;
/// This many anxious-pacing episodes in 7 days: advise on anxiety.
pub const PACING_EPISODES_FOR_ADVICE: u32 = 3;
/// Less measured time than this, hours, and measured figures are not trusted.
pub const MIN_COVERED_HOURS: f64 = 12.0;
/// A collar off for more than this share of the window is worth mentioning.
pub const NO_DATA_SHARE_FOR_NOTE: f64 = 0.3;

/// What the timeline found over the plan's window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActivitySummary {
    /// The window's length, hours.
    pub window_hours: f64,
    /// Hours with readings (not `no_data`).
    pub covered_hours: f64,
    /// Minutes of walk, play and fetch.
    pub active_minutes: f64,
    pub distance_m: f64,
    pub elevated_heart_rate_episodes: u32,
    pub anxious_pacing_episodes: u32,
    pub deep_sleep_hours: f64,
}

impl ActivitySummary {
    /// Sums the episodes' parts that fall in `[from_ms, to_ms)`.
    pub fn from_episodes<'a>(episodes: impl IntoIterator<Item = &'a Episode>, from_ms: i64, to_ms: i64) -> Self {
        let mut s = ActivitySummary { window_hours: (to_ms - from_ms).max(0) as f64 / 3_600_000.0, ..Self::default() };
        for e in episodes {
            let overlap_h = e.overlap_ms(from_ms, to_ms) as f64 / 3_600_000.0;
            if overlap_h <= 0.0 {
                continue;
            }
            if e.behavior != Behavior::NoData {
                s.covered_hours += overlap_h;
            }
            if e.behavior.is_active() {
                s.active_minutes += overlap_h * 60.0;
                s.distance_m += e.stats.distance_m * overlap_h / (e.duration_s() / 3600.0).max(f64::EPSILON);
            }
            match e.behavior {
                Behavior::ElevatedHeartRate => s.elevated_heart_rate_episodes += 1,
                Behavior::AnxiousPacing => s.anxious_pacing_episodes += 1,
                Behavior::DeepSleep => s.deep_sleep_hours += overlap_h,
                _ => {}
            }
        }
        s
    }

    /// Sums days' summaries (what the plan reads instead of readings): the hours counted,
    /// their coverage, active minutes, distance, deep sleep and flagged episodes.
    pub fn from_days(days: &[petty_api::summary::DaySummary]) -> Self {
        let count = |d: &petty_api::summary::DaySummary, b: Behavior| d.episodes.get(&b).copied().unwrap_or(0);
        days.iter().fold(ActivitySummary::default(), |mut s, d| {
            s.window_hours += d.hours;
            s.covered_hours += d.hours * d.coverage;
            s.active_minutes += d.active_minutes;
            s.distance_m += d.distance_m;
            s.elevated_heart_rate_episodes += count(d, Behavior::ElevatedHeartRate);
            s.anxious_pacing_episodes += count(d, Behavior::AnxiousPacing);
            s.deep_sleep_hours += d.deep_sleep_night_h + d.deep_sleep_day_h;
            s
        })
    }

    /// Per day of measured time, or `None` below [`MIN_COVERED_HOURS`].
    fn per_covered_day(&self, total: f64) -> Option<f64> {
        (self.covered_hours >= MIN_COVERED_HOURS).then(|| total / (self.covered_hours / 24.0))
    }
}

/// Age in whole years on `today`, when the birth date is known.
pub fn age_years(pet: &Pet, today: NaiveDate) -> Option<u32> {
    let born = NaiveDate::parse_from_str(pet.birth_date.as_deref()?, "%Y-%m-%d").ok()?;
    today.years_since(born)
}

/// Life stage: young animals need short bursts, seniors gentler exercise (on the wire in
/// the plan's goals).
pub use petty_api::plan::LifeStage;

/// The life stage by species, size and age (large dogs age sooner).
pub fn life_stage(pet: &Pet, today: NaiveDate) -> LifeStage {
    let Some(age) = age_years(pet, today) else { return LifeStage::Adult };
    let senior_from = match pet.species {
        Species::Cat => 11,
        Species::Dog if pet.weight_kg > 25.0 => 6,
        Species::Dog => 8,
    };
    if age < 1 {
        LifeStage::Young
    } else if age >= senior_from {
        LifeStage::Senior
    } else {
        LifeStage::Adult
    }
}

/// Daily active minutes to aim for, by species, size and life stage (general veterinary
/// guidance: small dogs ~60 min, medium and large ~90, giants ~60, cats ~30 in play).
pub fn active_minutes_goal(pet: &Pet, stage: LifeStage) -> f64 {
    let adult = match pet.species {
        Species::Cat => 30.0,
        Species::Dog if pet.weight_kg < 10.0 => 60.0,
        Species::Dog if pet.weight_kg <= 45.0 => 90.0,
        Species::Dog => 60.0,
    };
    match (pet.species, stage) {
        (_, LifeStage::Adult) => adult,
        (Species::Dog, LifeStage::Young) => 30.0,
        (Species::Cat, LifeStage::Young) => 45.0,
        (_, LifeStage::Senior) => (adult * 2.0 / 3.0 / 5.0).round() * 5.0,
    }
}

/// The MER factor of an activity profile.
pub fn energy_factor(profile: ActivityProfile) -> f64 {
    match profile {
        ActivityProfile::WeightLoss => 1.0,
        ActivityProfile::Inactive => 1.2,
        ActivityProfile::Typical => 1.6,
        ActivityProfile::Active => 2.0,
        ActivityProfile::Working => 3.0,
    }
}

/// Resting energy requirement, kcal/day.
pub fn resting_energy_kcal(weight_kg: f64) -> f64 {
    70.0 * weight_kg.powf(0.75)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The plan's three parts, typed as the API answers them: every number says its unit.
#[derive(Clone, Debug, PartialEq)]
pub struct PetPlan {
    pub daily_goals: DailyGoals,
    pub nutrition_plan: NutritionPlan,
    pub health_recommendations: Vec<Recommendation>,
}

fn recommendation(code: &str, severity: Severity, message: String, evidence: Evidence) -> Recommendation {
    Recommendation { code: code.to_owned(), severity, message, evidence }
}

/// The plan for `pet` on `today` given what was measured.
pub fn pet_plan(pet: &Pet, today: NaiveDate, measured: &ActivitySummary) -> PetPlan {
    let stage = life_stage(pet, today);
    let goal = active_minutes_goal(pet, stage);
    let active_per_day = measured.per_covered_day(measured.active_minutes);
    let share = active_per_day.map(|a| a / goal);

    // The owner's stated profile wins; otherwise what was measured decides.
    let (profile, profile_source) = match (pet.activity_profile, share) {
        (Some(p), _) => (p, ProfileSource::Owner),
        (None, Some(s)) if s < LOW_ACTIVITY_SHARE => (ActivityProfile::Inactive, ProfileSource::Measured),
        (None, Some(s)) if s > 1.5 => (ActivityProfile::Active, ProfileSource::Measured),
        (None, Some(_)) => (ActivityProfile::Typical, ProfileSource::Measured),
        (None, None) => (ActivityProfile::Typical, ProfileSource::Default),
    };
    let rer = resting_energy_kcal(pet.weight_kg);
    let factor = energy_factor(profile);
    let mer = rer * factor;
    let meals = if stage == LifeStage::Young { 3.0 } else { 2.0 };

    let daily_goals = DailyGoals {
        life_stage: stage,
        age: age_years(pet, today).map(|a| Figure::new(a, "years")),
        active_minutes: ActiveMinutes {
            goal,
            measured_avg: active_per_day.map(round1),
            progress_pct: share.map(|s| (s * 100.0).round()),
            unit: "min/day".into(),
        },
        distance: MeasuredAverage {
            measured_avg: measured.per_covered_day(measured.distance_m).map(|d| d.round()),
            unit: "m/day".into(),
        },
        deep_sleep: MeasuredAverage {
            measured_avg: measured.per_covered_day(measured.deep_sleep_hours).map(round1),
            unit: "h/day".into(),
        },
        measured_over: MeasuredOver {
            covered: round1(measured.covered_hours),
            window: round1(measured.window_hours),
            unit: "h".into(),
        },
    };
    let nutrition_plan = NutritionPlan {
        weight: Figure::new(pet.weight_kg, "kg"),
        resting_energy_requirement: RestingEnergy {
            value: rer.round(),
            unit: "kcal/day".into(),
            formula: "70 × weight_kg^0.75".into(),
        },
        maintenance_energy_requirement: MaintenanceEnergy {
            value: mer.round(),
            unit: "kcal/day".into(),
            factor,
            activity_profile: profile,
            activity_profile_source: profile_source,
        },
        meals: Figure::new(meals, "meals/day"),
        per_meal: Figure::new((mer / meals).round(), "kcal/meal"),
    };

    let mut recs = Vec::new();
    if measured.covered_hours < MIN_COVERED_HOURS {
        recs.push(recommendation(
            "not_enough_data",
            Severity::Info,
            format!(
                "Only {:.1} h of readings in the last 7 days: wear the collar for at least 12 h to get measured goals.",
                measured.covered_hours
            ),
            Evidence { covered: Some(Figure::new(round1(measured.covered_hours), "h")), ..Evidence::default() },
        ));
    }
    if measured.elevated_heart_rate_episodes >= ELEVATED_EPISODES_FOR_VET {
        recs.push(recommendation(
            "elevated_heart_rate_at_rest",
            Severity::SeeVet,
            format!(
                "{} episodes of raised heart rate while resting in 7 days: worth a check-up with your vet.",
                measured.elevated_heart_rate_episodes
            ),
            Evidence {
                episodes: Some(Figure::new(measured.elevated_heart_rate_episodes, "episodes/7 days")),
                ..Evidence::default()
            },
        ));
    }
    if measured.anxious_pacing_episodes >= PACING_EPISODES_FOR_ADVICE {
        recs.push(recommendation(
            "anxious_pacing",
            Severity::Advice,
            format!(
                "{} episodes of anxious pacing in 7 days: look for triggers (being alone, noise) and consider enrichment.",
                measured.anxious_pacing_episodes
            ),
            Evidence {
                episodes: Some(Figure::new(measured.anxious_pacing_episodes, "episodes/7 days")),
                ..Evidence::default()
            },
        ));
    }
    if let (Some(active), Some(share)) = (active_per_day, share) {
        if share < LOW_ACTIVITY_SHARE {
            recs.push(recommendation(
                "low_activity",
                Severity::Advice,
                format!(
                    "About {:.0} active min/day against a goal of {goal:.0}: add {:.0} min of walks or play a day.",
                    active,
                    goal - active
                ),
                Evidence {
                    measured: Some(Figure::new(round1(active), "min/day")),
                    goal: Some(Figure::new(goal, "min/day")),
                    ..Evidence::default()
                },
            ));
        } else if share > HIGH_ACTIVITY_SHARE && stage == LifeStage::Senior {
            recs.push(recommendation(
                "rest_days",
                Severity::Advice,
                format!(
                    "About {active:.0} active min/day, over twice the goal for a senior pet: keep some gentler days."
                ),
                Evidence {
                    measured: Some(Figure::new(round1(active), "min/day")),
                    goal: Some(Figure::new(goal, "min/day")),
                    ..Evidence::default()
                },
            ));
        } else if share >= 1.0 {
            recs.push(recommendation(
                "activity_goal_met",
                Severity::Info,
                format!("About {active:.0} active min/day: the {goal:.0} min goal is met."),
                Evidence { measured: Some(Figure::new(round1(active), "min/day")), ..Evidence::default() },
            ));
        }
    }
    let no_data_share = 1.0 - measured.covered_hours / measured.window_hours.max(f64::EPSILON);
    if measured.window_hours > 0.0 && no_data_share > NO_DATA_SHARE_FOR_NOTE {
        recs.push(recommendation(
            "collar_off",
            Severity::Info,
            format!(
                "The collar sent nothing for {:.0}% of the last 7 days: figures cover only the time it was worn.",
                no_data_share * 100.0
            ),
            Evidence { no_data: Some(Figure::new((no_data_share * 100.0).round(), "%")), ..Evidence::default() },
        ));
    }
    PetPlan { daily_goals, nutrition_plan, health_recommendations: recs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{Episode, EpisodeStats};

    fn dog(kg: f64, birth: Option<&str>, profile: Option<ActivityProfile>) -> Pet {
        Pet {
            name: "Rex".into(),
            species: Species::Dog,
            breed: None,
            birth_date: birth.map(str::to_owned),
            weight_kg: kg,
            activity_profile: profile,
            timezone: None,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn summary(covered_h: f64, active_min: f64, elevated: u32) -> ActivitySummary {
        ActivitySummary {
            window_hours: 168.0,
            covered_hours: covered_h,
            active_minutes: active_min,
            elevated_heart_rate_episodes: elevated,
            ..Default::default()
        }
    }

    fn codes(plan: &PetPlan) -> Vec<&str> {
        plan.health_recommendations.iter().map(|r| r.code.as_str()).collect()
    }

    #[test]
    fn energy_follows_the_formulas() {
        // 10 kg: RER = 70 × 10^0.75 = 393.6 kcal/day; typical MER = 629.8.
        assert!((resting_energy_kcal(10.0) - 393.6).abs() < 0.1);
        let plan = pet_plan(&dog(10.0, None, Some(ActivityProfile::Typical)), today(), &summary(168.0, 7.0 * 90.0, 0));
        let n = &plan.nutrition_plan;
        assert_eq!(n.resting_energy_requirement.value, 394.0);
        assert_eq!(n.maintenance_energy_requirement.value, 630.0);
        assert_eq!(n.maintenance_energy_requirement.unit, "kcal/day");
        for (profile, factor) in [
            (ActivityProfile::WeightLoss, 1.0),
            (ActivityProfile::Inactive, 1.2),
            (ActivityProfile::Active, 2.0),
            (ActivityProfile::Working, 3.0),
        ] {
            let plan = pet_plan(&dog(10.0, None, Some(profile)), today(), &summary(168.0, 0.0, 0));
            assert_eq!(plan.nutrition_plan.maintenance_energy_requirement.factor, factor);
            assert_eq!(
                plan.nutrition_plan.maintenance_energy_requirement.activity_profile_source,
                ProfileSource::Owner
            );
        }
    }

    #[test]
    fn goals_depend_on_species_size_and_age() {
        let adult = |kg| active_minutes_goal(&dog(kg, None, None), LifeStage::Adult);
        assert_eq!((adult(5.0), adult(20.0), adult(60.0)), (60.0, 90.0, 60.0));
        let puppy = dog(20.0, Some("2026-05-01"), None);
        assert_eq!(life_stage(&puppy, today()), LifeStage::Young);
        assert_eq!(active_minutes_goal(&puppy, LifeStage::Young), 30.0);
        let senior_large = dog(30.0, Some("2020-01-01"), None);
        assert_eq!(life_stage(&senior_large, today()), LifeStage::Senior);
        assert_eq!(active_minutes_goal(&senior_large, LifeStage::Senior), 60.0);
        assert_eq!(life_stage(&dog(8.0, Some("2020-01-01"), None), today()), LifeStage::Adult);
        let cat = Pet { species: Species::Cat, ..dog(4.0, None, None) };
        assert_eq!(active_minutes_goal(&cat, LifeStage::Adult), 30.0);
    }

    #[test]
    fn measured_activity_drives_profile_and_advice() {
        // 20 min/day against 90: low activity, inactive factor when the owner gave none.
        let plan = pet_plan(&dog(20.0, None, None), today(), &summary(168.0, 7.0 * 20.0, 0));
        assert_eq!(plan.daily_goals.active_minutes.measured_avg, Some(20.0));
        assert_eq!(plan.daily_goals.active_minutes.progress_pct, Some(22.0));
        assert_eq!(plan.nutrition_plan.maintenance_energy_requirement.factor, 1.2);
        assert_eq!(codes(&plan), ["low_activity"]);
        let plan = pet_plan(&dog(20.0, None, None), today(), &summary(168.0, 7.0 * 95.0, 4));
        assert_eq!(codes(&plan), ["elevated_heart_rate_at_rest", "activity_goal_met"]);
        assert_eq!(plan.health_recommendations[0].severity, Severity::SeeVet);
    }

    #[test]
    fn little_data_says_so_instead_of_guessing() {
        let plan = pet_plan(&dog(20.0, None, None), today(), &summary(10.0, 60.0, 0));
        assert_eq!(plan.daily_goals.active_minutes.measured_avg, None);
        assert_eq!(plan.nutrition_plan.maintenance_energy_requirement.activity_profile_source, ProfileSource::Default);
        assert_eq!(codes(&plan), ["not_enough_data", "collar_off"]);
    }

    #[test]
    fn summary_clips_episodes_to_the_window() {
        let ep = |b, start_h: i64, end_h: i64| Episode {
            behavior: b,
            start_ms: start_h * 3_600_000,
            end_ms: end_h * 3_600_000,
            confidence: 1.0,
            stats: EpisodeStats {
                samples: 1,
                heart_rate_mean_bpm: None,
                heart_rate_min_bpm: None,
                heart_rate_max_bpm: None,
                distance_m: 1000.0,
            },
        };
        let eps = [ep(Behavior::Walk, 0, 2), ep(Behavior::NoData, 2, 3), ep(Behavior::ElevatedHeartRate, 3, 4)];
        let s = ActivitySummary::from_episodes(&eps, 3_600_000, 4 * 3_600_000);
        assert_eq!((s.window_hours, s.covered_hours, s.active_minutes), (3.0, 2.0, 60.0));
        assert_eq!((s.distance_m, s.elevated_heart_rate_episodes), (500.0, 1));
    }
}
