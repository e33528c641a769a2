//! The collars table: every registered collar, who owns it, and the pet wearing it.
//!
//! `collar_id` (S) → registration: `claim_code_hash` (SHA-256 of the printed claim code, never
//! the code), `registered_at` (Unix s), `iot_thing` (the AWS IoT thing, when it has one),
//! `owners_so_far` (N); ownership, present only while owned: `owner_id`, `pet` (the profile as
//! JSON), `created_at` (the claim, Unix s), `updated_at`, `visible_from` (Unix ms: the first
//! reading time this owner sees), `household` (a random id naming this ownership's household:
//! a membership counts only while it names the collar's current one, see
//! [`crate::tables::members`]); `released_at` after a release. GSI `owner_id-index`
//! (`owner_id`, `collar_id`) is sparse: it holds owned collars only.
//!
//! A claim is one conditional update (registered, unowned, the code's hash, the owner count
//! read just before), so two owners racing for one collar cannot both win. Releasing removes
//! the ownership attributes and keeps the registration, so the next owner claims with the
//! printed code.

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
    /// When this owner claimed it (Unix s).
    pub created_at: i64,
    pub updated_at: i64,
    /// The earliest reading time (Unix ms) this owner sees: 0 for a collar's first owner (what
    /// it buffered before the claim is theirs), the claim itself for every later owner (what
    /// came before is a previous owner's).
    pub visible_from: i64,
    /// This ownership's household id: new at every claim and transfer, gone at a release, so
    /// no membership outlives the ownership it was granted in.
    pub household: String,
}

/// A new household id (128 random bits, hex).
pub fn new_household() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Collar {
    /// The earliest reading time (Unix ms) this owner may see.
    pub fn visible_from_ms(&self) -> i64 {
        self.visible_from
    }
}

/// A registered collar, owned or not (the claim flow's view), with its ownership when owned:
/// one read answers both "is it registered" and "is it already yours".
#[derive(Clone, Debug, PartialEq)]
pub struct Registration {
    pub collar_id: String,
    /// `None` for collars claimed before registration existed (an operator resets their code).
    pub claim_code_hash: Option<String>,
    pub iot_thing: Option<String>,
    pub owners_so_far: i64,
    pub owned: Option<Collar>,
}

impl Registration {
    /// A new, never-owned registration.
    pub fn new(collar_id: &str, claim_code_hash: Option<String>, iot_thing: Option<&str>) -> Self {
        Self {
            collar_id: collar_id.into(),
            claim_code_hash,
            iot_thing: iot_thing.map(str::to_owned),
            owners_so_far: 0,
            owned: None,
        }
    }
}

/// A stored collar item back as a [`Collar`]; `None` when unowned or malformed.
fn collar_from(item: &Item) -> Option<Collar> {
    let created_at = get_n(item, "created_at").unwrap_or_default();
    Some(Collar {
        collar_id: get_s(item, "collar_id")?,
        owner_id: get_s(item, "owner_id")?,
        pet: serde_json::from_str(&get_s(item, "pet")?).ok()?,
        created_at,
        updated_at: get_n(item, "updated_at").unwrap_or_default(),
        // Items claimed before ownership epochs existed: from their claim.
        visible_from: get_n(item, "visible_from").unwrap_or(created_at * 1000),
        // Collars claimed before households existed: one named by their claim.
        household: get_s(item, "household").unwrap_or_else(|| format!("claim-{created_at}")),
    })
}

fn registration_from(item: &Item) -> Option<Registration> {
    let owned = collar_from(item);
    Some(Registration {
        collar_id: get_s(item, "collar_id")?,
        claim_code_hash: get_s(item, "claim_code_hash"),
        iot_thing: get_s(item, "iot_thing"),
        owners_so_far: get_n(item, "owners_so_far").unwrap_or(i64::from(owned.is_some())),
        owned,
    })
}

/// What a claim writes: the owner, the pet, the claim time and what this owner sees.
#[derive(Clone, Debug)]
pub struct ClaimRequest<'a> {
    pub collar_id: &'a str,
    pub owner_id: &'a str,
    pub pet: &'a Pet,
    pub claim_code_hash: &'a str,
    /// `owners_so_far` as read just before: the claim holds only if nobody claimed meanwhile.
    pub owners_seen: i64,
    pub now_ms: i64,
    /// The new ownership's household id ([`new_household`]).
    pub household: &'a str,
}

fn pet_json(pet: &Pet) -> Result<String, StoreError> {
    serde_json::to_string(pet).map_err(|e| StoreError::Other(e.to_string()))
}

/// The collars table.
#[derive(Clone, Debug)]
pub struct CollarsTable {
    client: Client,
    table: String,
    members: Option<super::members::MembersTable>,
}

