//! Petty's households function: a collar shared with family, caregivers and sitters. The
//! owner invites by e-mail (a single-use token valid 7 days, stored hashed, sent through
//! SES); the invitee accepts signed in with the invited, verified address; the owner changes
//! roles and end times, removes members (a member may leave) and hands the collar to a
//! caregiver. What each role may do is decided once, by `petty_shared::collar::access`.

pub mod config;
mod mailer;
pub mod rules;

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::api::format_ms;
use petty_shared::api::members::{self as wire, Role};
use petty_shared::api_key::hash_secret;
use petty_shared::audit::{self, AuditEvent, AuditStore};
use petty_shared::auth::{ApiKeyStore, Principal};
use petty_shared::collar::{Access, Collar, Need, access, new_household};
use petty_shared::dynamo::StoreError;
use petty_shared::edge::Edge;
use petty_shared::email::normalize_email;
use petty_shared::http::router::Matched;
use petty_shared::http::{
    ApiError, Handler, Invocation, RouteSpec, json_body, json_response, no_content, route, source_ip,
};
use petty_shared::metrics::Unit;
use petty_shared::secrets::{SecretCache, SecretSource};
use petty_shared::tables::api_keys::ApiKeysTable;
use petty_shared::tables::audit::AuditTable;
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::members::{
    AcceptError, INVITATION_TTL_S, MAX_MEMBERS, MembersTable, Membership, StoredInvitation,
};
use petty_shared::tables::users::UsersTable;

pub use config::HouseholdsConfig;
pub use mailer::{Mailer, SesMailer};
use rules::RuleError;

/// The service name in logs and metrics.
pub const SERVICE: &str = "households";
/// Households are managed by a person (never an API key) with this scope.
const MANAGE: &str = "collars:manage";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Invite,
    List,
    Update,
    Remove,
    Accept,
    Transfer,
}

/// The routing table (the template and router tests compare it with `template.yaml`).
pub const ROUTES: &[RouteSpec<Route>] = &[
    route("POST", "/v1/collars/{collar_id}/members", Route::Invite),
    route("GET", "/v1/collars/{collar_id}/members", Route::List),
    route("PATCH", "/v1/collars/{collar_id}/members/{user_id}", Route::Update),
    route("DELETE", "/v1/collars/{collar_id}/members/{user_id}", Route::Remove),
    route("POST", "/v1/invitations/accept", Route::Accept),
    route("POST", "/v1/collars/{collar_id}/transfer", Route::Transfer),
];

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn rule(e: RuleError) -> ApiError {
    ApiError::unprocessable(e.code, e.message)
}

fn no_member() -> ApiError {
    ApiError::NotFound("no such member".into())
}

fn invalid_token(why: &str) -> ApiError {
    ApiError::bad_request("invalid_token", format!("the invitation {why}"))
}

/// The handler over the collars, members and users tables and a mailer.
pub struct HouseholdsApp<S, M = SesMailer, K = ApiKeysTable, A = AuditTable> {
    edge: Edge<S, K, A>,
    collars: CollarsTable,
    members: MembersTable,
    users: UsersTable,
    mailer: M,
    collars_per_account: usize,
}

impl<S: SecretSource, M: Mailer> HouseholdsApp<S, M> {
    /// Wires the handler; called once at cold start.
    pub fn new(
        cfg: &HouseholdsConfig,
        dynamodb: aws_sdk_dynamodb::Client,
        mailer: M,
        secrets: Arc<SecretCache<S>>,
    ) -> Self {
        let members = MembersTable::new(dynamodb.clone(), cfg.members_table.clone());
        Self {
            edge: Edge::new(&cfg.common, &cfg.routes, dynamodb.clone(), secrets),
            collars: CollarsTable::new(dynamodb.clone(), cfg.collars_table.clone()).with_members(members.clone()),
            members,
            users: UsersTable::new(dynamodb, cfg.users_table.clone()),
            mailer,
            collars_per_account: cfg.collars_per_account,
        }
    }
}

