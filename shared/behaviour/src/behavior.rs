//! What a pet can be found doing, and the stable names clients and feedback use.

/// Behaviours are on the wire (events, feedback, plan): defined once in `petty_api`.
pub use petty_api::timeline::Behavior;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_match_serde() {
        for b in Behavior::ALL {
            assert_eq!(Behavior::parse(b.as_str()), Some(b));
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
        }
        assert_eq!(Behavior::parse("sleep"), None);
    }
}
