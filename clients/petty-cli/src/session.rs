//! The owner's session on disk: `<config dir>/petty/session.json` (`$PETTY_CONFIG_DIR`
//! overrides the directory), one token pair per API URL, readable by the user only (0600).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use petty_client::types::TokenPair;
use serde::{Deserialize, Serialize};

#[derive(Default, Serialize, Deserialize)]
struct Sessions {
    /// API base URL → its session.
    sessions: BTreeMap<String, TokenPair>,
}

/// Where sessions are kept.
pub fn path() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("PETTY_CONFIG_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => dirs::config_dir().ok_or("no config directory (set PETTY_CONFIG_DIR)")?.join("petty"),
    };
    Ok(dir.join("session.json"))
}

fn read_all() -> Sessions {
    path()
        .ok()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// The session kept for `api`, if any.
pub fn load(api: &str) -> Option<TokenPair> {
    read_all().sessions.remove(api)
}

/// Keeps (or, with `None`, forgets) the session for `api`.
pub fn store(api: &str, pair: Option<&TokenPair>) -> Result<(), String> {
    let path = path()?;
    let mut all = read_all();
    match pair {
        Some(p) => all.sessions.insert(api.to_owned(), p.clone()),
        None => all.sessions.remove(api),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_vec_pretty(&all).map_err(|e| e.to_string())?;
    // Written to a 0600 temporary file and renamed over: never readable by others, never torn.
    let tmp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
    }
    file.write_all(&text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    file.sync_all().map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
}
