//! The members table: each collar's household (who besides the owner shares it, with which
//! role) and the invitations that bring people in. Partition `pk` (S), sort key `sk` (S):
//!
//! - `collar#<collar_id>` / `member#<user_id>`: one membership: `collar_id`, `user_id`,
//!   `role` (`caregiver`|`viewer`), `household` (the collar's household id when they joined),
//!   `joined_ms`, `invited_by`, and for a membership with an end `ends_at` (Unix s), which is
//!   also the TTL attribute `expires_at`: DynamoDB removes it some time after it ended; every
//!   request checks `ends_at` itself.
//! - `invite#<sha256 of the token>` / `invite`: an open invitation (never the token):
//!   `collar_id`, `household`, `email`, `role`, `ends_at` (of the membership, if any),
//!   `invited_by`, `created_ms`, `valid_until` (Unix s), TTL `expires_at` a day after that; once
//!   used, `accepted_by`.
//!
//! - `collar#<collar_id>` / `invites#<UTC day>`: `count` of invitations sent that day, TTL
//!   `expires_at` two days on (a cap on the e-mail an owner can make Petty send).
//!
//! GSI `user_id-index` (`user_id`, `collar_id`) is sparse: only memberships carry `user_id`
//! ("the collars shared with me").
//!
//! A membership counts only while its `household` equals the collar's: a release or a
//! transfer gives the collar a new household (or none), which ends every membership at once,
//! before the items themselves are deleted.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use petty_api::members::Role;

use crate::dynamo::{Item, StoreError, TransactError, get_n, get_s, n, query_all, s, sdk_err, transact};

/// How long an invitation can be accepted.
pub const INVITATION_TTL_S: i64 = 7 * 24 * 3600;
/// The most members (besides the owner) a household has.
pub const MAX_MEMBERS: usize = 20;

mod attr {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const COLLAR_ID: &str = "collar_id";
    pub const USER_ID: &str = "user_id";
    pub const ROLE: &str = "role";
    pub const HOUSEHOLD: &str = "household";
    pub const JOINED_MS: &str = "joined_ms";
    pub const INVITED_BY: &str = "invited_by";
    pub const ENDS_AT: &str = "ends_at";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const EMAIL: &str = "email";
    pub const CREATED_MS: &str = "created_ms";
    pub const VALID_UNTIL: &str = "valid_until";
    pub const ACCEPTED_BY: &str = "accepted_by";
}

const INVITE_SK: &str = "invite";

fn collar_pk(collar_id: &str) -> String {
    format!("collar#{collar_id}")
}

fn member_sk(user_id: &str) -> String {
    format!("member#{user_id}")
}

fn invite_pk(token_hash: &str) -> String {
    format!("invite#{token_hash}")
}

fn key(pk: String, sk: String) -> Item {
    Item::from([(attr::PK.to_owned(), s(pk)), (attr::SK.to_owned(), s(sk))])
}

/// One person's membership of a collar's household.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub collar_id: String,
    pub user_id: String,
    pub role: Role,
    /// The collar's household when they joined: it counts only while that is still the collar's.
    pub household: String,
    pub joined_ms: i64,
    pub invited_by: String,
    /// When it ends by itself (Unix s).
    pub ends_at: Option<i64>,
}

impl Membership {
    /// Whether it still counts for a collar of `household` at `now_s`.
    pub fn active(&self, household: &str, now_s: i64) -> bool {
        self.household == household && self.ends_at.is_none_or(|end| end > now_s)
    }

    fn to_item(&self) -> Item {
        let mut item = key(collar_pk(&self.collar_id), member_sk(&self.user_id));
        item.insert(attr::COLLAR_ID.into(), s(&self.collar_id));
        item.insert(attr::USER_ID.into(), s(&self.user_id));
        item.insert(attr::ROLE.into(), s(self.role.as_str()));
        item.insert(attr::HOUSEHOLD.into(), s(&self.household));
        item.insert(attr::JOINED_MS.into(), n(self.joined_ms));
        item.insert(attr::INVITED_BY.into(), s(&self.invited_by));
        if let Some(end) = self.ends_at {
            item.insert(attr::ENDS_AT.into(), n(end));
            item.insert(attr::EXPIRES_AT.into(), n(end));
        }
        item
    }
}

