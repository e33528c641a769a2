//! The household routes against a local server: the method, path and body each call sends,
//! what it makes of the answers, and which calls are retried.

mod support;

use petty_client::Error;
use petty_client::types::{Role, UpdateMember};
use serde_json::{Value, json};
use support::{Reply, Server, error, owner};

const MEMBER: &str = "6f1c2b7a-9d8e-4f60-a1b2-c3d4e5f60718";

fn member(role: &str, email: Option<&str>, expires_at: Option<&str>) -> Value {
    let mut m = json!({"user_id": MEMBER, "name": "Bea", "role": role, "since": "2026-12-01T08:00:00.000Z",
        "expires_at": expires_at});
    if let Some(e) = email {
        m["email"] = json!(e);
    }
    m
}

fn household(role: &str) -> Value {
    json!({"collar_id": "DM-000001", "role": role, "members": [
        {"user_id": "owner-1", "name": "Ada", "role": "owner", "since": "2026-11-01T08:00:00.000Z", "expires_at": null},
        member("viewer", None, Some("2027-01-01T00:00:00.000Z")),
    ]})
}

fn body(seen: &support::Seen) -> Value {
    serde_json::from_str(&seen.body).unwrap()
}

#[tokio::test]
async fn an_invitation_is_posted_once_with_its_end_only_when_given() {
    let server = Server::start(|n, req| match (n, req.method.as_str(), req.path.as_str()) {
        (0, _, _) => Reply::Json(503, error("unavailable")),
        (_, "POST", "/v1/collars/DM-000001/members") => {
            let sent: Value = serde_json::from_str(&req.body).unwrap();
            Reply::Json(
                201,
                json!({"collar_id": "DM-000001", "email": sent["email"], "role": sent["role"],
                    "expires_at": sent.get("expires_at").cloned().unwrap_or(Value::Null),
                    "valid_until": "2026-12-08T08:00:00.000Z"}),
            )
        }
        _ => Reply::Json(404, error("not_found")),
    })
    .await;
    let client = owner(&server);
    let err = client.invite_member("DM-000001", "bea@example.com", Role::Viewer, None).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.count(), 1, "an invitation is not retried: it would mail a second token");

    let inv = client.invite_member("DM-000001", "bea@example.com", Role::Viewer, None).await.unwrap();
    assert_eq!((inv.role, inv.expires_at, inv.valid_until.as_str()), (Role::Viewer, None, "2026-12-08T08:00:00.000Z"));
    let inv = client
        .invite_member("DM-000001", "bea@example.com", Role::Caregiver, Some("2027-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!((inv.role, inv.expires_at.as_deref()), (Role::Caregiver, Some("2027-01-01T00:00:00Z")));

    let seen = server.seen();
    assert_eq!((seen[1].method.as_str(), seen[1].path.as_str()), ("POST", "/v1/collars/DM-000001/members"));
    assert_eq!(seen[1].header("authorization"), Some("Bearer owner"));
    assert_eq!(body(&seen[1]), json!({"email": "bea@example.com", "role": "viewer"}), "no end: no expires_at at all");
    assert_eq!(
        body(&seen[2]),
        json!({"email": "bea@example.com", "role": "caregiver", "expires_at": "2027-01-01T00:00:00Z"})
    );
}

#[tokio::test]
async fn a_household_is_listed_with_roles_and_addresses_only_when_shown() {
    let server = Server::start(|n, req| match (n, req.path.as_str()) {
        (0, _) => Reply::Json(503, error("unavailable")),
        (_, "/v1/collars/DM-000001/members") => Reply::Json(200, household("viewer")),
        _ => Reply::Json(404, error("not_found")),
    })
    .await;
    let client = owner(&server);
    let list = client.members("DM-000001").await.unwrap();
    assert_eq!(server.count(), 2, "a list is retried after a 503");
    assert_eq!((list.collar_id.as_str(), list.role), ("DM-000001", Role::Viewer));
    let roles: Vec<_> = list.members.iter().map(|m| (m.name.as_str(), m.role)).collect();
    assert_eq!(roles, [("Ada", Role::Owner), ("Bea", Role::Viewer)]);
    assert!(list.members.iter().all(|m| m.email.is_none()), "a viewer sees no addresses");
    assert_eq!(list.members[0].expires_at, None);
    assert_eq!(list.members[1].expires_at.as_deref(), Some("2027-01-01T00:00:00.000Z"));
    assert_eq!(server.seen()[1].method, "GET");

    let err = client.members("XX-999999").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, ref code, .. } if code == "not_found"), "{err:?}");
    assert!(matches!(client.members("DM/1").await, Err(Error::Invalid(_))));
    assert_eq!(server.count(), 3, "a bad id is refused before anything is sent");
}