impl<S, M, K, A> HouseholdsApp<S, M, K, A>
where
    S: SecretSource,
    M: Mailer,
    K: ApiKeyStore,
    A: AuditStore + Clone,
{
    async fn audit(&self, req: &Request, action: &str, principal: &Principal, detail: String) {
        let event =
            AuditEvent::now(action, "success", Some(&principal.user_id), source_ip(req).as_deref()).with_detail(detail);
        audit::emit(&self.edge.audit, event).await;
    }

    async fn access(&self, principal: &Principal, m: &Matched<Route>, need: Need) -> Result<Access, ApiError> {
        access(&self.collars, principal, m.param("collar_id"), need).await
    }

    /// The household's memberships that count now, by when they joined.
    async fn current_members(&self, collar: &Collar) -> Result<Vec<Membership>, ApiError> {
        let now_s = now_ms() / 1000;
        let mut all: Vec<Membership> = self
            .members
            .members(&collar.collar_id)
            .await?
            .into_iter()
            .filter(|m| m.active(&collar.household, now_s))
            .collect();
        all.sort_by_key(|m| (m.joined_ms, m.user_id.clone()));
        Ok(all)
    }

    /// One person as the caller sees them (addresses only for the owner).
    async fn person(
        &self,
        user_id: &str,
        role: Role,
        since_ms: i64,
        ends_at: Option<i64>,
        emails: bool,
    ) -> Result<wire::Member, ApiError> {
        let user = self.users.person(user_id).await?;
        Ok(wire::Member {
            user_id: user_id.to_owned(),
            name: user.as_ref().and_then(|u| u.name.clone()).unwrap_or_default(),
            role,
            email: if emails { user.map(|u| u.email) } else { None },
            since: format_ms(since_ms),
            expires_at: ends_at.map(|s| format_ms(s * 1000)),
        })
    }

    fn member_view(&self, m: &Membership, emails: bool) -> impl Future<Output = Result<wire::Member, ApiError>> + '_ {
        let m = m.clone();
        async move { self.person(&m.user_id, m.role, m.joined_ms, m.ends_at, emails).await }
    }

    async fn member_list(&self, collar: &Collar, role: Role) -> Result<wire::MemberList, ApiError> {
        let emails = role == Role::Owner;
        let mut members =
            vec![self.person(&collar.owner_id, Role::Owner, collar.created_at * 1000, None, emails).await?];
        for m in self.current_members(collar).await? {
            members.push(self.member_view(&m, emails).await?);
        }
        Ok(wire::MemberList { collar_id: collar.collar_id.clone(), role, members })
    }

    async fn list(&self, req: &Request, m: &Matched<Route>) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let Access { collar, role } = self.access(&principal, m, Need::Read).await?;
        json_response(StatusCode::OK, &self.member_list(&collar, role).await?)
    }

    async fn invite(&self, req: &Request, m: &Matched<Route>, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let Access { collar, .. } = self.access(&principal, m, Need::ManageMembers).await?;
        let body: wire::InviteMember = json_body(req)?;
        let email = normalize_email(&body.email)?;
        let role = rules::member_role(body.role).map_err(rule)?;
        let now = now_ms();
        let ends_at = body
            .expires_at
            .as_deref()
            .map(|e| rules::membership_end(e, now / 1000, false))
            .transpose()
            .map_err(rule)?;
        let owner = self.users.person(&collar.owner_id).await?;
        if owner.as_ref().is_some_and(|o| o.email == email) {
            return Err(ApiError::ConflictCode {
                code: "already_owner",
                message: "that is the owner's own address".into(),
            });
        }
        if self.current_members(&collar).await?.len() >= MAX_MEMBERS {
            return Err(ApiError::ConflictCode {
                code: "household_full",
                message: format!("a household has at most {MAX_MEMBERS} members besides the owner"),
            });
        }
        let day = now / 86_400_000;
        if self.members.count_invitation(&collar.collar_id, day).await? > rules::INVITATIONS_PER_DAY {
            return Err(ApiError::TooManyRequests { retry_after_s: ((day + 1) * 86_400 - now / 1000).max(1) as u64 });
        }
        let token = zeroize::Zeroizing::new(rules::new_token());
        let invitation = StoredInvitation {
            token_hash: hash_secret(&token),
            collar_id: collar.collar_id.clone(),
            household: collar.household.clone(),
            email: email.clone(),
            role,
            ends_at,
            invited_by: principal.user_id.clone(),
            created_ms: now,
            valid_until: now / 1000 + INVITATION_TTL_S,
            accepted_by: None,
        };
        self.members.put_invitation(&invitation).await?;
        let inviter = owner.and_then(|o| o.name).unwrap_or_else(|| "A Petty user".into());
        let (subject, text) =
            rules::invitation_email(&inviter, &collar.pet.name, role, &token, INVITATION_TTL_S / 86_400);
        self.mailer.send_email(&email, &subject, &text).await?;
        self.audit(req, "member_invited", &principal, format!("{} {role}", collar.collar_id)).await;
        inv.metric_with("InvitationsSent", Unit::Count, 1.0, &[("role", role.as_str())]);
        let answer = wire::Invitation {
            collar_id: collar.collar_id,
            email,
            role,
            expires_at: ends_at.map(|s| format_ms(s * 1000)),
            valid_until: format_ms(invitation.valid_until * 1000),
        };
        json_response(StatusCode::CREATED, &answer)
    }

    async fn accept(&self, req: &Request, metrics: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let body: wire::AcceptInvitation = json_body(req)?;
        if !rules::is_token(&body.token) {
            return Err(invalid_token("token is malformed"));
        }
        let inv =
            self.members.invitation(&hash_secret(&body.token)).await?.ok_or_else(|| invalid_token("is unknown"))?;
        let now = now_ms();
        if inv.accepted_by.is_some() {
            return Err(invalid_token("was already used"));
        }
        if inv.valid_until <= now / 1000 {
            return Err(invalid_token("has expired"));
        }
        let user = self
            .users
            .person(&principal.user_id)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| ApiError::Unauthorized("the account is gone".into()))?;
        if user.email != inv.email {
            return Err(ApiError::Forbidden(
                "this invitation is for another e-mail address: sign in with that one".into(),
            ));
        }
        if !user.email_verified {
            return Err(ApiError::Forbidden("verify your e-mail address first (POST /v1/auth/verify-email)".into()));
        }
        let collar = match self.collars.collar(&inv.collar_id).await? {
            Some(c) if c.household == inv.household => c,
            _ => return Err(invalid_token("is for a household that has ended")),
        };
        if collar.owner_id == principal.user_id {
            return Err(ApiError::ConflictCode { code: "already_owner", message: "you own this collar".into() });
        }
        if inv.ends_at.is_some_and(|end| end <= now / 1000) {
            return Err(invalid_token("is for a membership that has already ended"));
        }
        let current = self.current_members(&collar).await?;
        if current.len() >= MAX_MEMBERS && !current.iter().any(|m| m.user_id == principal.user_id) {
            return Err(ApiError::ConflictCode { code: "household_full", message: "the household is full".into() });
        }
        let membership = Membership {
            collar_id: collar.collar_id.clone(),
            user_id: principal.user_id.clone(),
            role: inv.role,
            household: collar.household.clone(),
            joined_ms: now,
            invited_by: inv.invited_by.clone(),
            ends_at: inv.ends_at,
        };
        match self.members.accept(&inv, &membership).await {
            Ok(()) => {}
            Err(AcceptError::Used) => return Err(invalid_token("was already used")),
            Err(AcceptError::Store(e)) => return Err(e.into()),
        }
        self.audit(req, "member_joined", &principal, format!("{} {}", collar.collar_id, inv.role)).await;
        metrics.metric_with("InvitationsAccepted", Unit::Count, 1.0, &[("role", inv.role.as_str())]);
        json_response(StatusCode::OK, &self.member_list(&collar, inv.role).await?)
    }

    async fn update(&self, req: &Request, m: &Matched<Route>) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let Access { collar, .. } = self.access(&principal, m, Need::ManageMembers).await?;
        let body: wire::UpdateMember = json_body(req)?;
        if body.role.is_none() && body.expires_at.is_none() {
            return Err(ApiError::bad_request("empty_update", "give `role` and/or `expires_at`"));
        }
        let user_id = m.param("user_id");
        if user_id == collar.owner_id {
            return Err(ApiError::ConflictCode {
                code: "owner_is_not_a_member",
                message: "the owner's role changes only by a transfer".into(),
            });
        }
        let role = body.role.map(rules::member_role).transpose().map_err(rule)?;
        let now_s = now_ms() / 1000;
        let ends_at = match body.expires_at {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) => Some(Some(rules::membership_end(&raw, now_s, true).map_err(rule)?)),
        };
        // An ended membership is gone, like one that never was (the owner invites again).
        match self.members.membership(&collar.collar_id, user_id).await? {
            Some(current) if current.active(&collar.household, now_s) => {}
            _ => return Err(no_member()),
        }
        let updated =
            match self.members.update_member(&collar.collar_id, user_id, &collar.household, role, ends_at).await {
                Err(StoreError::ConditionFailed) => return Err(no_member()),
                other => other?,
            };
        self.audit(req, "member_updated", &principal, format!("{} {user_id} {}", collar.collar_id, updated.role)).await;
        json_response(StatusCode::OK, &self.member_view(&updated, true).await?)
    }

    async fn remove(&self, req: &Request, m: &Matched<Route>, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let user_id = m.param("user_id");
        // A member may leave; removing anyone else is the owner's.
        let need = if user_id == principal.user_id { Need::Read } else { Need::ManageMembers };
        let Access { collar, role } = self.access(&principal, m, need).await?;
        if user_id == collar.owner_id {
            let message = if role == Role::Owner {
                "the owner leaves by releasing or transferring the collar"
            } else {
                "the owner cannot be removed"
            };
            return Err(ApiError::ConflictCode { code: "owner_is_not_a_member", message: message.into() });
        }
        let now_s = now_ms() / 1000;
        match self.members.remove_member(&collar.collar_id, user_id).await? {
            Some(old) if old.active(&collar.household, now_s) => {}
            _ => return Err(no_member()),
        }
        let action = if user_id == principal.user_id { "member_left" } else { "member_removed" };
        self.audit(req, action, &principal, format!("{} {user_id}", collar.collar_id)).await;
        inv.metric("MembersRemoved", Unit::Count, 1.0);
        Ok(no_content())
    }

    async fn transfer(&self, req: &Request, m: &Matched<Route>, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let Access { collar, .. } = self.access(&principal, m, Need::ManageMembers).await?;
        let body: wire::TransferCollar = json_body(req)?;
        let now_s = now_ms() / 1000;
        let target = self.members.membership(&collar.collar_id, &body.user_id).await?;
        if !target.as_ref().is_some_and(|t| t.role == Role::Caregiver && t.active(&collar.household, now_s)) {
            return Err(ApiError::ConflictCode {
                code: "not_a_caregiver",
                message: "a collar is transferred to a current caregiver of its household".into(),
            });
        }
        if !self.users.person(&body.user_id).await?.is_some_and(|u| u.active) {
            return Err(ApiError::ConflictCode { code: "not_a_caregiver", message: "that account is closed".into() });
        }
        if self.collars.count_of_owner(&body.user_id).await? >= self.collars_per_account {
            return Err(ApiError::ConflictCode {
                code: "collar_limit",
                message: format!("they already hold {} collars, the most an account may", self.collars_per_account),
            });
        }
        let moved = match self
            .collars
            .transfer(&collar.collar_id, &collar.owner_id, &collar.household, &body.user_id, &new_household(), now_s)
            .await
        {
            Err(StoreError::ConditionFailed) => return Err(petty_shared::collar::not_found()),
            other => other?,
        };
        // The new household id already ended every membership; this clears their items.
        self.members.end_household(&collar.collar_id).await?;
        self.audit(req, "collar_transferred", &principal, format!("{} {}", collar.collar_id, body.user_id)).await;
        inv.metric("CollarsTransferred", Unit::Count, 1.0);
        let answer = wire::Transferred {
            collar_id: moved.collar_id,
            owner_user_id: moved.owner_id,
            transferred_at: format_ms(now_s * 1000),
        };
        json_response(StatusCode::OK, &answer)
    }
}

impl<S, M, K, A> Handler for HouseholdsApp<S, M, K, A>
where
    S: SecretSource,
    M: Mailer,
    K: ApiKeyStore,
    A: AuditStore + Clone,
{
    async fn handle(&self, req: Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let m = petty_shared::http::router::find(ROUTES, &req)?;
        match m.route {
            Route::Invite => Box::pin(self.invite(&req, &m, inv)).await,
            Route::List => Box::pin(self.list(&req, &m)).await,
            Route::Update => Box::pin(self.update(&req, &m)).await,
            Route::Remove => Box::pin(self.remove(&req, &m, inv)).await,
            Route::Accept => Box::pin(self.accept(&req, inv)).await,
            Route::Transfer => Box::pin(self.transfer(&req, &m, inv)).await,
        }
    }
}