fn membership_from(item: &Item) -> Option<Membership> {
    Some(Membership {
        collar_id: get_s(item, attr::COLLAR_ID)?,
        user_id: get_s(item, attr::USER_ID)?,
        role: Role::parse(&get_s(item, attr::ROLE)?).filter(|r| *r != Role::Owner)?,
        household: get_s(item, attr::HOUSEHOLD)?,
        joined_ms: get_n(item, attr::JOINED_MS).unwrap_or_default(),
        invited_by: get_s(item, attr::INVITED_BY).unwrap_or_default(),
        ends_at: get_n(item, attr::ENDS_AT),
    })
}

/// An invitation as stored: by the hash of its token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredInvitation {
    pub token_hash: String,
    pub collar_id: String,
    pub household: String,
    /// The invited address, normalised.
    pub email: String,
    pub role: Role,
    /// The membership's end, if it has one (Unix s).
    pub ends_at: Option<i64>,
    pub invited_by: String,
    pub created_ms: i64,
    /// Acceptable until (Unix s).
    pub valid_until: i64,
    pub accepted_by: Option<String>,
}

fn invitation_from(item: &Item) -> Option<StoredInvitation> {
    Some(StoredInvitation {
        token_hash: get_s(item, attr::PK)?.strip_prefix("invite#")?.to_owned(),
        collar_id: get_s(item, attr::COLLAR_ID)?,
        household: get_s(item, attr::HOUSEHOLD)?,
        email: get_s(item, attr::EMAIL)?,
        role: Role::parse(&get_s(item, attr::ROLE)?)?,
        ends_at: get_n(item, attr::ENDS_AT),
        invited_by: get_s(item, attr::INVITED_BY)?,
        created_ms: get_n(item, attr::CREATED_MS)?,
        valid_until: get_n(item, attr::VALID_UNTIL)?,
        accepted_by: get_s(item, attr::ACCEPTED_BY),
    })
}

/// Why an invitation was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// Used meanwhile (a concurrent accept won).
    #[error("the invitation was already used")]
    Used,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The members table.
#[derive(Clone, Debug)]
pub struct MembersTable {
    client: Client,
    table: String,
}

