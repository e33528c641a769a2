//! The refresh-families table: one item per session. `family_id` (S) → `user_id`,
//! `current_jti` (the one refresh token that may be presented next), `scopes` (at login; a
//! refresh reads the account's current scopes), `revoked`, `created_at`, `last_used_at`,
//! `user_agent`, `source` (the login's network, never the full address); TTL `expires_at`.
//! GSI `user_id-index` (`user_id`, projection ALL) lists a user's sessions.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use crate::dynamo::{Item, StoreError, get_bool, get_n, get_s, n, query_all, s, sdk_err, string_list};

/// The index of sessions by user.
pub const USER_INDEX: &str = "user_id-index";

/// What presenting a refresh token did to its family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: the family now expects the next one.
    Rotated { user_id: String },
    /// The token was already used: the family is now revoked.
    Reused { user_id: String },
    /// The family is revoked, expired or unknown.
    Dead,
}

/// A session's start: who, with which token, from where.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewSession {
    pub family_id: String,
    pub user_id: String,
    pub jti: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub source: Option<String>,
}

/// A stored session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    pub family_id: String,
    pub user_id: String,
    pub revoked: bool,
    pub created_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub source: Option<String>,
}

impl StoredSession {
    /// Not revoked and not expired at `now`.
    pub fn active(&self, now: i64) -> bool {
        !self.revoked && self.expires_at > now
    }

    fn from_item(i: &Item) -> Option<Self> {
        Some(Self {
            family_id: get_s(i, "family_id")?,
            user_id: get_s(i, "user_id").unwrap_or_default(),
            revoked: get_bool(i, "revoked").unwrap_or(true),
            created_at: get_n(i, "created_at"),
            last_used_at: get_n(i, "last_used_at").or_else(|| get_n(i, "rotated_at")),
            expires_at: get_n(i, "expires_at").unwrap_or_default(),
            user_agent: get_s(i, "user_agent"),
            source: get_s(i, "source"),
        })
    }

    /// The wire view.
    pub fn view(&self, current: Option<&str>) -> petty_api::Session {
        petty_api::Session {
            session_id: self.family_id.clone(),
            created_at: self.created_at,
            last_used_at: self.last_used_at.or(self.created_at),
            expires_at: self.expires_at,
            user_agent: self.user_agent.clone(),
            source: self.source.clone(),
            current: current == Some(self.family_id.as_str()),
        }
    }
}

/// The approximate source of a client address: its /24 (IPv4) or /48 (IPv6) network.
pub fn approximate_source(ip: &str) -> Option<String> {
    match ip.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
        }
        std::net::IpAddr::V6(v6) => {
            let seg = v6.segments();
            Some(format!("{:x}:{:x}:{:x}::/48", seg[0], seg[1], seg[2]))
        }
    }
}

/// The refresh-families table.
#[derive(Clone, Debug)]
pub struct SessionsTable {
    client: Client,
    table: String,
}

impl SessionsTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Starts a session whose current refresh token is `jti`.
    pub async fn create(&self, new: &NewSession) -> Result<(), StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("family_id", s(&new.family_id))
            .item("user_id", s(&new.user_id))
            .item("current_jti", s(&new.jti))
            .item("scopes", string_list(&new.scopes))
            .item("revoked", AttributeValue::Bool(false))
            .item("created_at", n(new.created_at))
            .item("last_used_at", n(new.created_at))
            .item("expires_at", n(new.expires_at))
            .condition_expression("attribute_not_exists(family_id)");
        for (k, v) in [("user_agent", &new.user_agent), ("source", &new.source)] {
            if let Some(v) = v {
                req = req.item(k, s(v));
            }
        }
        req.send().await.map_err(sdk_err)?;
        Ok(())
    }

    /// Consumes `presented` and makes `next` current, atomically; a token presented twice
    /// revokes the family (the stolen-token case).
    pub async fn rotate(&self, family: &str, presented: &str, next: &str, now: i64) -> Result<Rotation, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("family_id", s(family))
            .update_expression("SET current_jti = :next, last_used_at = :now")
            .condition_expression("current_jti = :presented AND revoked = :false AND expires_at > :now")
            .expression_attribute_values(":next", s(next))
            .expression_attribute_values(":presented", s(presented))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Rotation::Rotated {
                user_id: out.attributes.as_ref().and_then(|a| get_s(a, "user_id")).unwrap_or_default(),
            }),
            Err(err) => match sdk_err(err) {
                StoreError::ConditionFailed => {
                    let Some(current) = self.session(family).await? else { return Ok(Rotation::Dead) };
                    if !current.active(now) {
                        return Ok(Rotation::Dead);
                    }
                    self.revoke(family).await?;
                    Ok(Rotation::Reused { user_id: current.user_id })
                }
                other => Err(other),
            },
        }
    }

    /// The session, active or not.
    pub async fn session(&self, family: &str) -> Result<Option<StoredSession>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("family_id", s(family))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().and_then(StoredSession::from_item))
    }

    /// Revokes a family: its refresh tokens die, and so do its access tokens on auth routes.
    pub async fn revoke(&self, family: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("family_id", s(family))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(family_id)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// Revokes the user's session `family` if it is theirs and active; false otherwise.
    pub async fn revoke_of_user(&self, user_id: &str, family: &str, now: i64) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("family_id", s(family))
            .update_expression("SET revoked = :true")
            .condition_expression("user_id = :u AND revoked = :false AND expires_at > :now")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":u", s(user_id))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match out.map_err(sdk_err) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Every session of the user (the index is eventually consistent: a login of the last
    /// moment may be missing), newest first.
    pub async fn sessions_of(&self, user_id: &str) -> Result<Vec<StoredSession>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(USER_INDEX)
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", s(user_id));
        let mut all: Vec<StoredSession> = query_all(q).await?.iter().filter_map(StoredSession::from_item).collect();
        all.sort_by_key(|x| std::cmp::Reverse(x.created_at.unwrap_or_default()));
        Ok(all)
    }

    /// Revokes every active session of the user but `keep`; returns how many.
    pub async fn revoke_all_of_user(&self, user_id: &str, keep: Option<&str>, now: i64) -> Result<u32, StoreError> {
        let mut count = 0;
        for session in self.sessions_of(user_id).await? {
            if Some(session.family_id.as_str()) == keep || !session.active(now) {
                continue;
            }
            if self.revoke_of_user(user_id, &session.family_id, now).await? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// True when the family exists, is not revoked and has not expired.
    pub async fn active(&self, family: &str, now: i64) -> Result<bool, StoreError> {
        Ok(self.session(family).await?.is_some_and(|x| x.active(now)))
    }

    /// Deletes the session item (erasure).
    pub async fn delete(&self, family: &str) -> Result<(), StoreError> {
        self.client.delete_item().table_name(&self.table).key("family_id", s(family)).send().await.map_err(sdk_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_keep_only_the_network() {
        assert_eq!(approximate_source("203.0.113.77").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(approximate_source("2001:db8:1:2::99").as_deref(), Some("2001:db8:1::/48"));
        assert_eq!(approximate_source("not an ip"), None);
    }
}