impl CollarsTable {
    /// Over `table`, knowing owners only (see [`CollarsTable::with_members`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), members: None }
    }

    /// The same, with the members table the access check reads a caller's membership from.
    pub fn with_members(mut self, members: super::members::MembersTable) -> Self {
        self.members = Some(members);
        self
    }

    /// The members table, when given.
    pub fn members_table(&self) -> Option<&super::members::MembersTable> {
        self.members.as_ref()
    }

    /// A collar's item (one consistent `GetItem`).
    async fn item(&self, collar_id: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("collar_id", s(collar_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item)
    }

    /// The collar, whoever owns it; `None` when unregistered or unowned.
    pub async fn collar(&self, collar_id: &str) -> Result<Option<Collar>, StoreError> {
        Ok(self.item(collar_id).await?.as_ref().and_then(collar_from))
    }

    /// The collar's registration, with its ownership when owned.
    pub async fn registration(&self, collar_id: &str) -> Result<Option<Registration>, StoreError> {
        Ok(self.item(collar_id).await?.as_ref().and_then(registration_from))
    }

    /// Registers a new collar with its claim code's hash; false (and nothing changed) when the
    /// serial is already registered.
    pub async fn register_collar(
        &self,
        collar_id: &str,
        claim_code_hash: &str,
        iot_thing: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("collar_id", s(collar_id))
            .item("claim_code_hash", s(claim_code_hash))
            .item("registered_at", n(now))
            .item("owners_so_far", n(0))
            .condition_expression("attribute_not_exists(collar_id)");
        if let Some(thing) = iot_thing {
            put = put.item("iot_thing", s(thing));
        }
        match put.send().await.map_err(sdk_err) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Replaces a registered collar's claim code (the operator's reset); `ConditionFailed` when
    /// the serial is not registered.
    pub async fn reset_claim_code(&self, collar_id: &str, claim_code_hash: &str, now: i64) -> Result<(), StoreError> {
        let set = "SET claim_code_hash = :h, code_reset_at = :now";
        self.update_if(collar_id, set, "attribute_exists(collar_id)", [(":h", s(claim_code_hash)), (":now", n(now))])
            .await
    }

    /// One conditional update of a collar's item, nothing returned.
    async fn update_if(
        &self,
        collar_id: &str,
        update: &str,
        condition: &str,
        values: [(&str, aws_sdk_dynamodb::types::AttributeValue); 2],
    ) -> Result<(), StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("collar_id", s(collar_id))
            .update_expression(update)
            .condition_expression(condition);
        for (name, value) in values {
            req = req.expression_attribute_values(name, value);
        }
        req.send().await.map_err(sdk_err)?;
        Ok(())
    }

    /// Claims a registered, unowned collar whose code hash matches; `ConditionFailed` for a
    /// wrong code, an unregistered serial, an owned collar or a lost race alike.
    pub async fn claim(&self, c: &ClaimRequest<'_>) -> Result<Collar, StoreError> {
        // The first owner sees what the collar buffered before the claim; later owners do not.
        let visible_from = if c.owners_seen == 0 { 0 } else { c.now_ms };
        let now_s = c.now_ms / 1000;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("collar_id", s(c.collar_id))
            .update_expression(
                "SET owner_id = :me, pet = :pet, created_at = :now, updated_at = :now, visible_from = :vf, \
                 owners_so_far = :next, household = :hh REMOVE released_at",
            )
            .condition_expression(
                "attribute_exists(collar_id) AND attribute_not_exists(owner_id) AND claim_code_hash = :h \
                 AND (owners_so_far = :seen OR (attribute_not_exists(owners_so_far) AND :seen = :zero))",
            )
            .expression_attribute_values(":me", s(c.owner_id))
            .expression_attribute_values(":pet", s(pet_json(c.pet)?))
            .expression_attribute_values(":now", n(now_s))
            .expression_attribute_values(":vf", n(visible_from))
            .expression_attribute_values(":next", n(c.owners_seen + 1))
            .expression_attribute_values(":h", s(c.claim_code_hash))
            .expression_attribute_values(":seen", n(c.owners_seen))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":hh", s(c.household))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(sdk_err)?;
        out.attributes.as_ref().and_then(collar_from).ok_or_else(|| StoreError::Other("no attributes".into()))
    }

    /// How many collars `owner` holds (a `COUNT` query on the owner index).
    pub async fn count_of_owner(&self, owner: &str) -> Result<usize, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("owner_id-index")
            .key_condition_expression("owner_id = :o")
            .expression_attribute_values(":o", s(owner))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(usize::try_from(out.count).unwrap_or_default())
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

    /// Releases a collar `owner` owns, keeping its registration for the next owner;
    /// `ConditionFailed` otherwise.
    pub async fn release(&self, collar_id: &str, owner: &str, now: i64) -> Result<(), StoreError> {
        let update = "REMOVE owner_id, pet, created_at, updated_at, visible_from, household SET released_at = :now";
        self.update_if(collar_id, update, "owner_id = :me", [(":me", s(owner)), (":now", n(now))]).await
    }

    /// Hands the collar of `from` (with household `household`) to `to` under a new household:
    /// the pet, its history and its calibration go with it; every membership ends.
    /// `ConditionFailed` when the collar is no longer `from`'s or its household changed.
    pub async fn transfer(
        &self,
        collar_id: &str,
        from: &str,
        household: &str,
        to: &str,
        new_household: &str,
        now: i64,
    ) -> Result<Collar, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("collar_id", s(collar_id))
            .update_expression("SET owner_id = :to, household = :nh, created_at = :now, updated_at = :now")
            // A collar claimed before households existed has none stored (its id is derived).
            .condition_expression("owner_id = :from AND (household = :h OR attribute_not_exists(household))")
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":nh", s(new_household))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":h", s(household))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(sdk_err)?;
        out.attributes.as_ref().and_then(collar_from).ok_or_else(|| StoreError::Other("no attributes".into()))
    }
}