impl MembersTable {
    /// Over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item)
    }

    /// `user_id`'s membership of the collar, whatever its state (one consistent `GetItem`).
    pub async fn membership(&self, collar_id: &str, user_id: &str) -> Result<Option<Membership>, StoreError> {
        Ok(self.get(key(collar_pk(collar_id), member_sk(user_id))).await?.as_ref().and_then(membership_from))
    }

    /// Every stored membership of the collar (one query; a household is small).
    pub async fn members(&self, collar_id: &str) -> Result<Vec<Membership>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :m)")
            .expression_attribute_values(":pk", s(collar_pk(collar_id)))
            .expression_attribute_values(":m", s("member#"))
            .consistent_read(true);
        Ok(query_all(query).await?.iter().filter_map(membership_from).collect())
    }

    /// Every stored membership of `user_id`, by collar (the user index: eventually consistent,
    /// so callers check each against its collar).
    pub async fn memberships_of(&self, user_id: &str) -> Result<Vec<Membership>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("user_id-index")
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", s(user_id));
        Ok(query_all(query).await?.iter().filter_map(membership_from).collect())
    }

    /// Stores a new invitation (its token's hash is unique: 256 random bits).
    pub async fn put_invitation(&self, inv: &StoredInvitation) -> Result<(), StoreError> {
        let mut item = key(invite_pk(&inv.token_hash), INVITE_SK.into());
        item.insert(attr::COLLAR_ID.into(), s(&inv.collar_id));
        item.insert(attr::HOUSEHOLD.into(), s(&inv.household));
        item.insert(attr::EMAIL.into(), s(&inv.email));
        item.insert(attr::ROLE.into(), s(inv.role.as_str()));
        item.insert(attr::INVITED_BY.into(), s(&inv.invited_by));
        item.insert(attr::CREATED_MS.into(), n(inv.created_ms));
        item.insert(attr::VALID_UNTIL.into(), n(inv.valid_until));
        item.insert(attr::EXPIRES_AT.into(), n(inv.valid_until + 24 * 3600));
        if let Some(end) = inv.ends_at {
            item.insert(attr::ENDS_AT.into(), n(end));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// Counts one more invitation from the collar on `day` (UTC days since the epoch); the
    /// count including this one (one atomic `ADD`).
    pub async fn count_invitation(&self, collar_id: &str, day: i64) -> Result<i64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(collar_pk(collar_id), format!("invites#{day}"))))
            .update_expression("ADD #c :one SET expires_at = :exp")
            .expression_attribute_names("#c", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n((day + 2) * 86_400))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.attributes.as_ref().and_then(|a| get_n(a, "count")).unwrap_or(1))
    }

    /// The invitation whose token hashes to `token_hash`, used or not.
    pub async fn invitation(&self, token_hash: &str) -> Result<Option<StoredInvitation>, StoreError> {
        Ok(self.get(key(invite_pk(token_hash), INVITE_SK.into())).await?.as_ref().and_then(invitation_from))
    }

    /// Uses the invitation and stores the membership, in one transaction: a token joins once,
    /// however many accepts race (a membership the user had is replaced).
    pub async fn accept(&self, inv: &StoredInvitation, member: &Membership) -> Result<(), AcceptError> {
        let used = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(invite_pk(&inv.token_hash), INVITE_SK.into())))
            .update_expression("SET accepted_by = :u, accepted_ms = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(accepted_by)")
            .expression_attribute_values(":u", s(&member.user_id))
            .expression_attribute_values(":now", n(member.joined_ms))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(member.to_item()))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let items =
            vec![TransactWriteItem::builder().update(used).build(), TransactWriteItem::builder().put(put).build()];
        match transact(&self.client, items).await {
            Ok(()) => Ok(()),
            Err(TransactError::Conditions(_)) => Err(AcceptError::Used),
            Err(TransactError::Store(e)) => Err(e.into()),
        }
    }

    /// Changes a membership of `household`: its role and/or its end (`Some(None)` clears it);
    /// `ConditionFailed` when there is no such membership.
    pub async fn update_member(
        &self,
        collar_id: &str,
        user_id: &str,
        household: &str,
        role: Option<Role>,
        ends_at: Option<Option<i64>>,
    ) -> Result<Membership, StoreError> {
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        let mut values: Vec<(&str, AttributeValue)> = vec![(":h", s(household))];
        if let Some(r) = role {
            sets.push("#r = :r");
            values.push((":r", s(r.as_str())));
        }
        match ends_at {
            Some(Some(end)) => {
                sets.push("ends_at = :e, expires_at = :e");
                values.push((":e", n(end)));
            }
            Some(None) => removes.push("ends_at, expires_at"),
            None => {}
        }
        let mut expression = String::new();
        if !sets.is_empty() {
            expression.push_str(&format!("SET {}", sets.join(", ")));
        }
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(collar_pk(collar_id), member_sk(user_id))))
            .update_expression(expression.trim())
            .condition_expression("household = :h")
            .return_values(ReturnValue::AllNew);
        if role.is_some() {
            req = req.expression_attribute_names("#r", attr::ROLE);
        }
        for (name, value) in values {
            req = req.expression_attribute_values(name, value);
        }
        let out = req.send().await.map_err(sdk_err)?;
        out.attributes.as_ref().and_then(membership_from).ok_or_else(|| StoreError::Other("no attributes".into()))
    }

    /// Removes a membership; the removed one, if there was one.
    pub async fn remove_member(&self, collar_id: &str, user_id: &str) -> Result<Option<Membership>, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(collar_pk(collar_id), member_sk(user_id))))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.attributes.as_ref().and_then(membership_from))
    }

    /// Deletes every membership of the collar (after a release or a transfer, which already
    /// ended them by changing the household); how many there were.
    pub async fn end_household(&self, collar_id: &str) -> Result<usize, StoreError> {
        self.delete_all(self.members(collar_id).await?).await
    }

    /// Deletes every membership `user_id` holds (an erased account); how many there were.
    pub async fn remove_user(&self, user_id: &str) -> Result<usize, StoreError> {
        self.delete_all(self.memberships_of(user_id).await?).await
    }

    /// Deletes these memberships' items in batches (`delete_keys`); how many.
    async fn delete_all(&self, memberships: Vec<Membership>) -> Result<usize, StoreError> {
        let keys = memberships.iter().map(|m| key(collar_pk(&m.collar_id), member_sk(&m.user_id))).collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        crate::dynamo::delete_keys(&self.client, &self.table, keys, deadline).await
    }
}
