//! `petty members COLLAR` (the household), `petty members invite|accept|set|rm`, and the
//! transfer `petty collars transfer` prints with [`transferred`].

use petty_client::Client;
use petty_client::types::{Member, MemberList, Transferred, UpdateMember};
use serde::Serialize;

use super::print_json;
use crate::cli::{MembersArgs, MembersCmd};
use crate::exit::{Exit, Failure, Outcome};
use crate::render;

/// What `petty members rm --json` prints. The API answers 204 without a body: the ids under
/// the API's names, and `removed`, always `true`.
#[derive(Serialize)]
struct Removed<'a> {
    collar_id: &'a str,
    user_id: &'a str,
    removed: bool,
}

/// `--json` prints the API's [`MemberList`] (the list, and `accept`: the household joined),
/// [`Invitation`](petty_client::types::Invitation) (`invite`), [`Member`] (`set`) or
/// [`Removed`] (`rm`).
pub async fn run(c: &Client, a: &MembersArgs, json: bool) -> Outcome {
    match (&a.cmd, &a.collar) {
        (None, None) => Err(Failure::new(Exit::Usage, "which collar's household? petty members COLLAR")),
        (None, Some(collar)) => {
            let list = c.members(collar).await?;
            if json {
                print_json(&list);
            } else {
                print!("{}", household(&list));
            }
            Ok(())
        }
        (Some(cmd), _) => command(c, cmd, json).await,
    }
}

async fn command(c: &Client, cmd: &MembersCmd, json: bool) -> Outcome {
    match cmd {
        MembersCmd::Invite { collar, email, role, until } => {
            let until = until.as_deref().map(|u| check_time("--until", u)).transpose()?;
            let inv = c.invite_member(collar, email, role.role(), until).await?;
            if json {
                print_json(&inv);
            } else {
                println!(
                    "invited {} to {} as {}, {}",
                    inv.email,
                    inv.collar_id,
                    inv.role,
                    ends(inv.expires_at.as_deref())
                );
                println!(
                    "the token went to {} only, valid until {}: petty members accept --token TOKEN",
                    inv.email,
                    render::datetime(&inv.valid_until)
                );
            }
        }
        MembersCmd::Accept { token } => {
            let list = c.accept_invitation(token.trim()).await?;
            if json {
                print_json(&list);
            } else {
                println!("you joined the household of {} as {}", list.collar_id, list.role);
                print!("{}", household(&list));
            }
        }
        MembersCmd::Set { collar, user_id, role, until, no_end } => {
            let expires_at = match (until, no_end) {
                (Some(u), _) => Some(Some(check_time("--until", u)?.to_owned())),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let update = UpdateMember { role: role.map(|r| r.role()), expires_at };
            let m = c.update_member(collar, user_id, &update).await?;
            if json {
                print_json(&m);
            } else {
                println!("{} ({}) on {collar}: {}, {}", m.user_id, name(&m), m.role, ends(m.expires_at.as_deref()));
            }
        }
        MembersCmd::Rm { collar, user_id } => {
            c.remove_member(collar, user_id).await?;
            if json {
                print_json(&Removed { collar_id: collar, user_id, removed: true });
            } else {
                println!("removed {user_id} from the household of {collar}");
            }
        }
    }
    Ok(())
}

/// `--json`: the API's [`Transferred`]; else one line.
pub fn transferred(t: &Transferred, json: bool) {
    if json {
        print_json(t);
    } else {
        println!(
            "collar {} transferred to {} ({}): your access to it has ended",
            t.collar_id,
            t.owner_user_id,
            render::datetime(&t.transferred_at)
        );
    }
}

/// An RFC 3339 time as given (the API keeps its own format), or a usage error naming `flag`.
fn check_time<'a>(flag: &str, value: &'a str) -> Result<&'a str, Failure> {
    match render::parse_time(value.trim()) {
        Some(_) => Ok(value.trim()),
        None => Err(Failure::new(Exit::Usage, format!("{flag} {value:?}: RFC 3339, e.g. 2026-12-24T18:00:00Z"))),
    }
}

/// `until 2026-12-24 18:00:00`, or `no end`.
fn ends(at: Option<&str>) -> String {
    at.map(|t| format!("until {}", render::datetime(t))).unwrap_or_else(|| "no end".into())
}

fn name(m: &Member) -> &str {
    if m.name.is_empty() { "-" } else { &m.name }
}

/// The household as a table (an e-mail column only when the API shows addresses: to the owner).
fn household(list: &MemberList) -> String {
    let emails = list.members.iter().any(|m| m.email.is_some());
    let mut header = vec!["USER", "NAME", "ROLE"];
    if emails {
        header.push("E-MAIL");
    }
    header.extend(["SINCE", "ENDS"]);
    let rows: Vec<Vec<String>> = list
        .members
        .iter()
        .map(|m| {
            let mut row = vec![m.user_id.clone(), name(m).to_owned(), m.role.to_string()];
            if emails {
                row.push(m.email.clone().unwrap_or_else(|| "-".into()));
            }
            row.push(render::datetime(&m.since));
            row.push(m.expires_at.as_deref().map(render::datetime).unwrap_or_else(|| "-".into()));
            row
        })
        .collect();
    format!("household of {} (you: {})\n{}", list.collar_id, list.role, render::table(&header, &rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(role: &str, emails: bool) -> MemberList {
        let email = |e: &str| if emails { serde_json::json!(e) } else { serde_json::Value::Null };
        let mut value = serde_json::json!({"collar_id": "DM-000001", "role": role, "members": [
            {"user_id": "u-ada", "name": "Ada", "role": "owner", "email": email("ada@example.com"),
                "since": "2026-11-01T08:00:00.000Z", "expires_at": null},
            {"user_id": "u-bea", "name": "", "role": "viewer", "email": email("bea@example.com"),
                "since": "2026-12-01T09:30:00.000Z", "expires_at": "2026-12-24T18:00:00.000Z"},
        ]});
        if !emails {
            for m in value["members"].as_array_mut().unwrap() {
                m.as_object_mut().unwrap().remove("email");
            }
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_owner_sees_addresses_and_members_do_not() {
        assert_eq!(
            household(&list("owner", true)),
            "household of DM-000001 (you: owner)\n\
             USER   NAME  ROLE    E-MAIL           SINCE                ENDS\n\
             -----  ----  ------  ---------------  -------------------  -------------------\n\
             u-ada  Ada   owner   ada@example.com  2026-11-01 08:00:00  -\n\
             u-bea  -     viewer  bea@example.com  2026-12-01 09:30:00  2026-12-24 18:00:00\n"
        );
        let text = household(&list("viewer", false));
        assert!(text.starts_with("household of DM-000001 (you: viewer)\nUSER   NAME  ROLE    SINCE"), "{text}");
        assert!(!text.contains('@') && !text.contains("E-MAIL"), "{text}");
    }

    #[test]
    fn ends_and_times_are_checked() {
        assert_eq!(ends(None), "no end");
        assert_eq!(ends(Some("2026-12-24T19:00:00+01:00")), "until 2026-12-24 18:00:00");
        assert_eq!(check_time("--until", " 2026-12-24T18:00:00Z ").ok(), Some("2026-12-24T18:00:00Z"));
        let err = check_time("--until", "christmas").unwrap_err();
        assert_eq!(
            (err.exit, err.message.as_str()),
            (Exit::Usage, r#"--until "christmas": RFC 3339, e.g. 2026-12-24T18:00:00Z"#)
        );
    }
}