#[tokio::test]
async fn an_update_tells_a_cleared_end_from_one_left_alone() {
    let server = Server::start(|_, req| {
        let sent: Value = serde_json::from_str(&req.body).unwrap();
        let role = sent.get("role").and_then(Value::as_str).unwrap_or("viewer").to_owned();
        let end = match sent.get("expires_at") {
            None => Some("2027-01-01T00:00:00.000Z"),
            Some(Value::Null) => None,
            Some(_) => Some("2027-02-01T00:00:00.000Z"),
        };
        Reply::Json(200, member(&role, Some("bea@example.com"), end))
    })
    .await;
    let client = owner(&server);
    let promoted = client
        .update_member("DM-000001", MEMBER, &UpdateMember { role: Some(Role::Caregiver), expires_at: None })
        .await
        .unwrap();
    assert_eq!((promoted.role, promoted.expires_at.as_deref()), (Role::Caregiver, Some("2027-01-01T00:00:00.000Z")));
    assert_eq!(promoted.email.as_deref(), Some("bea@example.com"));
    let cleared =
        client.update_member("DM-000001", MEMBER, &UpdateMember { role: None, expires_at: Some(None) }).await.unwrap();
    assert_eq!(cleared.expires_at, None);
    let set = UpdateMember { role: None, expires_at: Some(Some("2027-02-01T00:00:00Z".into())) };
    let moved = client.update_member("DM-000001", MEMBER, &set).await.unwrap();
    assert_eq!(moved.expires_at.as_deref(), Some("2027-02-01T00:00:00.000Z"));

    let seen = server.seen();
    assert!(seen.iter().all(|s| s.method == "PATCH" && s.path == format!("/v1/collars/DM-000001/members/{MEMBER}")));
    assert_eq!(body(&seen[0]), json!({"role": "caregiver"}), "absent: the end stays");
    assert_eq!(seen[1].body, r#"{"expires_at":null}"#, "null: the end is cleared");
    assert_eq!(body(&seen[2]), json!({"expires_at": "2027-02-01T00:00:00Z"}));
    assert!(matches!(client.update_member("DM-000001", "a/b", &set).await, Err(Error::Invalid(_))));
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn a_member_is_removed_and_a_missing_one_is_a_404() {
    let server = Server::start(|_, req| match (req.method.as_str(), req.path.as_str()) {
        ("DELETE", p) if p == format!("/v1/collars/DM-000001/members/{MEMBER}") => Reply::Empty(204),
        _ => Reply::Json(404, error("not_found")),
    })
    .await;
    let client = owner(&server);
    client.remove_member("DM-000001", MEMBER).await.unwrap();
    let err = client.remove_member("DM-000001", "someone-else").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");
    let seen = server.seen();
    assert_eq!((seen.len(), seen[0].body.as_str()), (2, ""), "a 404 is not retried; a DELETE has no body");
}

#[tokio::test]
async fn an_invitation_is_accepted_once_and_refusals_decoded() {
    let server = Server::start(|n, req| match (n, req.path.as_str()) {
        (0, "/v1/invitations/accept") => Reply::Json(200, household("viewer")),
        (1, _) => Reply::Json(400, error("invalid_token")),
        _ => Reply::Json(503, error("unavailable")),
    })
    .await;
    let client = owner(&server);
    let joined = client.accept_invitation("pinv_abc").await.unwrap();
    assert_eq!((joined.collar_id.as_str(), joined.role, joined.members.len()), ("DM-000001", Role::Viewer, 2));
    let err = client.accept_invitation("pinv_abc").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 400, ref code, .. } if code == "invalid_token"), "{err:?}");
    let err = client.accept_invitation("pinv_def").await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "an accept is not retried: the token works once");
    assert_eq!((seen[0].method.as_str(), seen[0].header("authorization")), ("POST", Some("Bearer owner")));
    assert_eq!(body(&seen[0]), json!({"token": "pinv_abc"}));
}

#[tokio::test]
async fn a_transfer_posts_the_new_owner_and_is_not_retried() {
    let server = Server::start(|n, req| match (n, req.path.as_str()) {
        (0, "/v1/collars/DM-000001/transfer") => Reply::Json(
            200,
            json!({"collar_id": "DM-000001", "owner_user_id": MEMBER, "transferred_at": "2026-12-01T09:00:00.000Z"}),
        ),
        (1, _) => Reply::Json(409, error("not_a_caregiver")),
        _ => Reply::Json(502, error("bad_gateway")),
    })
    .await;
    let client = owner(&server);
    let moved = client.transfer_collar("DM-000001", MEMBER).await.unwrap();
    assert_eq!((moved.owner_user_id.as_str(), moved.transferred_at.as_str()), (MEMBER, "2026-12-01T09:00:00.000Z"));
    let err = client.transfer_collar("DM-000001", "viewer-1").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 409, ref code, .. } if code == "not_a_caregiver"), "{err:?}");
    assert_eq!(client.transfer_collar("DM-000001", MEMBER).await.unwrap_err().status(), Some(502));
    assert!(matches!(client.transfer_collar("DM-000001", "a b").await, Err(Error::Invalid(_))));
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "a transfer is not retried, and a bad user id is refused first");
    assert_eq!(seen[0].method, "POST");
    assert_eq!(body(&seen[0]), json!({"user_id": MEMBER}));
}

#[tokio::test]
async fn collars_carry_the_callers_role() {
    let server = Server::start(|_, _| {
        Reply::Json(
            200,
            json!({"collars": [{"collar_id": "DM-000001", "role": "caregiver", "claimed_at": "t", "updated_at": "t",
                "pet": {"name": "Rex", "species": "dog", "weight_kg": 30.0}}], "next_cursor": null}),
        )
    })
    .await;
    let page = owner(&server).collars(None, None).await.unwrap();
    assert_eq!(page.collars[0].role, Role::Caregiver);
}
