//! Safe zones, alert settings and alerts: the alerts function's routes, for an owner's session
//! (an API key is refused there).

use reqwest::Method;

use super::types::{Alert, AlertList, AlertSettings, AlertStatus, Zone, ZoneList, ZoneSpec};
use super::{Call, Client, Error, decode, segment};

/// Which alerts `GET /v1/alerts` lists; every part optional (default: all the caller's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertFilter {
    pub collar_id: Option<String>,
    pub status: Option<AlertStatus>,
    /// RFC 3339, on `opened_at` (inclusive).
    pub from: Option<String>,
    /// RFC 3339, on `opened_at`.
    pub to: Option<String>,
}

/// How `PUT /v1/collars/{collar_id}/zones/{zone_id}` went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneWrite {
    /// 201: a new zone.
    Created,
    /// 200: the zone of that id replaced.
    Replaced,
}

impl Client {
    // --- safe zones -----------------------------------------------------------------------

    /// Creates (201) or replaces (200) the collar's zone `zone_id`.
    pub async fn put_zone(&self, collar_id: &str, zone_id: &str, spec: &ZoneSpec) -> Result<(Zone, ZoneWrite), Error> {
        let path = zone_path(collar_id, zone_id)?;
        let answer = self.send(Call::new(Method::PUT, &path).json(spec)?).await?;
        let how = if answer.status.as_u16() == 201 { ZoneWrite::Created } else { ZoneWrite::Replaced };
        Ok((decode(answer)?, how))
    }

    /// The collar's zones.
    pub async fn zones(&self, collar_id: &str) -> Result<ZoneList, Error> {
        let path = format!("v1/collars/{}/zones", segment(collar_id)?);
        self.json(Call::new(Method::GET, &path)).await
    }

    /// Deletes a zone (204); no such zone is a 404.
    pub async fn delete_zone(&self, collar_id: &str, zone_id: &str) -> Result<(), Error> {
        let path = zone_path(collar_id, zone_id)?;
        self.send(Call::new(Method::DELETE, &path)).await.map(|_| ())
    }

    // --- alert settings -------------------------------------------------------------------

    /// The collar's alert settings (defaults until a `PUT`).
    pub async fn alert_settings(&self, collar_id: &str) -> Result<AlertSettings, Error> {
        let path = format!("v1/collars/{}/alert-settings", segment(collar_id)?);
        self.json(Call::new(Method::GET, &path)).await
    }

    /// Replaces the collar's alert settings; the answer is what is stored.
    pub async fn put_alert_settings(&self, collar_id: &str, settings: &AlertSettings) -> Result<AlertSettings, Error> {
        let path = format!("v1/collars/{}/alert-settings", segment(collar_id)?);
        self.json(Call::new(Method::PUT, &path).json(settings)?).await
    }

    // --- alerts ---------------------------------------------------------------------------

    /// One page of the caller's alerts, newest first.
    pub async fn alerts(
        &self,
        filter: &AlertFilter,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<AlertList, Error> {
        self.json(
            Call::new(Method::GET, "v1/alerts")
                .query("collar_id", filter.collar_id.as_deref())
                .query("status", filter.status.map(AlertStatus::as_str))
                .query("from", filter.from.as_deref())
                .query("to", filter.to.as_deref())
                .query("limit", limit)
                .query("cursor", cursor),
        )
        .await
    }

    /// Every alert the filter matches, following cursors (`limit` per page).
    pub async fn alerts_all(&self, filter: &AlertFilter, limit: Option<u32>) -> Result<AlertList, Error> {
        let mut page = self.alerts(filter, None, limit).await?;
        while let Some(cursor) = page.next_cursor.take() {
            let next = self.alerts(filter, Some(&cursor), limit).await?;
            page.alerts.extend(next.alerts);
            page.next_cursor = next.next_cursor;
        }
        Ok(page)
    }

    /// Acknowledges an open alert; the answer is the alert as it now stands.
    ///
    /// Retried like an idempotent request: acknowledging an alert already acknowledged (or
    /// resolved) answers it unchanged, so an acknowledgement sent twice is one.
    pub async fn ack_alert(&self, alert_id: &str) -> Result<Alert, Error> {
        let path = format!("v1/alerts/{}/ack", encode_segment(alert_id)?);
        let mut call = Call::new(Method::POST, &path);
        call.idempotent = true;
        self.json(call).await
    }
}

fn zone_path(collar_id: &str, zone_id: &str) -> Result<String, Error> {
    // `-` alone stands for "no zone" inside alert ids: never a zone's own id.
    if !petty_api::alerts::is_zone_id(zone_id) {
        return Err(Error::Invalid(format!("invalid zone id {zone_id:?}: 1 to 32 of a-z, 0-9 and - (not - alone)")));
    }
    Ok(format!("v1/collars/{}/zones/{zone_id}", segment(collar_id)?))
}

/// One path segment, percent-encoded: every byte but RFC 3986's unreserved ones
/// (`A-Z a-z 0-9 - . _ ~`), so an id with dots (`DM-000001.zone_exit.home.1764633600000`) stays
/// as it is and a `/`, `?`, `#` or `%` cannot leave its segment. Empty, `.` and `..` (which
/// would move along the path) are refused.
pub(crate) fn encode_segment(id: &str) -> Result<String, Error> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(Error::Invalid(format!("invalid id {id:?}")));
    }
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_unreserved_bytes_and_encode_the_rest() {
        let id = "DM-000001.zone_exit.home.1764633600000";
        assert_eq!(encode_segment(id).unwrap(), id);
        assert_eq!(encode_segment("a b/c?d#e%f~").unwrap(), "a%20b%2Fc%3Fd%23e%25f~");
        assert_eq!(encode_segment("é").unwrap(), "%C3%A9");
        for bad in ["", ".", ".."] {
            assert!(matches!(encode_segment(bad), Err(Error::Invalid(_))), "{bad:?}");
        }
        assert_eq!(encode_segment("...").unwrap(), "...");
    }

    #[test]
    fn zone_paths_check_both_ids() {
        assert_eq!(zone_path("DM-000001", "back-yard-2").unwrap(), "v1/collars/DM-000001/zones/back-yard-2");
        assert!(matches!(zone_path("DM-000001", "Home"), Err(Error::Invalid(m)) if m.contains("\"Home\"")));
        assert!(matches!(zone_path("DM/1", "home"), Err(Error::Invalid(_))));
        assert!(matches!(zone_path("DM-000001", "-"), Err(Error::Invalid(_))));
    }
}
