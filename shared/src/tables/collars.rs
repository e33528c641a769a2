//! The collars table: who owns each collar, and the pet wearing it.
//!
//! `collar_id` (S) → `owner_id`, `pet` (the profile as JSON), `created_at` (the claim, Unix
//! s), `updated_at`; GSI `owner_id-index` (`owner_id`, `collar_id`). A released collar's item
//! is deleted, so a claim is a put conditional on no item.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use crate::dynamo::{Item, StoreError, get_n, get_s, n, query_page, s, sdk_err};

/// The pet profile and its rules are wire types, defined once in `petty_api`.
pub use petty_api::collars::Pet;

/// How far a collar's clock may run ahead of ours (the ingestion rule, seconds).
pub const CLOCK_SKEW_S: i64 = 5 * 60;

/// A claimed collar.
#[derive(Clone, Debug, PartialEq)]
pub struct Collar {
    pub collar_id: String,
    pub owner_id: String,
    pub pet: Pet,
    /// When this owner claimed it (Unix s): readings before it may be a previous owner's.
    pub created_at: i64,
    pub updated_at: i64,
}

impl Collar {
    /// The earliest reading time (Unix ms) this owner may see: the claim, less the clock skew
    /// a collar is allowed (readings are timed by the collar).
    pub fn visible_from_ms(&self) -> i64 {
        (self.created_at - CLOCK_SKEW_S) * 1000
    }
}

/// A stored collar item back as a [`Collar`]; `None` when it is malformed.
fn collar_from(item: &Item) -> Option<Collar> {
    Some(Collar {
        collar_id: get_s(item, "collar_id")?,
        owner_id: get_s(item, "owner_id")?,
        pet: serde_json::from_str(&get_s(item, "pet")?).ok()?,
        created_at: get_n(item, "created_at").unwrap_or_default(),
        updated_at: get_n(item, "updated_at").unwrap_or_default(),
    })
}

fn pet_json(pet: &Pet) -> Result<String, StoreError> {
    serde_json::to_string(pet).map_err(|e| StoreError::Other(e.to_string()))
}

/// The collars table.
#[derive(Clone, Debug)]
pub struct CollarsTable {
    client: Client,
    table: String,
}

impl CollarsTable {
    /// Over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// The collar, whoever owns it (one consistent `GetItem`).
    pub async fn collar(&self, collar_id: &str) -> Result<Option<Collar>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("collar_id", s(collar_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().and_then(collar_from))
    }

    /// Claims an unclaimed collar for its owner; `ConditionFailed` when it is claimed.
    pub async fn claim(&self, collar: &Collar) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("collar_id", s(&collar.collar_id))
            .item("owner_id", s(&collar.owner_id))
            .item("pet", s(pet_json(&collar.pet)?))
            .item("created_at", n(collar.created_at))
            .item("updated_at", n(collar.updated_at))
            .condition_expression("attribute_not_exists(collar_id)")
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// One page of an owner's collars, and where to continue.
    pub async fn collars_of_owner(
        &self,
        owner: &str,
        limit: i32,
        start: Option<Item>,
    ) -> Result<(Vec<Collar>, Option<Item>), StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("owner_id-index")
            .key_condition_expression("owner_id = :o")
            .expression_attribute_values(":o", s(owner))
            .limit(limit);
        let (items, next) = query_page(query, start).await?;
        Ok((items.iter().filter_map(collar_from).collect(), next))
    }

    /// Replaces the pet profile of a collar `owner` owns; `ConditionFailed` otherwise.
    pub async fn update_pet(&self, collar_id: &str, owner: &str, pet: &Pet, now: i64) -> Result<Collar, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("collar_id", s(collar_id))
            .update_expression("SET pet = :pet, updated_at = :now")
            .condition_expression("owner_id = :me")
            .expression_attribute_values(":pet", s(pet_json(pet)?))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":me", s(owner))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(sdk_err)?;
        out.attributes.as_ref().and_then(collar_from).ok_or_else(|| StoreError::Other("no attributes".into()))
    }

    /// Releases a collar `owner` owns; `ConditionFailed` otherwise.
    pub async fn release(&self, collar_id: &str, owner: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("collar_id", s(collar_id))
            .condition_expression("owner_id = :me")
            .expression_attribute_values(":me", s(owner))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }
}
